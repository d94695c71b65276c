using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using Mutt.Core.Audit;
using Mutt.Core.Events;
using Mutt.Core.Rules;
using Mutt.Core.Telemetry;

namespace Mutt.Alerter.Processing;

/// <summary>What happens to one item of a batch.</summary>
public sealed class PlannedItem
{
    /// <summary>The queue item as taken (UTF-8 JSON).</summary>
    public required byte[] RawUtf8 { get; init; }
    private string? _raw;
    /// <summary>The item as text, decoded on first use (dead letters, retries): the hot path never needs it.</summary>
    public string Raw => _raw ??= Encoding.UTF8.GetString(RawUtf8);
    public MuttEvent? Event { get; init; }
    public AuditRow? Audit { get; set; }
    public string? AlertJson { get; set; }
    /// <summary>The host whose unhandled counter this event increments, when no rule matched.</summary>
    public string? UnhandledHost { get; set; }
    /// <summary>The event's span (<see cref="BatchTrace"/>); null when not tracing.</summary>
    public Activity? Activity { get; init; }
}

/// <summary>The outcome of a batch before any I/O: audit rows, alerts, retries, dead letters, unhandled counts.</summary>
public sealed class BatchPlan
{
    public List<PlannedItem> Items { get; } = [];
    /// <summary>Items to requeue (JSON with retry_count + 1).</summary>
    public List<string> Retries { get; } = [];
    /// <summary>DeadLetter JSON for mutt:dlq:alerter.</summary>
    public List<string> DeadLetters { get; } = [];
    public long Handled { get; set; }
    public long Unhandled { get; set; }
    public long Poison { get; set; }
    public long Errors { get; set; }
    public long RegexTimeouts { get; set; }

    public IEnumerable<AuditRow> AuditRows => Items.Where(i => i.Audit is not null).Select(i => i.Audit!);
    public IEnumerable<string> Alerts => Items.Where(i => i.AlertJson is not null).Select(i => i.AlertJson!);
}

/// <summary>
/// Turns a batch of raw queue items into a <see cref="BatchPlan"/> with the current rules. No
/// I/O, so unit tests call it directly. Parse errors are poison at once (retrying cannot fix
/// them); any other failure of one item sends that item alone to retry (or, past the limit,
/// to the DLQ) without failing its batch.
/// </summary>
public sealed class BatchPlanner(string podName, string sourceQueue, int maxRetries)
{
    public const string UnknownHost = "unknown";

    public BatchPlan Plan(IReadOnlyList<string> items, RuleSet rules, BatchTrace? trace = null) =>
        Plan(items.Select(Encoding.UTF8.GetBytes).ToArray(), rules, trace);

    /// <summary>Plans a batch straight from the queue items' UTF-8 bytes (no string decoding on the hot path).</summary>
    /// <param name="trace">The batch's spans; null when not tracing (then each alert just keeps its event's traceparent).</param>
    public BatchPlan Plan(IReadOnlyList<byte[]> items, RuleSet rules, BatchTrace? trace = null)
    {
        var plan = new BatchPlan();
        foreach (var bytes in items)
        {
            var raw = bytes;
            MuttEvent? evt;
            try
            {
                evt = Deserialize(ref raw);
            }
            catch (Exception ex) when (ex is JsonException or NotSupportedException)
            {
                plan.Poison++;
                plan.DeadLetters.Add(DeadLetterJson(Encoding.UTF8.GetString(raw), "poison: unparseable JSON", ex.Message));
                continue;
            }

            var activity = trace?.StartEvent(evt);
            try
            {
                plan.Items.Add(PlanEvent(raw, evt, rules, plan, activity));
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                var retried = plan.Retries.Count;
                Fail(plan, Encoding.UTF8.GetString(raw), evt, ex.Message);
                if (activity is not null)
                {
                    BatchTrace.EndEvent(activity, plan.Retries.Count > retried ? "retry" : "dlq", ex.Message);
                }
            }
        }
        return plan;
    }

    /// <summary>
    /// Parses the item from its bytes. Invalid UTF-8 (the reader refuses it) gets the lenient path it
    /// always had: decoded with replacement characters, then parsed; <paramref name="raw"/> becomes those
    /// re-encoded bytes, which PostgreSQL's jsonb accepts.
    /// </summary>
    private static MuttEvent Deserialize(ref byte[] raw)
    {
        MuttEvent? evt;
        try
        {
            evt = JsonSerializer.Deserialize(raw, MuttJsonContext.Default.MuttEvent);
        }
        catch (JsonException) when (!Utf8.IsValid(raw))
        {
            var text = Encoding.UTF8.GetString(raw);
            evt = JsonSerializer.Deserialize(text, MuttJsonContext.Default.MuttEvent);
            raw = Encoding.UTF8.GetBytes(text);
        }
        return evt ?? throw new JsonException("The item is JSON null, not an event object.");
    }

    /// <summary>Sends an item that failed processing back for another try, or to the DLQ once retries are spent.</summary>
    public void Fail(BatchPlan plan, string raw, MuttEvent? evt, string error)
    {
        plan.Errors++;
        if (evt is null || evt.RetryCount >= maxRetries)
        {
            plan.DeadLetters.Add(DeadLetterJson(raw, "max_retries_exceeded", error));
            return;
        }
        evt.RetryCount++;
        plan.Retries.Add(JsonSerializer.Serialize(evt, MuttJsonContext.Default.MuttEvent));
    }

    private static PlannedItem PlanEvent(byte[] raw, MuttEvent evt, RuleSet rules, BatchPlan plan, Activity? activity)
    {
        // Keep the id stable across replays and retries: a missing id is derived from the payload
        // as the producer sent it (before any retry_count of ours), then travels in the envelope.
        evt.CorrelationId ??= DeriveCorrelationId(raw);
        var hostname = string.IsNullOrEmpty(evt.Hostname) ? UnknownHost : evt.Hostname;
        var eventTime = evt.EventTimeUtc();
        var match = rules.Match(evt);
        plan.RegexTimeouts += match.RegexTimeouts;
        var item = new PlannedItem { RawUtf8 = raw, Event = evt, Activity = activity };
        activity?.SetTag(MuttTracing.Tags.Handling, match.Handling)
            .SetTag(MuttTracing.Tags.RuleId, match.Rule?.Id);
        if (match.Rule is null)
        {
            plan.Unhandled++;
            item.Audit = new AuditRow(eventTime, hostname, null, Handling.Unhandled, false, evt.CorrelationId, raw);
            item.UnhandledHost = hostname;
            return item;
        }
        plan.Handled++;
        item.Audit = new AuditRow(eventTime, hostname, match.Rule.Id, match.Handling, match.Forward, evt.CorrelationId, raw);
        if (match.Forward)
        {
            var alert = new AlertMessage
            {
                CorrelationId = evt.CorrelationId,
                Hostname = hostname,
                Message = evt.Message ?? "",
                Source = evt.Source,
                SyslogSeverity = evt.SyslogSeverity,
                TrapOid = evt.TrapOid,
                Team = match.Team ?? "",
                Handling = match.Handling,
                RuleId = match.Rule.Id,
                Environment = match.IsDevelopmentHost ? "dev" : "prod",
                EventTimestamp = new DateTimeOffset(eventTime, TimeSpan.Zero),
                // The event span when tracing, so the Forwarder's span nests under it; else the event's own context.
                TraceParent = MuttTracing.TraceParentOf(activity) ?? evt.TraceParent,
                // A resolved webhook alert is forwarded exactly when its firing one was: the same labels,
                // message and severity meet the same rule, which decides Forward for both.
                StableKey = evt.StableKey,
                Clear = evt.IsClear,
            };
            item.AlertJson = JsonSerializer.Serialize(alert, MuttJsonContext.Default.AlertMessage);
        }
        return item;
    }

    /// <summary>
    /// The batch's unhandled events counted per host (ordinal host names, in first-seen order), each
    /// with the meta-alert to push if this batch's count crosses the host's threshold.
    /// </summary>
    public static List<(string Hostname, int Count, string MetaAlertJson)> UnhandledByHost(BatchPlan plan, int threshold, TimeSpan window, string team,
        DateTime nowUtc, string? traceParent = null) =>
        plan.Items.Where(i => i.UnhandledHost is not null)
            .GroupBy(i => i.UnhandledHost!, StringComparer.Ordinal)
            .Select(g => (g.Key, g.Count(), MetaAlertJson(g.Key, threshold, window, team, nowUtc, traceParent)))
            .ToList();

    /// <summary>The meta-alert sent when a host's unhandled events reach the threshold within the window.</summary>
    public static string MetaAlertJson(string hostname, int threshold, TimeSpan window, string team, DateTime nowUtc, string? traceParent = null)
    {
        var alert = new AlertMessage
        {
            // One meta-alert per host and window: the id names both, so a replay cannot duplicate it downstream.
            CorrelationId = $"meta-unhandled-{hostname}-{nowUtc:yyyyMMddHHmmss}",
            Hostname = hostname,
            Message = $"MUTT: {threshold} or more unhandled events from {hostname} within {window.TotalHours:0.##} h; no alert rule matches them.",
            Source = "mutt-alerter",
            Team = team,
            Handling = Handling.TicketOnly,
            Environment = "prod",
            EventTimestamp = new DateTimeOffset(nowUtc, TimeSpan.Zero),
            MetaAlert = true,
            TraceParent = traceParent,
        };
        return JsonSerializer.Serialize(alert, MuttJsonContext.Default.AlertMessage);
    }

    public static string DeriveCorrelationId(string raw) => DeriveCorrelationId(Encoding.UTF8.GetBytes(raw));

    public static string DeriveCorrelationId(ReadOnlySpan<byte> raw)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(raw, hash);
        return "derived-" + Convert.ToHexStringLower(hash[..16]);
    }

    public string DeadLetterJson(string raw, string reason, string? error) =>
        JsonSerializer.Serialize(new DeadLetter
        {
            Payload = raw,
            SourceQueue = sourceQueue,
            Service = "alerter",
            Pod = podName,
            Reason = reason,
            Error = error,
        }, MuttJsonContext.Default.DeadLetter);
}
