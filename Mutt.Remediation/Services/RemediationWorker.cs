using Microsoft.Extensions.Options;
using Mutt.Core.Redis;
using StackExchange.Redis;

namespace Mutt.Remediation.Services;

/// <summary>Runs a DLQ scan at start and every REMEDIATION_SCAN_INTERVAL seconds.</summary>
public sealed class RemediationWorker(DlqScanner scanner, IOptions<RemediationOptions> options, ILogger<RemediationWorker> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = TimeSpan.FromSeconds(options.Value.ScanIntervalSeconds);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await scanner.ScanAsync(stoppingToken);
            }
            catch (Exception ex) when (RedisFaults.IsTransient(ex))
            {
                logger.LogWarning(ex, "DLQ scan failed; next scan in {Interval}", interval);
            }
            await Task.Delay(interval, stoppingToken);
        }
    }
}
