using System.Buffers;
using System.Diagnostics;
using System.Text.Json;
using Mutt.Core.Events;
using Mutt.Core.Webhooks;
using Mutt.Ingestor.Ingest;

namespace Mutt.Ingestor.Webhooks;

/// <summary>
/// Collects a webhook body's events as queue items (one <see cref="WebhookEventWriter"/> buffer for
/// the whole body) and its errors; all-or-nothing like a REST batch: one error and nothing is queued.
/// </summary>
public sealed class WebhookBatchBuilder : IDisposable
{
    private readonly ArrayBufferWriter<byte> _output = new(1024);
    private readonly Utf8JsonWriter _json;
    private readonly string _receivedText;
    private readonly string? _traceParent;
    private readonly ParsedBatch _batch = new() { Outcome = BatchOutcome.Accepted };
    private readonly EventLimits _limits;
    private readonly DateTimeOffset _receivedAt;

    public WebhookBatchBuilder(IngestBody body)
    {
        _limits = body.Limits.EventLimits;
        _receivedAt = body.ReceivedAt;
        _json = new Utf8JsonWriter(_output);
        _receivedText = Mutt.Core.Events.EnvelopeWriter.FormatReceivedAt(body.ReceivedAt);
        // Written unescaped by the REST splice; here Utf8JsonWriter escapes anyway, but keep only the W3C form alike.
        _traceParent = body.TraceParent is not null && ActivityContext.TryParse(body.TraceParent, null, out _) ? body.TraceParent : null;
    }

    public string ReceivedText => _receivedText;

    /// <summary>The errors so far, keyed by field (<c>alerts[3].startsAt</c>); adapters add to it.</summary>
    public Dictionary<string, string[]> Errors => _batch.Errors;

    /// <param name="array">Where the item sits for the 400's field names: <c>alerts</c> (→ <c>alerts[3].hostname</c>), "" (a bare array: <c>[3].hostname</c>), or null (a single object: <c>hostname</c>).</param>
    public void Add(WebhookEvent e, string? array, int index)
    {
        // The limits every intake path enforces before an event may reach the audit table (EventLimits).
        string At(string field) => array is null ? field : $"{array}[{index}].{field}";
        if (EventLimits.HostnameTooLong(e.Hostname.Length))
        {
            Error(At(EnvelopeFields.Hostname), _limits.HostnameError(e.Hostname.Length));
        }
        if (_limits.MessageTooLarge(e.Message))
        {
            Error(At(EnvelopeFields.Message), _limits.MessageError(e.Message));
        }
        if (!DateTimeOffset.TryParse(e.Timestamp, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var time)
            || !_limits.TimestampInRange(time, _receivedAt))
        {
            Error(At(EnvelopeFields.Timestamp), _limits.TimestampError(_receivedAt));
        }
        if (_batch.Errors.Count > 0)
        {
            return; // the body is refused anyway; skip writing
        }
        var correlationId = e.CorrelationId ?? Guid.NewGuid().ToString();
        _batch.Items.Add(WebhookEventWriter.Write(e, correlationId, _receivedText, _traceParent, _output, _json));
        _batch.CorrelationIds.Add(correlationId);
    }

    public void Error(string field, string message) =>
        _batch.Errors[field] = _batch.Errors.TryGetValue(field, out var existing) ? [.. existing, message] : [message];

    public ParsedBatch Finish(string source)
    {
        if (_batch.Errors.Count == 0)
        {
            return _batch;
        }
        var failed = new ParsedBatch
        {
            Outcome = BatchOutcome.Invalid,
            Detail = $"No alert of this {source} notification was enqueued; the listed fields do not map to MUTT events.",
        };
        foreach (var (key, value) in _batch.Errors)
        {
            failed.Errors[key] = value;
        }
        return failed;
    }

    /// <summary>Parses the body (UTF-8, depth-limited); null with the 400's detail when it is not JSON.</summary>
    public static JsonDocument? ParseDocument(IngestBody body, out ParsedBatch? refused)
    {
        refused = null;
        if (!System.Text.Unicode.Utf8.IsValid(body.Body.Span))
        {
            refused = new ParsedBatch { Outcome = BatchOutcome.InvalidJson, Detail = "The body is not valid UTF-8." };
            return null;
        }
        try
        {
            return JsonDocument.Parse(body.Body, new JsonDocumentOptions { MaxDepth = body.Limits.MaxDepth });
        }
        catch (JsonException ex)
        {
            refused = new ParsedBatch { Outcome = BatchOutcome.InvalidJson, Detail = "Malformed JSON: " + ex.Message };
            return null;
        }
    }

    public static ParsedBatch Refuse(string field, string message, string? detail = null)
    {
        var batch = new ParsedBatch { Outcome = BatchOutcome.Invalid, Detail = detail };
        batch.Errors[field] = [message];
        return batch;
    }

    public static ParsedBatch TooMany(int count, int max) =>
        new() { Outcome = BatchOutcome.TooLarge, Detail = $"A notification may hold at most {max} alerts (INGEST_MAX_BATCH_SIZE); this one has {count}." };

    public void Dispose() => _json.Dispose();
}
