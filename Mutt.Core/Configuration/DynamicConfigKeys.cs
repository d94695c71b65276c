using System.Globalization;

namespace Mutt.Core.Configuration;

/// <summary>A dynamic configuration key of spec 004: its type, default and allowed range.</summary>
public sealed record DynamicConfigKey(string Name, string Type, string Default, string Purpose, double? Min = null, double? Max = null, IReadOnlyList<string>? Allowed = null)
{
    /// <summary>Validates a candidate value; returns an error message or null.</summary>
    public string? Validate(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return $"{Name} needs a value.";
        }
        switch (Type)
        {
            case "int":
                if (!long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i))
                {
                    return $"{Name} must be an integer.";
                }
                return CheckRange(i);
            case "float":
                if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) || !double.IsFinite(d))
                {
                    return $"{Name} must be a number.";
                }
                return CheckRange(d);
            default:
                return Allowed is { Count: > 0 } && !Allowed.Contains(value) ? $"{Name} must be one of: {string.Join(", ", Allowed)}." : null;
        }
    }

    private string? CheckRange(double v) =>
        (Min is { } min && v < min) || (Max is { } max && v > max) ? $"{Name} must be between {Min} and {Max}." : null;
}

/// <summary>The dynamic configuration keys of spec 004, stored in Redis as <c>mutt:config:{key}</c>.</summary>
public static class DynamicConfigKeys
{
    public const string CacheReloadInterval = "cache_reload_interval";
    public const string MaxIngestQueueSize = "max_ingest_queue_size";
    public const string AlerterQueueWarnThreshold = "alerter_queue_warn_threshold";
    public const string AlerterQueueShedThreshold = "alerter_queue_shed_threshold";
    public const string AlerterShedMode = "alerter_shed_mode";
    public const string AlerterDeferSleepMs = "alerter_defer_sleep_ms";
    public const string MoogRateLimit = "moog_rate_limit";
    public const string MoogBatchSize = "moog_batch_size";
    public const string SloWindowHours = "slo_window_hours";
    public const string SloIngestSuccessTarget = "slo_ingest_success_target";
    public const string SloForwardSuccessTarget = "slo_forward_success_target";
    /// <summary>Global deduplication window (seconds) for rules without their own; 0 = off (issue 15).</summary>
    public const string DedupWindowSeconds = "dedup_window_seconds";
    public const int MaxDedupWindowSeconds = 604_800;

    public static readonly IReadOnlyList<DynamicConfigKey> All =
    [
        new(CacheReloadInterval, "int", "300", "Alerter cache refresh (seconds)", 1, 86400),
        new(MaxIngestQueueSize, "int", "100000", "Ingestor queue cap", 1, 100_000_000),
        new(AlerterQueueWarnThreshold, "int", "1000", "Backpressure warning level", 1, 100_000_000),
        new(AlerterQueueShedThreshold, "int", "2000", "Backpressure shed level", 1, 100_000_000),
        new(AlerterShedMode, "str", "dlq", "dlq or defer", Allowed: ["dlq", "defer"]),
        new(AlerterDeferSleepMs, "int", "250", "Defer sleep time (milliseconds)", 1, 60_000),
        new(MoogRateLimit, "int", "50", "Rate limit (requests/period)", 1, 1_000_000),
        new(MoogBatchSize, "int", "500", "Batch size for forwarding", 1, 1000),
        new(SloWindowHours, "int", "24", "SLO evaluation window (hours)", 1, 720),
        new(SloIngestSuccessTarget, "float", "0.995", "Ingestor SLO target", 0, 1),
        new(SloForwardSuccessTarget, "float", "0.99", "Forwarder SLO target", 0, 1),
        new(DedupWindowSeconds, "int", "0", "Deduplication window (seconds; 0 = off; a rule's own window wins)", 0, MaxDedupWindowSeconds),
    ];

    public static DynamicConfigKey? Find(string name) => All.FirstOrDefault(k => k.Name == name);
}
