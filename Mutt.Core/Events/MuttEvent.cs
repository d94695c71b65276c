using System.Text.Json;
using System.Text.Json.Serialization;

namespace Mutt.Core.Events;

/// <summary>
/// An event on <c>mutt:ingest_queue</c> (spec 004 "Event Message"). The queue carries JSON text;
/// this is the consumers' view of it. Fields MUTT does not know are kept in <see cref="Extra"/>
/// so nothing the sender said is lost on the way to the audit log.
/// </summary>
public sealed class MuttEvent
{
    [JsonPropertyName(EnvelopeFields.Timestamp)] public string? Timestamp { get; set; }
    [JsonPropertyName(EnvelopeFields.Message)] public string? Message { get; set; }
    [JsonPropertyName(EnvelopeFields.Hostname)] public string? Hostname { get; set; }
    [JsonPropertyName(EnvelopeFields.Source)] public string? Source { get; set; }
    [JsonPropertyName(EnvelopeFields.SyslogSeverity)] public int? SyslogSeverity { get; set; }
    [JsonPropertyName(EnvelopeFields.TrapOid)] public string? TrapOid { get; set; }
    [JsonPropertyName(EnvelopeFields.CorrelationId)] public string? CorrelationId { get; set; }

    /// <summary>When the Ingestor accepted the event (UTC); used when <see cref="Timestamp"/> cannot be read.</summary>
    [JsonPropertyName(EnvelopeFields.ReceivedAt)] public DateTimeOffset? ReceivedAt { get; set; }

    /// <summary>How many times processing this event failed; travels with the event so a requeue keeps it.</summary>
    [JsonPropertyName(EnvelopeFields.RetryCount)] public int RetryCount { get; set; }

    /// <summary>The W3C trace context the Ingestor accepted the event in (absent when it was not tracing).</summary>
    [JsonPropertyName(EnvelopeFields.TraceParent)] public string? TraceParent { get; set; }

    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; set; }

    // The webhook fields below are read from Extra rather than bound as typed properties: a REST
    // sender's odd value (a number where a string belongs) must not turn the whole event into poison.

    /// <summary>The source's own identity of the alert (e.g. <c>alertmanager:&lt;fingerprint&gt;</c>): repeats and the clear share one Moogsoft signature.</summary>
    [JsonIgnore] public string? StableKey => ExtraString(EnvelopeFields.StableKey);

    /// <summary><c>alert_status: "resolved"</c>: the source says the alert is over; forwarded as a Moogsoft clear (severity 0).</summary>
    [JsonIgnore] public bool IsClear => ExtraString(EnvelopeFields.AlertStatus) == EnvelopeFields.Resolved;

    /// <summary>A label kept from a webhook source (<c>labels.{name}</c>, string values only), else null.</summary>
    public string? Label(string name) =>
        Extra is not null && Extra.TryGetValue(EnvelopeFields.Labels, out var labels) && labels.ValueKind == JsonValueKind.Object
        && labels.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private string? ExtraString(string name) =>
        Extra is not null && Extra.TryGetValue(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>The event time as UTC: the sender's timestamp when it parses, else when it was received, else now.</summary>
    public DateTime EventTimeUtc()
    {
        if (Timestamp is not null && DateTimeOffset.TryParse(Timestamp, System.Globalization.CultureInfo.InvariantCulture,
                System.Globalization.DateTimeStyles.AssumeUniversal, out var parsed))
        {
            return parsed.UtcDateTime;
        }
        return (ReceivedAt ?? DateTimeOffset.UtcNow).UtcDateTime;
    }
}

/// <summary>
/// An item on <c>mutt:alert_queue</c>: what the Forwarder needs to build a Moogsoft event.
/// </summary>
public sealed class AlertMessage
{
    [JsonPropertyName(EnvelopeFields.CorrelationId)] public string CorrelationId { get; set; } = "";
    [JsonPropertyName(EnvelopeFields.Hostname)] public string Hostname { get; set; } = "";
    [JsonPropertyName(EnvelopeFields.Message)] public string Message { get; set; } = "";
    [JsonPropertyName(EnvelopeFields.Source)] public string? Source { get; set; }
    [JsonPropertyName(EnvelopeFields.SyslogSeverity)] public int? SyslogSeverity { get; set; }
    [JsonPropertyName(EnvelopeFields.TrapOid)] public string? TrapOid { get; set; }
    [JsonPropertyName("team")] public string Team { get; set; } = "";
    [JsonPropertyName("handling")] public string Handling { get; set; } = "";
    [JsonPropertyName("rule_id")] public int? RuleId { get; set; }
    [JsonPropertyName("environment")] public string Environment { get; set; } = "prod";
    [JsonPropertyName("event_timestamp")] public DateTimeOffset EventTimestamp { get; set; }
    /// <summary>True for the Alerter's "unhandled events piling up" meta-alert.</summary>
    [JsonPropertyName("meta_alert")] public bool MetaAlert { get; set; }
    /// <summary>
    /// Deduplication: how many repeats of this event were deduplicated (audited, not forwarded) in the
    /// window before this one. Carried by the next forward of the same event, never by a later message.
    /// </summary>
    [JsonPropertyName("repeat_count")] public long? RepeatCount { get; set; }
    /// <summary><see cref="FlappingStates.Started"/> for the one Flapping alert of an episode, <see cref="FlappingStates.Cleared"/> for its clear; null otherwise.</summary>
    [JsonPropertyName("flapping")] public string? Flapping { get; set; }
    /// <summary>Flapping: transitions counted (at the start: within the window; at the clear: during the whole episode).</summary>
    [JsonPropertyName("transition_count")] public long? TransitionCount { get; set; }
    [JsonPropertyName("correlation_rule_id")] public int? CorrelationRuleId { get; set; }
    [JsonPropertyName("interface")] public string? Interface { get; set; }
    /// <summary>When a flapping clear was sent (unix ms, Redis's clock; set by flapping_sweep.lua).</summary>
    [JsonPropertyName("cleared_at_ms")] public long? ClearedAtMs { get; set; }
    [JsonPropertyName(EnvelopeFields.RetryCount)] public int RetryCount { get; set; }
    /// <summary>The event's trace context, continued by the Forwarder's delivery span (the Alerter's event span when it traced, else the event's own).</summary>
    [JsonPropertyName(EnvelopeFields.TraceParent)] public string? TraceParent { get; set; }
    /// <summary>The event's <see cref="MuttEvent.StableKey"/>: the Moogsoft signature is derived from it alone.</summary>
    [JsonPropertyName(EnvelopeFields.StableKey)] public string? StableKey { get; set; }
    /// <summary>A resolved webhook alert: sent to Moogsoft with severity 0 under the firing alert's signature.</summary>
    [JsonPropertyName("clear"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public bool Clear { get; set; }
}

/// <summary>Values of <see cref="AlertMessage.Flapping"/>.</summary>
public static class FlappingStates
{
    public const string Started = "started";
    public const string Cleared = "cleared";
}

/// <summary>
/// The field names of a queue item (spec 004 "Event Message" plus what MUTT adds), in one place for
/// every writer (<see cref="EnvelopeWriter"/>, the REST parser's checks) and reader (<see cref="MuttEvent"/>,
/// <see cref="AlertMessage"/>, the DLQ replay).
/// </summary>
public static class EnvelopeFields
{
    // Spec 004 Event Message: what a sender (or a listener, for syslog and SNMP) says.
    public const string Timestamp = "timestamp";
    public const string Message = "message";
    public const string Hostname = "hostname";
    public const string Source = "source";
    public const string SyslogSeverity = "syslog_severity";
    public const string TrapOid = "trap_oid";

    // MUTT's own: set by the Ingestor only (a sender's values are replaced), carried to the audit row.
    public const string CorrelationId = "correlation_id";
    /// <summary>When the Ingestor accepted the event, UTC, in <see cref="EnvelopeWriter.ReceivedAtFormat"/>.</summary>
    public const string ReceivedAt = "received_at";
    /// <summary>How many times processing failed; a requeue keeps it, a DLQ replay resets it.</summary>
    public const string RetryCount = "retry_count";

    /// <summary>The fields MUTT sets on every ingest-queue item; a sender's values for them are dropped.</summary>
    public static IReadOnlyList<string> Reserved { get; } = [CorrelationId, ReceivedAt, RetryCount, TraceParent];

    /// <summary>
    /// W3C Trace Context <c>traceparent</c> ("00-&lt;trace-id&gt;-&lt;span-id&gt;-&lt;flags&gt;"), on
    /// <c>mutt:ingest_queue</c> and <c>mutt:alert_queue</c> items. Optional: written only by a tracing producer.
    /// </summary>
    public const string TraceParent = "traceparent";

    /// <summary>Webhook sources: the source's identity of the alert, stable across repeat notifications and the clear.</summary>
    public const string StableKey = "stable_key";

    /// <summary>Webhook sources: <see cref="Firing"/> or <see cref="Resolved"/>.</summary>
    public const string AlertStatus = "alert_status";
    public const string Firing = "firing";
    public const string Resolved = "resolved";

    /// <summary>Webhook sources: the alert's labels (an object of strings), which rules can match on.</summary>
    public const string Labels = "labels";
    public const string Annotations = "annotations";
}

/// <summary>
/// An entry of a dead-letter queue (<c>mutt:dlq:alerter</c>, <c>mutt:dlq:moog</c>) and of
/// <c>mutt:poison:permanent</c>: the original payload untouched, why it failed, and its replay history.
/// </summary>
public sealed class DeadLetter
{
    [JsonPropertyName("id")] public string Id { get; set; } = Guid.NewGuid().ToString("N");
    [JsonPropertyName("payload")] public string Payload { get; set; } = "";
    [JsonPropertyName("source_queue")] public string SourceQueue { get; set; } = "";
    [JsonPropertyName("service")] public string Service { get; set; } = "";
    [JsonPropertyName("pod")] public string? Pod { get; set; }
    [JsonPropertyName("reason")] public string Reason { get; set; } = "";
    [JsonPropertyName("error")] public string? Error { get; set; }
    [JsonPropertyName("http_status")] public int? HttpStatus { get; set; }
    [JsonPropertyName("body_excerpt")] public string? BodyExcerpt { get; set; }
    [JsonPropertyName("failed_at")] public DateTimeOffset FailedAt { get; set; } = DateTimeOffset.UtcNow;
    [JsonPropertyName("replay_count")] public int ReplayCount { get; set; }
    [JsonPropertyName("next_replay_at")] public DateTimeOffset? NextReplayAt { get; set; }
    [JsonPropertyName("history")] public List<DeadLetterAttempt> History { get; set; } = [];
}

public sealed class DeadLetterAttempt
{
    [JsonPropertyName("at")] public DateTimeOffset At { get; set; }
    [JsonPropertyName("action")] public string Action { get; set; } = "";
    [JsonPropertyName("detail")] public string? Detail { get; set; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(MuttEvent))]
[JsonSerializable(typeof(AlertMessage))]
[JsonSerializable(typeof(DeadLetter))]
[JsonSerializable(typeof(List<MuttEvent>))]
public sealed partial class MuttJsonContext : JsonSerializerContext;
