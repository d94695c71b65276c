namespace Mutt.Core.Redis;

/// <summary>
/// Redis key names from spec 004 ("Redis Queues &amp; Keys"). Operators' runbooks use these
/// exact names, so they live in one place and are never spelled inline.
/// </summary>
public static class MuttKeys
{
    // Spec 004's defaults of the names operators may override (INGEST_QUEUE_NAME, ..._PREFIX, ..._DLQ_NAME):
    // services read the configured names from QueueNames, never these constants directly.
    public const string IngestQueue = "mutt:ingest_queue";
    public const string AlertQueue = "mutt:alert_queue";

    public const string AlerterProcessingPrefix = "mutt:processing:alerter";
    public const string MoogProcessingPrefix = "mutt:processing:moog";
    public const string AlerterHeartbeatPrefix = "mutt:heartbeat:alerter";
    public const string MoogHeartbeatPrefix = "mutt:heartbeat:moog";

    public const string AlerterDlq = "mutt:dlq:alerter";
    public const string MoogDlq = "mutt:dlq:moog";
    public const string PoisonPermanent = "mutt:poison:permanent";

    public const string UnhandledPrefix = "mutt:unhandled";
    public const string ConfigPrefix = "mutt:config";
    public const string ConfigUpdatesChannel = "mutt:config:updates";
    /// <summary>The Dashboard publishes here when a named API key is created or revoked: every service holding an <c>ApiKeyRing</c> reloads at once.</summary>
    public const string AuthUpdatesChannel = "mutt:auth:updates";

    public const string MoogRateLimit = "mutt:rate_limit:moog";
    public const string MoogCircuitState = "mutt:circuit:moog:state";
    public const string MoogCircuitFailures = "mutt:circuit:moog:failures";
    public const string MoogCircuitOpenedAt = "mutt:circuit:moog:opened_at";
    /// <summary>The HALF_OPEN probe's lease: one Forwarder at a time sends the probe request.</summary>
    public const string MoogCircuitProbe = "mutt:circuit:moog:probe";

    /// <summary>Replays of one payload, kept across its DLQ round trips (<c>{prefix}:{payload hash}</c>).</summary>
    public const string RemediationHistoryPrefix = "mutt:remediation:history";

    public const string MetricsPrefix = "mutt:metrics";


    public static string Processing(string prefix, string pod) => $"{prefix}:{pod}";

    /// <summary>
    /// The set of pods that hold (or held) a processing list under <paramref name="prefix"/>: the key
    /// named by the prefix itself, which <c>{prefix}:*</c> does not match. The take adds a pod, the
    /// janitor removes a dead one once its list is back, so nobody scans the keyspace for the lists.
    /// </summary>
    public static string ProcessingRegistry(string prefix) => prefix;
    public static string Heartbeat(string prefix, string pod) => $"{prefix}:{pod}";
    public static string Config(string key) => $"{ConfigPrefix}:{key}";
}
