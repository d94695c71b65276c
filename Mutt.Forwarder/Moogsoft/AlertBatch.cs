using System.Diagnostics;
using System.Text.Json;
using Mutt.Core.Events;
using Mutt.Core.Telemetry;
using StackExchange.Redis;

namespace Mutt.Forwarder.Moogsoft;

/// <summary>A taken batch of alert-queue items, parsed (no I/O): the Moogsoft events to send and the unreadable items to dead-letter.</summary>
public sealed class AlertBatch
{
    private readonly string _sourceQueue;
    private readonly string _pod;

    private AlertBatch(RedisValue[] items, string sourceQueue, string pod)
    {
        Items = items;
        _sourceQueue = sourceQueue;
        _pod = pod;
    }

    public RedisValue[] Items { get; }
    public List<MoogEvent> Events { get; } = [];
    /// <summary>Dead letters of the batch (unreadable items, or all of it once it is dead-lettered).</summary>
    public List<DeadLetter> DeadLetters { get; } = [];
    /// <summary>Sampled trace contexts of the alerts; null when nobody listens.</summary>
    public List<ActivityContext>? Traced { get; private init; }

    public static AlertBatch Parse(RedisValue[] items, string agentLocation, string sourceQueue, string pod, bool trace)
    {
        var batch = new AlertBatch(items, sourceQueue, pod) { Traced = trace ? [] : null };
        foreach (var item in items)
        {
            AlertMessage? alert = null;
            string? error = null;
            try
            {
                // From the item's UTF-8 bytes as Redis sent them: no decode to a string and re-encode.
                alert = JsonSerializer.Deserialize(((ReadOnlyMemory<byte>)item).Span, MuttJsonContext.Default.AlertMessage);
            }
            catch (JsonException ex)
            {
                error = ex.Message;
            }
            if (alert is null || string.IsNullOrEmpty(alert.CorrelationId))
            {
                batch.DeadLetters.Add(batch.NewDeadLetter(item!, "invalid_json", error ?? "not an alert message (no correlation_id)"));
                continue;
            }
            batch.Events.Add(MoogEventBuilder.Build(alert, agentLocation));
            if (batch.Traced is not null && MuttTracing.TryGetSampledContext(alert.TraceParent, out var context))
            {
                batch.Traced.Add(context);
            }
        }
        return batch;
    }

    /// <summary>Dead-letters every readable item with the answer's details; returns how many.</summary>
    public int DeadLetterAll(string reason, SendOutcome outcome)
    {
        var invalid = DeadLetters.Select(r => r.Payload).ToHashSet(StringComparer.Ordinal);
        foreach (var item in Items)
        {
            var payload = (string)item!;
            if (invalid.Contains(payload))
            {
                continue;
            }
            var letter = NewDeadLetter(payload, reason, outcome.Error);
            letter.HttpStatus = outcome.HttpStatus;
            letter.BodyExcerpt = outcome.BodyExcerpt;
            DeadLetters.Add(letter);
        }
        return Items.Length - invalid.Count;
    }

    /// <summary>
    /// The batch's span, current while it is delivered, so each Moogsoft POST (HttpClient
    /// instrumentation) is its child. One POST carries many events' alerts but can have one
    /// parent: the first traced alert's context (the Alerter's event span); every other alert's
    /// trace is linked. A one-alert batch is thus entirely inside its event's trace.
    /// </summary>
    public Activity? StartActivity()
    {
        if (Traced is null)
        {
            return null;
        }
        var parent = Traced.Count > 0 ? Traced[0] : default;
        Activity.Current = null; // no ambient parent: the batch continues its first alert's trace or starts its own
        var activity = MuttTracing.Forwarder.StartActivity(MuttTracing.Spans.ForwarderBatch, ActivityKind.Consumer, parent,
            links: Traced.Count > 1 ? Traced.Skip(1).Select(c => new ActivityLink(c)) : null);
        activity?.SetTag(MuttTracing.Tags.MessagingSystem, "redis")
            .SetTag(MuttTracing.Tags.MessagingDestination, _sourceQueue)
            .SetTag(MuttTracing.Tags.MessagingBatchCount, Items.Length);
        return activity;
    }

    private DeadLetter NewDeadLetter(string payload, string reason, string? error) => new()
    {
        Payload = payload,
        SourceQueue = _sourceQueue,
        Service = "forwarder",
        Pod = _pod,
        Reason = reason,
        Error = error,
        FailedAt = DateTimeOffset.UtcNow,
    };
}
