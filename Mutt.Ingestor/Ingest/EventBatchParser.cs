using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Mutt.Core.Events;

namespace Mutt.Ingestor.Ingest;

public enum BatchOutcome
{
    Accepted,
    InvalidJson,
    Invalid,
    TooLarge,
    /// <summary>The route names a source MUTT does not know (a mapped source without a mapping): 404.</summary>
    UnknownSource,
    /// <summary>What the route needs is not loaded yet (the mapping cache before its first load): 503.</summary>
    Unavailable,
}

/// <summary>What a request body turned into: queue items ready to push, or the reasons it was refused.</summary>
public sealed class ParsedBatch
{
    public BatchOutcome Outcome { get; init; }
    public List<byte[]> Items { get; } = [];
    public List<string> CorrelationIds { get; } = [];
    public Dictionary<string, string[]> Errors { get; } = [];
    public string? Detail { get; init; }
}

public sealed record BatchLimits(string[] RequiredFields, int MaxDepth, int MaxBatchSize);

/// <summary>
/// Turns a REST body (one object, an array, or NDJSON) into queue items (spec 004 Event Message
/// plus <c>correlation_id</c>, <c>received_at</c> and, when the request is traced, <c>traceparent</c>).
/// Pure: no I/O. All-or-nothing: any bad item
/// makes the whole batch invalid, so a client can retry the same body after fixing it without
/// creating duplicates of the good items.
/// </summary>
public static class EventBatchParser
{
    /// <summary>Fields the Ingestor sets itself; a sender's values are replaced.</summary>
    private static readonly string[] Reserved = ["correlation_id", "received_at", "retry_count", EnvelopeFields.TraceParent];

    /// <param name="traceParent">The W3C traceparent every item of the batch carries (null: not traced, no field).</param>
    public static ParsedBatch Parse(ReadOnlyMemory<byte> body, bool ndjson, BatchLimits limits, string? headerCorrelationId, DateTimeOffset receivedAt,
        string? traceParent = null)
    {
        // Spliced into the bytes unescaped below, so only the W3C form (hex digits and dashes) is taken.
        if (traceParent is not null && !ActivityContext.TryParse(traceParent, null, out _))
        {
            traceParent = null;
        }
        var options = new JsonDocumentOptions { MaxDepth = limits.MaxDepth };
        var output = new ArrayBufferWriter<byte>(512);
        using var writer = new Utf8JsonWriter(output);
        var receivedText = Mutt.Core.Webhooks.WebhookEventWriter.FormatReceivedAt(receivedAt);

        // System.Text.Json checks UTF-8 only when a string is read, which would surface as an
        // exception deep in validation; bad bytes anywhere make the whole body invalid input (400).
        if (!System.Text.Unicode.Utf8.IsValid(body.Span))
        {
            return new ParsedBatch { Outcome = BatchOutcome.InvalidJson, Detail = "The body is not valid UTF-8." };
        }

        if (ndjson)
        {
            return ParseNdjson(body, options, limits, receivedText, traceParent, output, writer);
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, options);
        }
        catch (JsonException ex)
        {
            return new ParsedBatch { Outcome = BatchOutcome.InvalidJson, Detail = "Malformed JSON: " + ex.Message };
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Array)
            {
                var count = root.GetArrayLength();
                if (count == 0)
                {
                    return Invalid("$", "the batch is empty");
                }
                if (count > limits.MaxBatchSize)
                {
                    return new ParsedBatch { Outcome = BatchOutcome.TooLarge, Detail = $"A batch may hold at most {limits.MaxBatchSize} events; this one has {count}." };
                }
                var batch = new ParsedBatch { Outcome = BatchOutcome.Accepted };
                var index = 0;
                foreach (var item in root.EnumerateArray())
                {
                    AddItem(batch, item, $"[{index}]", limits, null, receivedText, traceParent, output, writer);
                    index++;
                }
                return Finish(batch);
            }
            var single = new ParsedBatch { Outcome = BatchOutcome.Accepted };
            AddItem(single, root, "", limits, headerCorrelationId, receivedText, traceParent, output, writer);
            return Finish(single);
        }
    }

    private static ParsedBatch ParseNdjson(ReadOnlyMemory<byte> body, JsonDocumentOptions options, BatchLimits limits, string receivedText,
        string? traceParent, ArrayBufferWriter<byte> output, Utf8JsonWriter writer)
    {
        var batch = new ParsedBatch { Outcome = BatchOutcome.Accepted };
        var rest = body;
        var index = 0;
        var malformed = false;
        while (!rest.IsEmpty)
        {
            var newline = rest.Span.IndexOf((byte)'\n');
            var line = newline < 0 ? rest : rest[..newline];
            rest = newline < 0 ? ReadOnlyMemory<byte>.Empty : rest[(newline + 1)..];
            if (line.Span.Trim(" \t\r"u8).IsEmpty)
            {
                continue;
            }
            if (index >= limits.MaxBatchSize)
            {
                return new ParsedBatch { Outcome = BatchOutcome.TooLarge, Detail = $"A batch may hold at most {limits.MaxBatchSize} events." };
            }
            try
            {
                using var document = JsonDocument.Parse(line, options);
                AddItem(batch, document.RootElement, $"[{index}]", limits, null, receivedText, traceParent, output, writer);
            }
            catch (JsonException ex)
            {
                malformed = true;
                batch.Errors[$"[{index}]"] = ["malformed JSON: " + ex.Message];
            }
            index++;
        }
        if (index == 0)
        {
            return Invalid("$", "the batch is empty");
        }
        if (malformed)
        {
            var failed = new ParsedBatch { Outcome = BatchOutcome.InvalidJson, Detail = "One or more NDJSON lines are not valid JSON." };
            foreach (var (key, value) in batch.Errors)
            {
                failed.Errors[key] = value;
            }
            return failed;
        }
        return Finish(batch);
    }

    private static ParsedBatch Finish(ParsedBatch batch)
    {
        if (batch.Errors.Count == 0)
        {
            return batch;
        }
        var failed = new ParsedBatch { Outcome = BatchOutcome.Invalid };
        foreach (var (key, value) in batch.Errors)
        {
            failed.Errors[key] = value;
        }
        return failed;
    }

    private static ParsedBatch Invalid(string key, string error)
    {
        var batch = new ParsedBatch { Outcome = BatchOutcome.Invalid };
        batch.Errors[key] = [error];
        return batch;
    }

    private static void AddItem(ParsedBatch batch, JsonElement item, string prefix, BatchLimits limits, string? headerCorrelationId,
        string receivedText, string? traceParent, ArrayBufferWriter<byte> output, Utf8JsonWriter writer)
    {
        if (item.ValueKind != JsonValueKind.Object)
        {
            batch.Errors[prefix.Length == 0 ? "$" : prefix] = ["must be a JSON object"];
            return;
        }
        var errorsBefore = batch.Errors.Count;
        string Key(string field) => prefix.Length == 0 ? field : prefix + "." + field;
        void Error(string field, string message)
        {
            var key = Key(field);
            batch.Errors[key] = batch.Errors.TryGetValue(key, out var existing) ? [.. existing, message] : [message];
        }

        foreach (var field in limits.RequiredFields)
        {
            if (!item.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
            {
                Error(field, "is required");
            }
            else if (value.ValueKind == JsonValueKind.String && string.IsNullOrWhiteSpace(value.GetString()))
            {
                Error(field, "must not be empty");
            }
        }
        if (item.TryGetProperty("timestamp", out var timestamp) && timestamp.ValueKind != JsonValueKind.Null)
        {
            if (timestamp.ValueKind != JsonValueKind.String)
            {
                Error("timestamp", "must be a string");
            }
            else if (!IsIso8601(timestamp.GetString()!))
            {
                Error("timestamp", "must be an ISO 8601 date and time");
            }
        }
        foreach (var field in (ReadOnlySpan<string>)["message", "hostname", "source", "trap_oid", EnvelopeFields.StableKey])
        {
            if (item.TryGetProperty(field, out var value) && value.ValueKind is not (JsonValueKind.String or JsonValueKind.Null))
            {
                Error(field, "must be a string");
            }
        }
        // A REST sender may send clears too: the same alert_status the webhook adapters write.
        if (item.TryGetProperty(EnvelopeFields.AlertStatus, out var status) && status.ValueKind != JsonValueKind.Null
            && !(status.ValueKind == JsonValueKind.String && status.GetString() is EnvelopeFields.Firing or EnvelopeFields.Resolved))
        {
            Error(EnvelopeFields.AlertStatus, "must be \"firing\" or \"resolved\"");
        }
        if (item.TryGetProperty("syslog_severity", out var severity) && severity.ValueKind != JsonValueKind.Null)
        {
            if (severity.ValueKind != JsonValueKind.Number || !severity.TryGetInt32(out var level))
            {
                Error("syslog_severity", "must be an integer");
            }
            else if (level is < 0 or > 7)
            {
                Error("syslog_severity", "must be between 0 and 7");
            }
        }
        string? correlationId = null;
        if (item.TryGetProperty("correlation_id", out var cid) && cid.ValueKind != JsonValueKind.Null)
        {
            if (cid.ValueKind != JsonValueKind.String || !Microsoft.Extensions.Hosting.CorrelationIdMiddleware.IsAcceptable(cid.GetString()!))
            {
                Error("correlation_id", "must be a string of 1-128 letters, digits, '-', '_', '.' or ':'");
            }
            else
            {
                correlationId = cid.GetString();
            }
        }
        if (batch.Errors.Count != errorsBefore || batch.Errors.Count > 0)
        {
            return; // the batch is refused anyway; skip building items
        }

        correlationId ??= headerCorrelationId ?? Guid.NewGuid().ToString();
        if (TrySplice(item, correlationId, receivedText, traceParent, out var spliced))
        {
            batch.Items.Add(spliced);
            batch.CorrelationIds.Add(correlationId);
            return;
        }
        output.ResetWrittenCount();
        writer.Reset(output);
        writer.WriteStartObject();
        foreach (var property in item.EnumerateObject())
        {
            if (Array.IndexOf(Reserved, property.Name) < 0)
            {
                property.WriteTo(writer);
            }
        }
        Mutt.Core.Webhooks.WebhookEventWriter.WriteEnvelope(writer, correlationId, receivedText, traceParent);
        writer.WriteEndObject();
        writer.Flush();
        batch.Items.Add(output.WrittenSpan.ToArray());
        batch.CorrelationIds.Add(correlationId);
    }

    private static ReadOnlySpan<byte> CorrelationIdPrefix => ",\"correlation_id\":\""u8;
    private static ReadOnlySpan<byte> ReceivedAtPrefix => "\",\"received_at\":\""u8;
    private static ReadOnlySpan<byte> TraceParentPrefix => "\",\"traceparent\":\""u8; // EnvelopeFields.TraceParent

    /// <summary>
    /// The common case without re-serialising: when the object carries none of the reserved fields,
    /// its original bytes are kept and our fields are appended before the closing brace. Every
    /// value is plain ASCII (validated correlation ids, GUIDs, a fixed timestamp format, a parsed
    /// W3C traceparent), so none needs escaping; anything else takes the general path.
    /// </summary>
    private static bool TrySplice(JsonElement item, string correlationId, string receivedText, string? traceParent, out byte[] spliced)
    {
        spliced = [];
        foreach (var name in Reserved)
        {
            if (item.TryGetProperty(name, out _))
            {
                return false;
            }
        }
        if (!Microsoft.Extensions.Hosting.CorrelationIdMiddleware.IsAcceptable(correlationId))
        {
            return false;
        }
        var raw = System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(item);
        var close = raw.Length - 1;
        if (close < 1 || raw[close] != (byte)'}' || raw[..close].TrimEnd(" \t\r\n"u8)[^1] == (byte)'{')
        {
            return false; // not the expected shape, or an empty object (no comma allowed)
        }
        var length = close + CorrelationIdPrefix.Length + correlationId.Length + ReceivedAtPrefix.Length + receivedText.Length + 2
            + (traceParent is null ? 0 : TraceParentPrefix.Length + traceParent.Length);
        spliced = new byte[length];
        var span = spliced.AsSpan();
        raw[..close].CopyTo(span);
        var at = close;
        CorrelationIdPrefix.CopyTo(span[at..]);
        at += CorrelationIdPrefix.Length;
        at += System.Text.Encoding.ASCII.GetBytes(correlationId, span[at..]);
        ReceivedAtPrefix.CopyTo(span[at..]);
        at += ReceivedAtPrefix.Length;
        at += System.Text.Encoding.ASCII.GetBytes(receivedText, span[at..]);
        if (traceParent is not null)
        {
            TraceParentPrefix.CopyTo(span[at..]);
            at += TraceParentPrefix.Length;
            at += System.Text.Encoding.ASCII.GetBytes(traceParent, span[at..]);
        }
        span[at++] = (byte)'"';
        span[at] = (byte)'}';
        return true;
    }

    /// <summary>ISO 8601 date-time: a date (yyyy-MM-dd) followed by a time, with or without an offset.</summary>
    public static bool IsIso8601(string text) =>
        text.Length >= 10 && text[4] == '-' && text[7] == '-'
        && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out _);
}
