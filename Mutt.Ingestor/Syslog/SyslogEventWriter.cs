using System.Buffers;
using System.Text.Json;
using Mutt.Core.Events;

namespace Mutt.Ingestor.Syslog;

/// <summary>Builds the ingest-queue item (spec 004 Event Message + syslog fields) for a parsed message. Pure.</summary>
public static class SyslogEventWriter
{
    /// <param name="traceParent">The listener span's W3C traceparent (null: not traced, no field).</param>
    /// <param name="correlationId">A stable id (e.g. derived from a RELP frame, so a resend maps to the same audit row); null: a new GUID.</param>
    public static byte[] Write(SyslogMessage message, string sender, DateTimeOffset receivedAt, bool truncated, string transport, string? traceParent = null,
        string? correlationId = null)
    {
        var output = new ArrayBufferWriter<byte>(256 + message.Message.Length);
        using (var json = new Utf8JsonWriter(output))
        {
            var received = EnvelopeWriter.FormatReceivedAt(receivedAt);
            json.WriteStartObject();
            EnvelopeWriter.WriteEventFields(json, message.Timestamp ?? received, message.Message, message.Hostname ?? sender, "syslog", message.Severity);
            EnvelopeWriter.WriteEnvelope(json, correlationId ?? Guid.NewGuid().ToString(), received, traceParent);
            if (message.Facility is { } facility)
            {
                json.WriteNumber("facility", facility);
            }
            WriteIfSet(json, "app_name", message.AppName);
            WriteIfSet(json, "procid", message.ProcId);
            WriteIfSet(json, "msgid", message.MsgId);
            if (message.StructuredData is { Count: > 0 } sd)
            {
                json.WriteStartObject("structured_data");
                foreach (var (id, parameters) in sd)
                {
                    json.WriteStartObject(id);
                    foreach (var (name, value) in parameters)
                    {
                        json.WriteString(name, value);
                    }
                    json.WriteEndObject();
                }
                json.WriteEndObject();
            }
            json.WriteString("syslog_format", message.Format);
            json.WriteString("transport", transport);
            json.WriteString("sender", sender);
            WriteIfSet(json, "parse_error", message.ParseError);
            if (truncated || message.MessageCut)
            {
                json.WriteBoolean("truncated", true);
            }
            json.WriteEndObject();
        }
        return output.WrittenSpan.ToArray();
    }

    private static void WriteIfSet(Utf8JsonWriter json, string name, string? value)
    {
        if (value is not null)
        {
            json.WriteString(name, value);
        }
    }
}
