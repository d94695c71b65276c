using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Mutt.Core.Events;

namespace Mutt.Core.Webhooks;

/// <summary>
/// One MUTT event made from a webhook source's alert (Alertmanager, Grafana, a mapped JSON source)
/// before it gets its envelope. The source's own JSON (labels, annotations, the original item) is
/// kept as <see cref="JsonElement"/>s and written verbatim: nothing the sender said is lost.
/// </summary>
public sealed class WebhookEvent
{
    /// <summary>ISO 8601, UTC (normalised: sources send up to nanoseconds, which .NET does not parse).</summary>
    public required string Timestamp { get; init; }
    public required string Message { get; init; }
    public required string Hostname { get; init; }
    public required string Source { get; init; }
    public int? SyslogSeverity { get; init; }
    public string? TrapOid { get; init; }
    public string? StableKey { get; init; }
    /// <summary><see cref="EnvelopeFields.Firing"/>, <see cref="EnvelopeFields.Resolved"/> or null (the source does not say).</summary>
    public string? AlertStatus { get; init; }
    public JsonElement? Labels { get; init; }
    public JsonElement? Annotations { get; init; }
    /// <summary>Further fields of the source, by their MUTT name (e.g. <c>generator_url</c>, <c>payload</c>).</summary>
    public List<KeyValuePair<string, JsonElement>> Extra { get; } = new(8);
    /// <summary>A correlation id the adapter derived (resend-stable); null: the writer's caller picks one.</summary>
    public string? CorrelationId { get; init; }
}

/// <summary>
/// Writes a <see cref="WebhookEvent"/> as an ingest-queue item: spec 004's Event Message fields and
/// the envelope through <see cref="EnvelopeWriter"/> (the one writer of every intake path), with the
/// webhook fields (<see cref="EnvelopeFields"/>) between them. Pure; the Dashboard's
/// mapping tester calls it too, so what it shows is what the Ingestor enqueues.
/// </summary>
public static class WebhookEventWriter
{
    public static byte[] Write(WebhookEvent e, string correlationId, string receivedText, string? traceParent, ArrayBufferWriter<byte> output, Utf8JsonWriter json)
    {
        output.ResetWrittenCount();
        json.Reset(output);
        json.WriteStartObject();
        EnvelopeWriter.WriteEventFields(json, e.Timestamp, e.Message, e.Hostname, e.Source, e.SyslogSeverity, e.TrapOid);
        if (e.StableKey is not null)
        {
            json.WriteString(EnvelopeFields.StableKey, e.StableKey);
        }
        if (e.AlertStatus is not null)
        {
            json.WriteString(EnvelopeFields.AlertStatus, e.AlertStatus);
        }
        if (e.Labels is { } labels)
        {
            WriteVerbatim(json, EnvelopeFields.Labels, labels);
        }
        if (e.Annotations is { } annotations)
        {
            WriteVerbatim(json, EnvelopeFields.Annotations, annotations);
        }
        foreach (var (name, value) in e.Extra)
        {
            WriteVerbatim(json, name, value);
        }
        EnvelopeWriter.WriteEnvelope(json, correlationId, receivedText, traceParent);
        json.WriteEndObject();
        json.Flush();
        return output.WrittenSpan.ToArray();
    }

    /// <summary>
    /// The sender's JSON copied as its bytes: the document it comes from was parsed (hence validated)
    /// already, and copying beats rewriting it token by token on the webhook hot path.
    /// </summary>
    private static void WriteVerbatim(Utf8JsonWriter json, string name, JsonElement value)
    {
        json.WritePropertyName(name);
        json.WriteRawValue(System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(value), skipInputValidation: true);
    }
}
