using Microsoft.Extensions.Options;
using Mutt.Alerter.Processing;
using Mutt.Core.Redis;
using StackExchange.Redis;

namespace Mutt.Alerter.Services;

/// <summary>
/// Sends the clear of every flapping interface that has been quiet for its correlation rule's window,
/// even when no further event arrives. Every Alerter runs this loop; <c>flapping_sweep.lua</c> lets
/// one of them sweep at a time (a lock it renews while alive) and pushes each clear in the same
/// atomic step that removes the state, so two Alerters, restarts and a holder's death neither lose
/// nor double a clear.
/// </summary>
public sealed class FlappingSweepWorker(IConnectionMultiplexer redis, AlerterMetrics metrics, QueueNames queues, IOptions<AlerterOptions> options, ILogger<FlappingSweepWorker> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        var interval = TimeSpan.FromMilliseconds(o.FlappingSweepIntervalMs);
        // Long enough to survive a slow pass, short enough that another replica takes over soon after a crash.
        var lockTtl = TimeSpan.FromMilliseconds(Math.Max(3000, o.FlappingSweepIntervalMs * 5));
        using var timer = new PeriodicTimer(interval);
        try
        {
            do
            {
                try
                {
                    var cleared = await NoiseScripts.SweepFlappingAsync(redis.GetDatabase(), queues.AlertQueue, o.PodName, lockTtl);
                    if (cleared > 0)
                    {
                        metrics.FlappingClears.Add(cleared);
                        logger.LogInformation("Sent {Count} flapping clear(s): quiet for their whole window", cleared);
                    }
                }
                catch (Exception ex) when (RedisFaults.IsTransient(ex))
                {
                    logger.LogWarning(ex, "Flapping sweep failed; retrying next interval (the states stay in Redis)");
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
