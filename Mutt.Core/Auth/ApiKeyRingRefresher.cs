using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Mutt.Core.Redis;
using Npgsql;
using StackExchange.Redis;

namespace Mutt.Core.Auth;

/// <summary>Which keys a service accepts, and how often it reloads them (API_KEY_REFRESH_SECONDS, default 2).</summary>
public sealed record ApiKeyRingOptions(IReadOnlyList<string> Roles, TimeSpan Interval);

/// <summary>
/// Keeps an <see cref="ApiKeyRing"/> equal to the active rows of <c>api_keys</c> with the given roles:
/// a reload every interval and at once on <see cref="MuttKeys.AuthUpdatesChannel"/>, so a revoked key
/// is refused within seconds by every replica even when a publish is missed. Last-use times go back
/// to the table on the same beat. A database outage keeps the last set (and says so once): keys keep
/// working, and the legacy key needs no database at all.
/// </summary>
public sealed class ApiKeyRingRefresher(ApiKeyRing ring, ApiKeyRingOptions options, NpgsqlDataSource db, IConnectionMultiplexer redis, ILogger<ApiKeyRingRefresher> logger)
    : BackgroundService
{
    private readonly SemaphoreSlim _signal = new(0, 1);
    private bool _failing;

    /// <summary>Reloads now; used at start and by tests.</summary>
    public async Task RefreshAsync(CancellationToken ct)
    {
        await using var conn = await db.OpenConnectionAsync(ct).ConfigureAwait(false);
        foreach (var (id, at) in ring.TakeUsage())
        {
            await using var touch = new NpgsqlCommand(
                "UPDATE api_keys SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)", conn)
            { Parameters = { new() { Value = id }, new() { Value = at } } };
            await touch.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        await using var cmd = new NpgsqlCommand(
            "SELECT id, name, key_prefix, key_hash, role FROM api_keys WHERE revoked_at IS NULL AND role = ANY($1)", conn)
        { Parameters = { new() { Value = options.Roles.ToArray() } } };
        var records = new List<ApiKeyRecord>();
        await using (var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                records.Add(new ApiKeyRecord(reader.GetInt32(0), reader.GetString(1), reader.GetString(2), reader.GetFieldValue<byte[]>(3), reader.GetString(4)));
            }
        }
        var before = ring.Count;
        ring.Replace(records);
        if (before != records.Count)
        {
            logger.LogInformation("Named API keys loaded: {Count} active ({Roles})", records.Count, string.Join(", ", options.Roles));
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var channel = RedisChannel.Literal(MuttKeys.AuthUpdatesChannel);
        // Registered now and renewed on every reconnect by the library; a start while Redis is down must not fail.
        await redis.GetSubscriber().SubscribeAsync(channel, (_, _) => Wake()).ConfigureAwait(false);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    await RefreshAsync(stoppingToken).ConfigureAwait(false);
                    if (_failing)
                    {
                        logger.LogInformation("Named API keys: the database answers again");
                    }
                    _failing = false;
                }
                catch (Exception ex) when (ex is NpgsqlException or TimeoutException or InvalidOperationException && !stoppingToken.IsCancellationRequested)
                {
                    if (!_failing)
                    {
                        logger.LogWarning("Named API keys could not be reloaded ({Error}); keeping the last {Count} loaded, retrying every {Seconds}s",
                            PostgresMessage(ex), ring.Count, options.Interval.TotalSeconds);
                    }
                    _failing = true;
                }
                await _signal.WaitAsync(options.Interval, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            await redis.GetSubscriber().UnsubscribeAsync(channel).ConfigureAwait(false);
        }
    }

    private void Wake()
    {
        try
        {
            _signal.Release();
        }
        catch (SemaphoreFullException)
        {
            // a reload is already due
        }
    }

    private static string PostgresMessage(Exception ex) => ex is PostgresException pg ? $"{pg.SqlState} {pg.MessageText}" : ex.GetType().Name + ": " + ex.Message;
}

public static class ApiKeyRingServiceCollectionExtensions
{
    /// <summary>An <see cref="ApiKeyRing"/> of the keys with <paramref name="roles"/>, kept current from PostgreSQL (needs an NpgsqlDataSource and Redis).</summary>
    public static IServiceCollection AddApiKeyRing(this IServiceCollection services, IConfiguration configuration, params string[] roles)
    {
        var seconds = configuration.GetValue("API_KEY_REFRESH_SECONDS", 2.0);
        services.AddSingleton(new ApiKeyRingOptions(roles, TimeSpan.FromSeconds(Math.Clamp(seconds, 0.1, 300))));
        services.AddSingleton<ApiKeyRing>();
        services.AddSingleton<ApiKeyRingRefresher>();
        services.AddHostedService(sp => sp.GetRequiredService<ApiKeyRingRefresher>());
        return services;
    }
}
