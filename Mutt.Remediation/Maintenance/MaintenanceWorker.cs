using Microsoft.Extensions.Options;
using Mutt.Remediation.Services;

namespace Mutt.Remediation.Maintenance;

/// <summary>Runs <see cref="PartitionMaintenance"/> at start and then every MAINTENANCE_INTERVAL_HOURS (daily).</summary>
public sealed class MaintenanceWorker(PartitionMaintenance maintenance, RemediationMetrics metrics, IOptions<RemediationOptions> options, ILogger<MaintenanceWorker> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = TimeSpan.FromHours(options.Value.MaintenanceIntervalHours);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await maintenance.RunAsync(ct: stoppingToken);
            }
            catch (Exception ex) when (ex is Npgsql.NpgsqlException or StackExchange.Redis.RedisException or IOException or UnauthorizedAccessException)
            {
                // Partitions are dropped only after their archive verified, so a run cut short drops nothing unverified.
                metrics.ArchiveFailure("run");
                logger.LogError(ex, "Maintenance run failed; retrying in 5 minutes");
                await Task.Delay(TimeSpan.FromMinutes(5), stoppingToken);
                continue;
            }
            await Task.Delay(interval, stoppingToken);
        }
    }
}
