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

/// <param name="Events">Hostname, message size and timestamp limits (null: <see cref="EventLimits.Default"/>).</param>
public sealed record BatchLimits(string[] RequiredFields, int MaxDepth, int MaxBatchSize, EventLimits? Events = null)
{
    public EventLimits EventLimits => Events ?? EventLimits.Default;
}

/// <summary>
/// Turns a REST body (one object, an array, or NDJSON) into queue items (spec 004 Event Message
/// plus <c>correlation_id</c>, <c>received_at</c> and, when the request is traced, <c>traceparent</c>).
/// Pure: no I/O. All-or-nothing: any bad item
/// makes the whole batch invalid, so a client can retry the same body after fixing it without
/// creating duplicates of the good items.
/// </summary>
public static class EventBatchParser
{
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
        var receivedText = EnvelopeWriter.FormatReceivedAt(receivedAt);
        var context = new ItemContext(limits, receivedText, receivedAt, traceParent, output, writer);

        // System.Text.Json checks UTF-8 only when a string is read, which would surface as an
        // exception deep in validation; bad bytes anywhere make the whole body invalid input (400).
        if (!System.Text.Unicode.Utf8.IsValid(body.Span))
        {
            return new ParsedBatch { Outcome = BatchOutcome.InvalidJson, Detail = "The body is not valid UTF-8." };
        }

        if (ndjson)
        {
            return ParseNdjson(body, options, context);
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
                    AddItem(batch, item, $"[{index}]", null, context);
                    index++;
                }
                return Finish(batch);
            }
            var single = new ParsedBatch { Outcome = BatchOutcome.Accepted };
            AddItem(single, root, "", headerCorrelationId, context);
            return Finish(single);
        }
    }

    /// <summary>What every item of one request is checked against and written with.</summary>
    private sealed record ItemContext(BatchLimits Limits, string ReceivedText, DateTimeOffset ReceivedAt, string? TraceParent,
        ArrayBufferWriter<byte> Output, Utf8JsonWriter Writer);

    private static ParsedBatch ParseNdjson(ReadOnlyMemory<byte> body, JsonDocumentOptions options, ItemContext context)
    {
        var limits = context.Limits;
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
                AddItem(batch, document.RootElement, $"[{index}]", null, context);
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

    private static void AddItem(ParsedBatch batch, JsonElement item, string prefix, string? headerCorrelationId, ItemContext context)
    {
        var (limits, receivedText, receivedAt, traceParent, output, writer) = context;
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
        if (item.TryGetProperty(EnvelopeFields.Timestamp, out var timestamp) && timestamp.ValueKind != JsonValueKind.Null)
        {
            if (timestamp.ValueKind != JsonValueKind.String)
            {
                Error(EnvelopeFields.Timestamp, "must be a string");
            }
            else if (!TryParseIso8601(timestamp.GetString()!, out var time))
            {
                Error(EnvelopeFields.Timestamp, "must be an ISO 8601 date and time");
            }
            else if (!limits.EventLimits.TimestampInRange(time, receivedAt))
            {
                // The audit table is partitioned by this time: a month with no partition, or past
                // every retention, has no place for the row.
                Error(EnvelopeFields.Timestamp, limits.EventLimits.TimestampError(receivedAt));
            }
        }
        foreach (var field in (ReadOnlySpan<string>)[EnvelopeFields.Message, EnvelopeFields.Hostname, EnvelopeFields.Source, EnvelopeFields.TrapOid, EnvelopeFields.StableKey])
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
        // Hostname length and message size, decided on the raw JSON bytes: an escaped string is never
        // shorter than its text (in UTF-16 units or in UTF-8 bytes), so only a value whose raw form
        // is over the limit is decoded to be measured; the usual event allocates nothing here.
        var eventLimits = limits.EventLimits;
        if (item.TryGetProperty(EnvelopeFields.Hostname, out var hostname) && hostname.ValueKind == JsonValueKind.String
            && EventLimits.HostnameTooLong(RawLength(hostname)) && hostname.GetString()! is var host && EventLimits.HostnameTooLong(host.Length))
        {
            Error(EnvelopeFields.Hostname, eventLimits.HostnameError(host.Length));
        }
        if (item.TryGetProperty(EnvelopeFields.Message, out var message) && message.ValueKind == JsonValueKind.String
            && RawLength(message) > eventLimits.MaxMessageBytes && message.GetString()! is var text && eventLimits.MessageTooLarge(text))
        {
            Error(EnvelopeFields.Message, eventLimits.MessageError(text));
        }
        if (item.TryGetProperty(EnvelopeFields.SyslogSeverity, out var severity) && severity.ValueKind != JsonValueKind.Null)
        {
            if (severity.ValueKind != JsonValueKind.Number || !severity.TryGetInt32(out var level))
            {
                Error(EnvelopeFields.SyslogSeverity, "must be an integer");
            }
            else if (level is < 0 or > 7)
            {
                Error(EnvelopeFields.SyslogSeverity, "must be between 0 and 7");
            }
        }
        string? correlationId = null;
        if (item.TryGetProperty(EnvelopeFields.CorrelationId, out var cid) && cid.ValueKind != JsonValueKind.Null)
        {
            if (cid.ValueKind != JsonValueKind.String || !Microsoft.Extensions.Hosting.CorrelationIdMiddleware.IsAcceptable(cid.GetString()!))
            {
                Error(EnvelopeFields.CorrelationId, "must be a string of 1-128 letters, digits, '-', '_', '.' or ':'");
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
            if (!EnvelopeWriter.IsReserved(property.Name))
            {
                property.WriteTo(writer);
            }
        }
        EnvelopeWriter.WriteEnvelope(writer, correlationId, receivedText, traceParent);
        writer.WriteEndObject();
        writer.Flush();
        batch.Items.Add(output.WrittenSpan.ToArray());
        batch.CorrelationIds.Add(correlationId);
    }

    /// <summary>
    /// The common case without re-serialising: when the object carries none of the reserved fields,
    /// its original bytes are kept and the envelope is appended (<see cref="EnvelopeWriter.TryAppendEnvelope"/>).
    /// </summary>
    private static bool TrySplice(JsonElement item, string correlationId, string receivedText, string? traceParent, out byte[] spliced)
    {
        foreach (var name in EnvelopeFields.Reserved)
        {
            if (item.TryGetProperty(name, out _))
            {
                spliced = [];
                return false;
            }
        }
        return EnvelopeWriter.TryAppendEnvelope(System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(item), correlationId, receivedText, traceParent, out spliced);
    }

    /// <summary>The bytes between the quotes of a JSON string as sent (escapes not decoded).</summary>
    private static int RawLength(JsonElement value) => System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(value).Length - 2;

    /// <summary>ISO 8601 date-time: a date (yyyy-MM-dd) followed by a time, with or without an offset.</summary>
    public static bool IsIso8601(string text) => TryParseIso8601(text, out _);

    public static bool TryParseIso8601(string text, out DateTimeOffset time)
    {
        time = default;
        return text.Length >= 10 && text[4] == '-' && text[7] == '-'
            && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out time);
    }
}
