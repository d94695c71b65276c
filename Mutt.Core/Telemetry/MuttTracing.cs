using System.Diagnostics;

namespace Mutt.Core.Telemetry;

/// <summary>
/// MUTT's trace vocabulary in one place: one <see cref="ActivitySource"/> per service (named like
/// its meter, <c>Mutt.&lt;Service&gt;</c>; ServiceDefaults subscribes to <c>Mutt.*</c>), the span
/// names, and the W3C <c>traceparent</c> that queue envelopes carry so one event is one trace
/// from the Ingestor to the Moogsoft POST (docs/observability.md).
/// </summary>
public static class MuttTracing
{
    public const string IngestorSourceName = "Mutt.Ingestor";
    public const string AlerterSourceName = "Mutt.Alerter";
    public const string ForwarderSourceName = "Mutt.Forwarder";

    public static readonly ActivitySource Ingestor = new(IngestorSourceName);
    public static readonly ActivitySource Alerter = new(AlerterSourceName);
    public static readonly ActivitySource Forwarder = new(ForwarderSourceName);

    /// <summary>Span names: low-cardinality, "&lt;component&gt; &lt;operation&gt;".</summary>
    public static class Spans
    {
        /// <summary>Ingestor, Producer: one REST request's events built and LPUSHed (child of the HTTP server span).</summary>
        public const string IngestSend = "ingest send";
        /// <summary>Ingestor, Server: one syslog datagram (UDP) or one read's frames (TCP), root of its events' traces.</summary>
        public const string SyslogReceive = "syslog receive";
        /// <summary>Ingestor, Server: one SNMP trap or inform, root of its event's trace.</summary>
        public const string SnmpReceive = "snmp receive";
        /// <summary>Alerter, Consumer: one batch taken from the ingest queue; a root with a link to each event's trace.</summary>
        public const string AlerterBatch = "alerter batch";
        /// <summary>Alerter, Consumer: one event from take to ack, child of the event's traceparent, linked to its batch.</summary>
        public const string AlerterEvent = "alerter event";
        /// <summary>Alerter: the event's audit row written (the batch's COPY, which runs under the batch span).</summary>
        public const string AlerterAudit = "alerter audit";
        /// <summary>Forwarder, Consumer: one batch delivered to Moogsoft; the HttpClient POST spans are its children.</summary>
        public const string ForwarderBatch = "forwarder batch";
    }

    /// <summary>Attribute names beyond OpenTelemetry's semantic conventions.</summary>
    public static class Tags
    {
        public const string CorrelationId = "mutt.correlation_id";
        public const string Outcome = "mutt.outcome";
        public const string Handling = "mutt.handling";
        public const string RuleId = "mutt.rule_id";
        public const string MessagingSystem = "messaging.system";
        public const string MessagingDestination = "messaging.destination.name";
        public const string MessagingBatchCount = "messaging.batch.message_count";
    }

    /// <summary>
    /// The W3C traceparent of <paramref name="activity"/> when it is recorded, else null. ASP.NET Core creates
    /// an (unrecorded) request activity even with tracing off; writing its id into every envelope cost the
    /// Ingestor and the Alerter a sixth of their CPU per event (and ~70 bytes each in Redis) for spans
    /// that nobody records (<see cref="TryGetSampledContext"/> skips unsampled contexts anyway).
    /// </summary>
    public static string? TraceParentOf(Activity? activity) =>
        activity is { IdFormat: ActivityIdFormat.W3C, Recorded: true } ? activity.Id : null;

    /// <summary>
    /// Reads an envelope's traceparent. Only a sampled one counts: an unsampled trace gets no
    /// spans downstream either, so the consumer skips them (and their allocations) entirely.
    /// </summary>
    public static bool TryGetSampledContext(string? traceParent, out ActivityContext context) =>
        ActivityContext.TryParse(traceParent, null, isRemote: true, out context)
        && (context.TraceFlags & ActivityTraceFlags.Recorded) != 0;

    /// <summary>
    /// Starts a span without making it <see cref="Activity.Current"/>: for the many per-event spans
    /// a batch opens at once, which are siblings, not a nesting.
    /// </summary>
    public static Activity? StartDetached(ActivitySource source, string name, ActivityKind kind, ActivityContext parent,
        IEnumerable<ActivityLink>? links = null, DateTimeOffset startTime = default)
    {
        var current = Activity.Current;
        var activity = source.StartActivity(name, kind, parent, links: links, startTime: startTime);
        Activity.Current = current;
        return activity;
    }

    /// <summary>Stops a span started with <see cref="StartDetached"/>, leaving <see cref="Activity.Current"/> as it was.</summary>
    public static void StopDetached(Activity activity)
    {
        var current = Activity.Current;
        activity.Stop();
        Activity.Current = current;
    }
}
