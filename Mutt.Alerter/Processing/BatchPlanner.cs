using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Unicode;
using Mutt.Alerter.Audit;
using Mutt.Core.DeadLetters;
using Mutt.Core.Events;
using Mutt.Core.Noise;
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
    /// <summary>The alert behind <see cref="AlertJson"/>, kept so noise decisions can amend it (a carried repeat count).</summary>
    public AlertMessage? Alert { get; set; }
    /// <summary>The host whose unhandled counter this event increments, when no rule matched.</summary>
    public string? UnhandledHost { get; set; }
    public ItemStatus Status { get; set; }
    /// <summary>What deduplication and flapping detection must ask Redis about this event (null: nothing).</summary>
    public NoiseCandidate? Noise { get; set; }
    /// <summary>The event's span (<see cref="BatchTrace"/>); null when not tracing.</summary>
    public Activity? Activity { get; init; }
    public int RegexTimeouts { get; set; }
}

/// <summary>An event whose decision depends on Redis: a deduplication identity and window, or a flapping observation.</summary>
public sealed record NoiseCandidate(string? DedupHash, int DedupWindowSeconds, FlapObservation? Flap);

/// <summary>The outcome of a batch before any I/O: audit rows, alerts, retries, dead letters, unhandled counts.</summary>
public sealed class BatchPlan
{
    public List<PlannedItem> Items { get; } = [];
    /// <summary>Items to requeue (JSON with retry_count + 1).</summary>
    public List<string> Retries { get; } = [];
    /// <summary>DeadLetter JSON for mutt:dlq:alerter.</summary>
    public List<string> DeadLetters { get; } = [];
    private readonly long[] _counts = new long[Enum.GetValues<ItemStatus>().Length];

    public long Handled => _counts[(int)ItemStatus.Handled];
    public long Unhandled => _counts[(int)ItemStatus.Unhandled];
    public long Deduplicated => _counts[(int)ItemStatus.Deduplicated];
    public long Flapping => _counts[(int)ItemStatus.Flapping];
    public long SuppressedMaintenance => _counts[(int)ItemStatus.SuppressedMaintenance];
    public long Count(ItemStatus status) => _counts[(int)status];
    /// <summary>Events whose noise decision needs Redis (deduplication or flapping).</summary>
    public int NoiseCandidates { get; set; }
    /// <summary>Flapping episodes this batch started: their clears are stored in its completion transaction.</summary>
    public List<FlappingClear> FlappingClears { get; } = [];
    public long Poison { get; set; }
    /// <summary>Events refused for a limit on input (dead-lettered with reason validation).</summary>
    public long Invalid { get; set; }
    public long Errors { get; set; }
    public long RegexTimeouts => Items.Sum(i => (long)i.RegexTimeouts);

    public IEnumerable<AuditRow> AuditRows => Items.Where(i => i.Audit is not null).Select(i => i.Audit!);
    public IEnumerable<string> Alerts => Items.Where(i => i.AlertJson is not null).Select(i => i.AlertJson!);

    /// <summary>Gives an item its status, keeping the per-status counts right.</summary>
    public void SetStatus(PlannedItem item, ItemStatus status)
    {
        _counts[(int)item.Status]--;
        item.Status = status;
        _counts[(int)status]++;
    }

    public void Add(PlannedItem item)
    {
        Items.Add(item);
        _counts[(int)item.Status]++;
    }

    /// <summary>An item whose processing failed after planning: it no longer counts under any status.</summary>
    public void Remove(PlannedItem item)
    {
        _counts[(int)item.Status]--;
        item.Status = ItemStatus.Failed;
    }
}

/// <summary>How an audited event was decided; the metric's status label (Failed: retried or dead-lettered, counted as error).</summary>
public enum ItemStatus { Handled, Unhandled, Deduplicated, Flapping, SuppressedMaintenance, Failed }

/// <summary>The noise rules and settings a batch is planned with.</summary>
/// <param name="DedupWindowSeconds">The dynamic key dedup_window_seconds (0 = off) for rules without their own window.</param>
/// <param name="Now">Received time of events that carry none (maintenance windows compare received_at).</param>
public sealed record NoiseContext(NoiseRules Rules, int DedupWindowSeconds, DateTimeOffset Now)
{
    public static NoiseContext Off { get; } = new(NoiseRules.Empty, 0, DateTimeOffset.UnixEpoch);
}

/// <summary>
/// Turns a batch of raw queue items into a <see cref="BatchPlan"/> with the current rules. No
/// I/O, so unit tests call it directly. Parse errors are poison at once (retrying cannot fix
/// them), and so are events that break a limit on input (<see cref="EventLimits"/>: the Ingestor
/// refuses them, but an envelope written before it did, or replayed from a DLQ, can still come):
/// they go to the DLQ with reason <c>validation</c>, which Remediation never replays. Any other
/// failure of one item sends that item alone to retry (or, past the limit, to the DLQ) without
/// failing its batch.
/// </summary>
/// <param name="limits">null: <see cref="EventLimits.Default"/>.</param>
/// <param name="clock">The time limits are checked against (tests pin it); null: the system clock.</param>
public sealed class BatchPlanner(string podName, string sourceQueue, int maxRetries, EventLimits? limits = null, TimeProvider? clock = null)
{
    public const string UnknownHost = "unknown";

    /// <summary>The DLQ reason of an event that breaks a limit on input; permanent (<see cref="DeadLetterPolicy.PermanentReasons"/>).</summary>
    public const string ValidationReason = "validation";

    private readonly EventLimits _limits = limits ?? EventLimits.Default;
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;

    public BatchPlan Plan(IReadOnlyList<string> items, RuleSet rules, BatchTrace? trace = null, NoiseContext? noise = null) =>
        Plan(items.Select(Encoding.UTF8.GetBytes).ToArray(), rules, trace, noise);

    /// <summary>Plans a batch straight from the queue items' UTF-8 bytes (no string decoding on the hot path).</summary>
    /// <param name="trace">The batch's spans; null when not tracing (then each alert just keeps its event's traceparent).</param>
    /// <param name="noise">Maintenance windows, flapping rules and the dedup default; null = none (no noise reduction).</param>
    public BatchPlan Plan(IReadOnlyList<byte[]> items, RuleSet rules, BatchTrace? trace = null, NoiseContext? noise = null)
    {
        var plan = new BatchPlan();
        var now = _clock.GetUtcNow();
        noise ??= NoiseContext.Off;
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

            var eventTime = evt.EventTimeUtc();
            if (_limits.Check(evt, eventTime, now) is { } violation)
            {
                plan.Invalid++;
                plan.DeadLetters.Add(DeadLetterJson(Encoding.UTF8.GetString(raw), ValidationReason, violation));
                continue;
            }

            var activity = trace?.StartEvent(evt);
            try
            {
                var item = PlanEvent(raw, evt, eventTime, rules, activity, noise);
                plan.Add(item);
                if (item.Noise is not null)
                {
                    plan.NoiseCandidates++;
                }
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
            evt = MuttEventReader.Read(raw);
        }
        catch (JsonException) when (!Utf8.IsValid(raw))
        {
            raw = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(raw));
            evt = MuttEventReader.Read(raw);
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
        plan.Retries.Add(WithRetry(raw, evt));
    }

    /// <summary>
    /// The item as it came with its new <c>retry_count</c> and the correlation id it was audited under
    /// (derived when it had none), every other field kept as the sender wrote it (the event read by
    /// <see cref="MuttEventReader"/> holds only the fields MUTT reads, so it is not re-serialised).
    /// </summary>
    private static string WithRetry(string raw, MuttEvent evt)
    {
        try
        {
            var item = JsonNode.Parse(raw)!.AsObject();
            item[EnvelopeFields.RetryCount] = evt.RetryCount;
            if (evt.CorrelationId is not null)
            {
                item[EnvelopeFields.CorrelationId] = evt.CorrelationId;
            }
            return item.ToJsonString();
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or JsonException)
        {
            // A field named twice (JsonObject refuses it): the fields MUTT reads, in the retry.
            return JsonSerializer.Serialize(evt, MuttJsonContext.Default.MuttEvent);
        }
    }

    private static PlannedItem PlanEvent(byte[] raw, MuttEvent evt, DateTime eventTime, RuleSet rules, Activity? activity, NoiseContext noise)
    {
        // Keep the id stable across replays and retries: a missing id is derived from the payload
        // as the producer sent it (before any retry_count of ours), then travels in the envelope.
        evt.CorrelationId ??= DeriveCorrelationId(raw);
        var hostname = string.IsNullOrEmpty(evt.Hostname) ? UnknownHost : evt.Hostname;
        var match = rules.Match(evt);
        var item = new PlannedItem { RawUtf8 = raw, Event = evt, Activity = activity };
        item.RegexTimeouts = match.RegexTimeouts;
        activity?.SetTag(MuttTracing.Tags.Handling, match.Handling)
            .SetTag(MuttTracing.Tags.RuleId, match.Rule?.Id);

        // A maintenance window wins over everything: audited with its id, no alert, no unhandled
        // count, and no Redis state (a window that ends leaves nothing behind).
        if (noise.Rules.Maintenance.Find(hostname, match.Rule?.Id, match.Team, evt.ReceivedAt ?? noise.Now) is { } window)
        {
            item.Status = ItemStatus.SuppressedMaintenance;
            item.Audit = new AuditRow(eventTime, hostname, match.Rule?.Id, Handling.SuppressedMaintenance, false, evt.CorrelationId, raw)
            {
                MaintenanceWindowId = window.Id,
            };
            activity?.SetTag(MuttTracing.Tags.Handling, Handling.SuppressedMaintenance);
            return item;
        }

        var flap = noise.Rules.Flapping.IsEmpty ? null : noise.Rules.Flapping.Observe(evt.Message, evt.TrapOid);
        if (flap is not null)
        {
            item.Noise = new NoiseCandidate(null, 0, flap);
        }
        if (match.Rule is null)
        {
            item.Status = ItemStatus.Unhandled;
            item.Audit = new AuditRow(eventTime, hostname, null, Handling.Unhandled, false, evt.CorrelationId, raw);
            item.UnhandledHost = hostname;
            return item;
        }
        item.Status = ItemStatus.Handled;
        item.Audit = new AuditRow(eventTime, hostname, match.Rule.Id, match.Handling, match.Forward, evt.CorrelationId, raw);
        if (match.Forward)
        {
            item.Alert = new AlertMessage
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
            item.AlertJson = JsonSerializer.Serialize(item.Alert, MuttJsonContext.Default.AlertMessage);
            // Flapping transitions are not deduplicated: flapping detection is their noise reduction. Nor is a
            // webhook clear: it shares its firing alert's host and message but is a change of state, not a repeat.
            var dedupWindow = match.Rule.DedupWindowSeconds ?? noise.DedupWindowSeconds;
            if (flap is null && dedupWindow > 0 && !evt.IsClear)
            {
                item.Noise = new NoiseCandidate(NoiseKeys.DedupHash(hostname, evt.Message, evt.TrapOid), dedupWindow, null);
            }
        }
        return item;
    }

    /// <summary>The batch's unhandled events counted per host (ordinal host names, in first-seen order).</summary>
    public static List<(string Hostname, int Count)> UnhandledByHost(BatchPlan plan) =>
        [.. plan.Items.Where(i => i.UnhandledHost is not null).CountBy(i => i.UnhandledHost!, StringComparer.Ordinal).Select(c => (c.Key, c.Value))];

    /// <summary>
    /// The meta-alert of one batch with its host left out: the JSON text of
    /// <see cref="MetaAlertJson"/> where each occurrence of the host name is the byte 0x01 (JSON
    /// never holds it raw: the serializer writes control characters as <c>\u0001</c>). A batch of
    /// lines from a thousand hosts sends Redis one template and a thousand escaped host names, not a
    /// thousand meta-alerts of which at most a few fire; <c>unhandled.lua</c> fills in the host of
    /// the one that crosses the threshold.
    /// </summary>
    public static string MetaAlertTemplate(int threshold, TimeSpan window, string team, DateTime nowUtc, string? traceParent = null) =>
        MetaAlertJson(HostSlot, threshold, window, team, nowUtc, traceParent).Replace(@"\u0001", HostSlot, StringComparison.Ordinal);

    /// <summary>What stands for the host name in <see cref="MetaAlertTemplate"/>.</summary>
    public const string HostSlot = "\u0001";

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
