using Microsoft.Extensions.Configuration;
using Mutt.Core.Redis;

namespace Mutt.Alerter;

/// <summary>
/// The Alerter's environment variables (spec 004 "Alerter Service"), bound from flat configuration keys.
/// Its queue, DLQ, processing-list and heartbeat names are the ones every service reads: <see cref="QueueNames"/>.
/// </summary>
public sealed class AlerterOptions
{
    [ConfigurationKeyName("POD_NAME")] public string PodName { get; set; } = "alerter-" + Guid.NewGuid().ToString("N")[..8];
    /// <summary>Seconds between heartbeats (and janitor passes).</summary>
    [ConfigurationKeyName("ALERTER_HEARTBEAT_INTERVAL")] public double HeartbeatInterval { get; set; } = 10;
    /// <summary>Heartbeat TTL in seconds: a pod silent this long is dead and its processing list is reclaimed.</summary>
    [ConfigurationKeyName("ALERTER_JANITOR_TIMEOUT")] public double JanitorTimeout { get; set; } = 30;
    [ConfigurationKeyName("ALERTER_MAX_RETRIES")] public int MaxRetries { get; set; } = 3;
    [ConfigurationKeyName("ALERTER_BATCH_SIZE")] public int BatchSize { get; set; } = 1000;
    /// <summary>Batches whose audit write and completion run at once (each audit write on its own connection; commits stay in order).</summary>
    [ConfigurationKeyName("ALERTER_WRITES_IN_FLIGHT")] public int WritesInFlight { get; set; } = 2;
    /// <summary>Longest idle wait on an empty queue (milliseconds): the poll interval doubles from 1 ms up to it.</summary>
    [ConfigurationKeyName("ALERTER_IDLE_MAX_MS")] public int IdleMaxMs { get; set; } = 50;
    /// <summary>Match timeout of each user regex (milliseconds).</summary>
    [ConfigurationKeyName("ALERTER_REGEX_TIMEOUT_MS")] public int RegexTimeoutMs { get; set; } = 50;
    /// <summary>Longest pause between attempts while PostgreSQL is unreachable (milliseconds).</summary>
    [ConfigurationKeyName("ALERTER_DB_RETRY_MAX_MS")] public int DbRetryMaxMs { get; set; } = 5000;
    /// <summary>Seconds between rule cache reloads; the dynamic key cache_reload_interval overrides it.</summary>
    [ConfigurationKeyName("CACHE_RELOAD_INTERVAL")] public double CacheReloadInterval { get; set; } = 300;
    /// <summary>How often the flapping sweep looks for quiet interfaces to clear (milliseconds).</summary>
    [ConfigurationKeyName("ALERTER_FLAPPING_SWEEP_INTERVAL_MS")] public int FlappingSweepIntervalMs { get; set; } = 1000;
    [ConfigurationKeyName("UNHANDLED_PREFIX")] public string UnhandledPrefix { get; set; } = MuttKeys.UnhandledPrefix;
    [ConfigurationKeyName("UNHANDLED_THRESHOLD")] public int UnhandledThreshold { get; set; } = 100;
    [ConfigurationKeyName("UNHANDLED_EXPIRY_SECONDS")] public int UnhandledExpirySeconds { get; set; } = 86400;
    [ConfigurationKeyName("UNHANDLED_DEFAULT_TEAM")] public string UnhandledDefaultTeam { get; set; } = "NETO";

    public TimeSpan RegexTimeout => TimeSpan.FromMilliseconds(RegexTimeoutMs);

    public static IEnumerable<string> Validate(AlerterOptions o)
    {
        if (string.IsNullOrWhiteSpace(o.PodName)) { yield return "POD_NAME must not be empty."; }
        if (o.BatchSize is < 1 or > 100_000) { yield return "ALERTER_BATCH_SIZE must be between 1 and 100000."; }
        if (o.MaxRetries < 0) { yield return "ALERTER_MAX_RETRIES must be >= 0."; }
        if (o.WritesInFlight is < 1 or > 8) { yield return "ALERTER_WRITES_IN_FLIGHT must be between 1 and 8."; }
        if (o.HeartbeatInterval <= 0) { yield return "ALERTER_HEARTBEAT_INTERVAL must be > 0."; }
        if (o.JanitorTimeout <= o.HeartbeatInterval) { yield return "ALERTER_JANITOR_TIMEOUT must exceed ALERTER_HEARTBEAT_INTERVAL."; }
        if (o.RegexTimeoutMs < 1) { yield return "ALERTER_REGEX_TIMEOUT_MS must be >= 1."; }
        if (o.UnhandledThreshold < 1) { yield return "UNHANDLED_THRESHOLD must be >= 1."; }
        if (o.UnhandledExpirySeconds < 1) { yield return "UNHANDLED_EXPIRY_SECONDS must be >= 1."; }
        if (o.FlappingSweepIntervalMs is < 50 or > 600_000) { yield return "ALERTER_FLAPPING_SWEEP_INTERVAL_MS must be between 50 and 600000."; }
        if (o.CacheReloadInterval <= 0) { yield return "CACHE_RELOAD_INTERVAL must be > 0."; }
    }
}
