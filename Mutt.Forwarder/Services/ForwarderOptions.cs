using Microsoft.Extensions.Configuration;
using Mutt.Core.Redis;

namespace Mutt.Forwarder.Services;

/// <summary>
/// Spec 004 Moog Forwarder environment variables (plus the circuit breaker's, configurable for tests). Its source
/// queue (ALERT_QUEUE_NAME), DLQ and processing-list/heartbeat prefixes are the ones every service reads: <see cref="QueueNames"/>.
/// </summary>
public sealed class ForwarderOptions
{
    [ConfigurationKeyName("POD_NAME")] public string PodName { get; set; } = "moog-forwarder-" + Guid.NewGuid().ToString("N")[..8];
    [ConfigurationKeyName("MOOG_HEARTBEAT_INTERVAL")] public double HeartbeatIntervalSeconds { get; set; } = 10;
    [ConfigurationKeyName("MOOG_JANITOR_TIMEOUT")] public double JanitorTimeoutSeconds { get; set; } = 30;
    [ConfigurationKeyName("MOOG_WEBHOOK_URL")] public string? WebhookUrl { get; set; }
    [ConfigurationKeyName("MOOG_WEBHOOK_TIMEOUT")] public double WebhookTimeoutSeconds { get; set; } = 10;
    [ConfigurationKeyName("MOOG_API_KEY")] public string? ApiKey { get; set; }
    [ConfigurationKeyName("MOOG_API_USER")] public string ApiUser { get; set; } = "mutt";
    [ConfigurationKeyName("MOOG_RATE_LIMIT")] public long RateLimit { get; set; } = 50;
    [ConfigurationKeyName("MOOG_RATE_PERIOD")] public double RatePeriodSeconds { get; set; } = 1;
    [ConfigurationKeyName("MOOG_RATE_LIMIT_KEY")] public string RateLimitKey { get; set; } = MuttKeys.MoogRateLimit;
    [ConfigurationKeyName("MOOG_MAX_RETRIES")] public int MaxRetries { get; set; } = 5;
    [ConfigurationKeyName("MOOG_RETRY_BASE_DELAY")] public double RetryBaseDelaySeconds { get; set; } = 1.0;
    [ConfigurationKeyName("MOOG_RETRY_MAX_DELAY")] public double RetryMaxDelaySeconds { get; set; } = 60.0;
    /// <summary>Default of the <c>moog_batch_size</c> dynamic key: 500, not spec 004's 100 (see README, configuration reference).</summary>
    [ConfigurationKeyName("MOOG_BATCH_SIZE")] public int BatchSize { get; set; } = 500;
    /// <summary>Moogsoft requests one Forwarder keeps in flight while the circuit is CLOSED (1–64), all within the shared rate limit.</summary>
    [ConfigurationKeyName("MOOG_MAX_IN_FLIGHT")] public int MaxInFlight { get; set; } = 4;
    /// <summary>
    /// After a batch smaller than moog_batch_size, milliseconds to wait before the next take (0–1000), so a
    /// moderate flow goes out in fuller requests (each request costs a rate-limit token and a round trip).
    /// </summary>
    [ConfigurationKeyName("MOOG_BATCH_LINGER_MS")] public int BatchLingerMs { get; set; } = 20;
    [ConfigurationKeyName("MOOG_CIRCUIT_FAILURE_THRESHOLD")] public int CircuitFailureThreshold { get; set; } = 5;
    [ConfigurationKeyName("MOOG_CIRCUIT_OPEN_SECONDS")] public double CircuitOpenSeconds { get; set; } = 60;
}
