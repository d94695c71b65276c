using Mutt.Core.Auth;
using Mutt.Dashboard.Metrics;
using Npgsql;
using StackExchange.Redis;

namespace Mutt.Dashboard.Services;

/// <summary>
/// The one way the Dashboard changes configuration: the caller's role is checked first (the pages
/// and the API are checked at their own door too; this is the last one), the write and its
/// config_audit_log row commit in one transaction, then the change is announced on a Redis
/// channel so every service applies it at once instead of at its next reload.
/// </summary>
public sealed class AuditedTransactions(NpgsqlDataSource db, IConnectionMultiplexer redis, DashboardMetrics metrics, ILogger<AuditedTransactions> logger)
{
    public async Task<ChangeResult<T>> RunAsync<T>(string operation, string minimumRole, ChangeContext change, string channel, string channelMessage,
        Func<NpgsqlConnection, Task<ChangeResult<T>>> work, CancellationToken ct)
    {
        if (!MuttRoles.Satisfies(change.Role, minimumRole))
        {
            logger.LogWarning("{Operation} refused: {ChangedBy} has role {Role}, {Minimum} is needed", operation, change.ChangedBy, change.Role ?? "none", minimumRole);
            return new(ChangeStatus.Forbidden);
        }
        var result = await metrics.TimeDbAsync(operation, async () =>
        {
            await using var conn = await db.OpenConnectionAsync(ct);
            await using var tx = await conn.BeginTransactionAsync(ct);
            var outcome = await work(conn);
            if (outcome.Status == ChangeStatus.Ok)
            {
                await tx.CommitAsync(ct);
            }
            return outcome;
        });
        if (result.Status == ChangeStatus.Ok)
        {
            await redis.GetDatabase().PublishAsync(RedisChannel.Literal(channel), channelMessage);
            logger.LogInformation("{Operation} by {ChangedBy} committed and published on {Channel}", operation, change.ChangedBy, channel);
        }
        return result;
    }
}
