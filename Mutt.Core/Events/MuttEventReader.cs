using System.Text.Json;

namespace Mutt.Core.Events;

/// <summary>
/// Reads a queue item into a <see cref="MuttEvent"/> as <c>JsonSerializer</c> with
/// <see cref="MuttJsonContext"/> does (the same fields, the same errors for a value of the wrong
/// type), except that of the fields MUTT does not bind it keeps in <see cref="MuttEvent.Extra"/> only
/// those a consumer reads (<c>stable_key</c>, <c>alert_status</c>, <c>labels</c>) and skips the rest.
/// The serializer makes each extension field a <see cref="JsonElement"/> with a document of its own:
/// a syslog item carries seven (facility, app_name, procid, msgid, syslog_format, transport, sender),
/// a third of the Alerter's CPU per event. For consumers that keep the item's bytes and never
/// re-serialise the event (the Alerter audits the bytes and requeues a retry by patching them).
/// </summary>
public static class MuttEventReader
{
    /// <exception cref="JsonException">Not JSON, not an object, or a bound field of the wrong type.</exception>
    public static MuttEvent? Read(ReadOnlySpan<byte> utf8)
    {
        try
        {
            var reader = new Utf8JsonReader(utf8);
            if (!reader.Read())
            {
                throw new JsonException("The item is empty.");
            }
            if (reader.TokenType == JsonTokenType.Null)
            {
                End(ref reader);
                return null;
            }
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                throw new JsonException($"The item is a JSON {reader.TokenType}, not an event object.");
            }
            var evt = new MuttEvent();
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                ReadProperty(ref reader, evt);
            }
            End(ref reader);
            return evt;
        }
        catch (InvalidOperationException ex)
        {
            // GetString on invalid UTF-8 and the like: the serializer reports these as JsonException too.
            throw new JsonException(ex.Message, ex);
        }
    }

    private static void ReadProperty(ref Utf8JsonReader reader, MuttEvent evt)
    {
        if (reader.ValueTextEquals(EnvelopeFields.Timestamp)) { reader.Read(); evt.Timestamp = String(ref reader); }
        else if (reader.ValueTextEquals(EnvelopeFields.Message)) { reader.Read(); evt.Message = String(ref reader); }
        else if (reader.ValueTextEquals(EnvelopeFields.Hostname)) { reader.Read(); evt.Hostname = String(ref reader); }
        else if (reader.ValueTextEquals(EnvelopeFields.Source)) { reader.Read(); evt.Source = String(ref reader); }
        else if (reader.ValueTextEquals(EnvelopeFields.SyslogSeverity)) { reader.Read(); evt.SyslogSeverity = reader.TokenType == JsonTokenType.Null ? null : Int32(ref reader); }
        else if (reader.ValueTextEquals(EnvelopeFields.TrapOid)) { reader.Read(); evt.TrapOid = String(ref reader); }
        else if (reader.ValueTextEquals(EnvelopeFields.CorrelationId)) { reader.Read(); evt.CorrelationId = String(ref reader); }
        else if (reader.ValueTextEquals(EnvelopeFields.ReceivedAt)) { reader.Read(); evt.ReceivedAt = reader.TokenType == JsonTokenType.Null ? null : Time(ref reader); }
        else if (reader.ValueTextEquals(EnvelopeFields.RetryCount)) { reader.Read(); evt.RetryCount = Int32(ref reader); }
        else if (reader.ValueTextEquals(EnvelopeFields.TraceParent)) { reader.Read(); evt.TraceParent = String(ref reader); }
        else if (reader.ValueTextEquals(EnvelopeFields.StableKey) || reader.ValueTextEquals(EnvelopeFields.AlertStatus) || reader.ValueTextEquals(EnvelopeFields.Labels))
        {
            var name = reader.GetString()!;
            reader.Read();
            (evt.Extra ??= [])[name] = JsonElement.ParseValue(ref reader);
        }
        else
        {
            reader.Read();
            reader.Skip();
        }
    }

    private static void End(ref Utf8JsonReader reader)
    {
        if (reader.TokenType is not (JsonTokenType.EndObject or JsonTokenType.Null))
        {
            throw new JsonException($"Unexpected {reader.TokenType} in the event object.");
        }
        if (reader.Read())
        {
            throw new JsonException("Text after the event object.");
        }
    }

    private static string? String(ref Utf8JsonReader reader) => reader.TokenType switch
    {
        JsonTokenType.String => reader.GetString(),
        JsonTokenType.Null => null,
        _ => throw new JsonException($"A {reader.TokenType} where a string belongs."),
    };

    private static int Int32(ref Utf8JsonReader reader) =>
        reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var value)
            ? value
            : throw new JsonException($"A {reader.TokenType} where a 32-bit integer belongs.");

    private static DateTimeOffset Time(ref Utf8JsonReader reader) =>
        reader.TokenType == JsonTokenType.String && reader.TryGetDateTimeOffset(out var value)
            ? value
            : throw new JsonException($"A {reader.TokenType} where an ISO 8601 time belongs.");
}
