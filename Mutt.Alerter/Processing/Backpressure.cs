using Mutt.Core.Configuration;
using Mutt.Core.Redis;
using StackExchange.Redis;

namespace Mutt.Alerter.Processing;

public enum BackpressureLevel
{
    /// <summary>Below the warning threshold.</summary>
    None,
    /// <summary>At or above the warning threshold, below the shed threshold: consume, and say so.</summary>
    Warn,
    /// <summary>At or above the shed threshold: shed to the DLQ, or defer, by the shed mode.</summary>
    Shed,
}

/// <summary>What the Alerter does this turn because of the alert queue's depth (spec 004 backpressure).</summary>
public readonly record struct BackpressureDecision(BackpressureLevel Level, long Depth, long Threshold, string Mode)
{
    public static readonly BackpressureDecision Consume = new(BackpressureLevel.None, 0, 0, "");
    public bool Sheds => Level == BackpressureLevel.Shed && Mode != BackpressurePolicy.Defer;
    public bool Defers => Level == BackpressureLevel.Shed && Mode == BackpressurePolicy.Defer;
}

/// <summary>Spec 004's warn/shed/defer thresholds as a pure function, so unit tests call it directly.</summary>
public static class BackpressurePolicy
{
    public const string Dlq = "dlq";
    public const string Defer = "defer";

    /// <summary>Below <paramref name="warn"/> nothing; below <paramref name="shed"/> a warning; at or above it the mode (anything but "defer" sheds to the DLQ).</summary>
    public static BackpressureDecision Decide(long depth, long warn, long shed, string? mode) =>
        depth < warn ? BackpressureDecision.Consume with { Depth = depth }
        : depth < shed ? new BackpressureDecision(BackpressureLevel.Warn, depth, warn, "")
        : new BackpressureDecision(BackpressureLevel.Shed, depth, shed, mode == Defer ? Defer : Dlq);
}

/// <summary>
/// Samples the alert queue's depth at most every 100 ms, reads the thresholds from dynamic config
/// and decides (by <see cref="BackpressurePolicy"/>); logs at most every 10 s.
/// </summary>
public sealed class AlertQueueBackpressure(IConnectionMultiplexer redis, DynamicConfig config, AlerterMetrics metrics,
    QueueNames queues, ILogger<AlertQueueBackpressure> logger)
{
    private DateTime _lastSample = DateTime.MinValue;
    private DateTime _lastLog = DateTime.MinValue;

    public async Task<BackpressureDecision> CheckAsync()
    {
        if (DateTime.UtcNow - _lastSample < TimeSpan.FromMilliseconds(100))
        {
            return BackpressureDecision.Consume;
        }
        _lastSample = DateTime.UtcNow;
        var depth = await redis.GetDatabase().ListLengthAsync(queues.AlertQueue);
        metrics.AlertQueueDepth = depth;
        var warn = await config.GetInt64Async(DynamicConfigKeys.AlerterQueueWarnThreshold, 1000);
        var shed = await config.GetInt64Async(DynamicConfigKeys.AlerterQueueShedThreshold, 2000);
        var mode = depth >= shed ? await config.GetStringAsync(DynamicConfigKeys.AlerterShedMode) : null;
        var decision = BackpressurePolicy.Decide(depth, warn, shed, mode);
        if (decision.Level != BackpressureLevel.None && DateTime.UtcNow - _lastLog > TimeSpan.FromSeconds(10))
        {
            _lastLog = DateTime.UtcNow;
            if (decision.Level == BackpressureLevel.Warn)
            {
                logger.LogWarning("Alert queue depth {Depth} is at or above the warning threshold {Warn}", depth, warn);
            }
            else
            {
                logger.LogWarning("Alert queue depth {Depth} is at or above the shed threshold {Shed}: shedding in mode {Mode}", depth, shed, decision.Mode);
            }
        }
        return decision;
    }

    /// <summary>After shedding or deferring, the next turn samples again at once.</summary>
    public void Resample() => _lastSample = DateTime.MinValue;

    public ValueTask<long> DeferSleepMsAsync() => config.GetInt64Async(DynamicConfigKeys.AlerterDeferSleepMs, 250);
}
