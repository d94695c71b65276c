using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Mutt.Core.Events;

/// <summary>
/// Writes ingest-queue items, the one way for every intake path (REST, syslog over UDP/TCP/TLS/RELP,
/// SNMP): the spec's event fields (<see cref="WriteEventFields"/>) for events MUTT builds itself, and
/// the envelope MUTT owns (<see cref="WriteEnvelope"/>, or <see cref="TryAppendEnvelope"/> onto a REST
/// sender's own bytes). <see cref="MuttEvent"/> reads what this writes. Pure.
/// </summary>
public static class EnvelopeWriter
{
    /// <summary>The <c>received_at</c> format: UTC with microseconds, e.g. 2025-06-01T12:00:00.123456Z.</summary>
    public const string ReceivedAtFormat = "yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'";

    private static readonly string[] ReservedFields = [.. EnvelopeFields.Reserved];
    private static readonly byte[] CorrelationIdPrefix = Encoding.ASCII.GetBytes($",\"{EnvelopeFields.CorrelationId}\":\"");
    private static readonly byte[] ReceivedAtPrefix = Encoding.ASCII.GetBytes($"\",\"{EnvelopeFields.ReceivedAt}\":\"");
    private static readonly byte[] TraceParentPrefix = Encoding.ASCII.GetBytes($"\",\"{EnvelopeFields.TraceParent}\":\"");

    public static string FormatReceivedAt(DateTimeOffset receivedAt) =>
        receivedAt.UtcDateTime.ToString(ReceivedAtFormat, CultureInfo.InvariantCulture);

    /// <summary>Is <paramref name="field"/> one MUTT sets itself (a sender's value for it is dropped)?</summary>
    public static bool IsReserved(string field) => Array.IndexOf(ReservedFields, field) >= 0;

    /// <summary>Spec 004's Event Message fields of an event a listener built (the caller opened the object).</summary>
    public static void WriteEventFields(Utf8JsonWriter json, string timestamp, string message, string hostname, string source,
        int? syslogSeverity = null, string? trapOid = null)
    {
        json.WriteString(EnvelopeFields.Timestamp, timestamp);
        json.WriteString(EnvelopeFields.Message, message);
        json.WriteString(EnvelopeFields.Hostname, hostname);
        json.WriteString(EnvelopeFields.Source, source);
        if (syslogSeverity is { } severity)
        {
            json.WriteNumber(EnvelopeFields.SyslogSeverity, severity);
        }
        if (trapOid is not null)
        {
            json.WriteString(EnvelopeFields.TrapOid, trapOid);
        }
    }

    /// <summary>The fields MUTT owns in every item: <c>correlation_id</c>, <c>received_at</c>, and <c>traceparent</c> when traced.</summary>
    public static void WriteEnvelope(Utf8JsonWriter json, string correlationId, string receivedAt, string? traceParent)
    {
        json.WriteString(EnvelopeFields.CorrelationId, correlationId);
        json.WriteString(EnvelopeFields.ReceivedAt, receivedAt);
        if (traceParent is not null)
        {
            json.WriteString(EnvelopeFields.TraceParent, traceParent);
        }
    }

    /// <summary>
    /// The envelope appended to a sender's JSON object as it is, without re-serialising it (the REST
    /// hot path): its bytes up to the closing brace, then our fields. Only when no value needs
    /// escaping (every character printable ASCII other than '"' and '\'), the object is not empty
    /// and closes with '}'; otherwise false, and the caller writes the item with <see cref="WriteEnvelope"/>.
    /// The caller makes sure the object carries none of <see cref="EnvelopeFields.Reserved"/>.
    /// </summary>
    public static bool TryAppendEnvelope(ReadOnlySpan<byte> jsonObject, string correlationId, string receivedAt, string? traceParent, out byte[] item)
    {
        item = [];
        var close = jsonObject.Length - 1;
        if (close < 1 || jsonObject[close] != (byte)'}' || jsonObject[..close].TrimEnd(" \t\r\n"u8)[^1] == (byte)'{'
            || !IsPlain(correlationId) || !IsPlain(receivedAt) || (traceParent is not null && !IsPlain(traceParent)))
        {
            return false;
        }
        var length = close + CorrelationIdPrefix.Length + correlationId.Length + ReceivedAtPrefix.Length + receivedAt.Length + 2
            + (traceParent is null ? 0 : TraceParentPrefix.Length + traceParent.Length);
        item = new byte[length];
        var span = item.AsSpan();
        jsonObject[..close].CopyTo(span);
        var at = close;
        at += Append(span[at..], CorrelationIdPrefix, correlationId);
        at += Append(span[at..], ReceivedAtPrefix, receivedAt);
        if (traceParent is not null)
        {
            at += Append(span[at..], TraceParentPrefix, traceParent);
        }
        span[at++] = (byte)'"';
        span[at] = (byte)'}';
        return true;
    }

    private static int Append(Span<byte> destination, byte[] prefix, string value)
    {
        prefix.CopyTo(destination);
        return prefix.Length + Encoding.ASCII.GetBytes(value, destination[prefix.Length..]);
    }

    private static bool IsPlain(string value)
    {
        foreach (var c in value)
        {
            if (c is < ' ' or > '~' or '"' or '\\')
            {
                return false;
            }
        }
        return true;
    }
}
