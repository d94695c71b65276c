using System.Buffers;
using System.Text;
using System.Text.Json;
using Mutt.Core.Events;
using Mutt.Ingestor.Ingest;
using Mutt.Ingestor.Snmp;
using Mutt.Ingestor.Syslog;

namespace Mutt.Tests.Unit;

/// <summary>
/// One envelope for every intake path: what <see cref="EnvelopeWriter"/> writes (directly, or appended to a
/// REST sender's bytes) is what <see cref="MuttEvent"/> reads, with the same field names and time format
/// whether the event came over REST, syslog or SNMP.
/// </summary>
[Trait("Category", "Unit")]
public sealed class EnvelopeWriterTests
{
    private static readonly DateTimeOffset Received = new(2025, 6, 1, 12, 0, 0, 123, 456, TimeSpan.FromHours(2));
    private const string TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    private static MuttEvent Read(byte[] item) => JsonSerializer.Deserialize(item, MuttJsonContext.Default.MuttEvent)!;

    private static byte[] Write(Action<Utf8JsonWriter> body)
    {
        var output = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(output))
        {
            json.WriteStartObject();
            body(json);
            json.WriteEndObject();
        }
        return output.WrittenSpan.ToArray();
    }

    [Fact]
    public void Received_at_is_utc_with_microseconds_and_reads_back_as_the_same_instant()
    {
        var text = EnvelopeWriter.FormatReceivedAt(Received);
        Assert.Equal("2025-06-01T10:00:00.123456Z", text);
        var item = Write(json => EnvelopeWriter.WriteEnvelope(json, "c-1", text, null));
        Assert.Equal(Received, Read(item).ReceivedAt);
    }

    [Fact]
    public void Written_event_and_envelope_are_what_MuttEvent_reads()
    {
        var item = Write(json =>
        {
            EnvelopeWriter.WriteEventFields(json, "2025-06-01T09:59:59Z", "link down", "core-r1", "snmp", syslogSeverity: 2, trapOid: "1.3.6.1.6.3.1.1.5.3");
            EnvelopeWriter.WriteEnvelope(json, "c-2", EnvelopeWriter.FormatReceivedAt(Received), TraceParent);
        });
        var evt = Read(item);
        Assert.Equal(("2025-06-01T09:59:59Z", "link down", "core-r1", "snmp", 2, "1.3.6.1.6.3.1.1.5.3"),
            (evt.Timestamp, evt.Message, evt.Hostname, evt.Source, evt.SyslogSeverity, evt.TrapOid));
        Assert.Equal(("c-2", Received, TraceParent, 0), (evt.CorrelationId, evt.ReceivedAt, evt.TraceParent, evt.RetryCount));
        Assert.Null(evt.Extra);
    }

    [Fact]
    public void Optional_fields_are_left_out_not_written_as_null()
    {
        var item = Write(json =>
        {
            EnvelopeWriter.WriteEventFields(json, "t", "m", "h", "syslog");
            EnvelopeWriter.WriteEnvelope(json, "c", "r", traceParent: null);
        });
        using var document = JsonDocument.Parse(item);
        Assert.Equal(
            [EnvelopeFields.Timestamp, EnvelopeFields.Message, EnvelopeFields.Hostname, EnvelopeFields.Source, EnvelopeFields.CorrelationId, EnvelopeFields.ReceivedAt],
            document.RootElement.EnumerateObject().Select(p => p.Name));
    }

    [Theory]
    [InlineData("""{"message":"m","nested":{"a":[1,{"b":null}]}}""")]
    [InlineData("{\n  \"message\": \"caf\u00e9\"\n}\n")]
    public void Appending_keeps_the_senders_bytes_and_adds_each_envelope_field_once(string sender)
    {
        var raw = Encoding.UTF8.GetBytes(sender.TrimEnd('\n'));
        Assert.True(EnvelopeWriter.TryAppendEnvelope(raw, "c-3", "2025-06-01T10:00:00.123456Z", TraceParent, out var item));
        Assert.StartsWith(Encoding.UTF8.GetString(raw[..^1]), Encoding.UTF8.GetString(item), StringComparison.Ordinal);
        using var document = JsonDocument.Parse(item);
        var names = document.RootElement.EnumerateObject().Select(p => p.Name).ToList();
        Assert.Equal(names.Distinct(), names);
        var evt = Read(item);
        Assert.Equal(("c-3", Received, TraceParent), (evt.CorrelationId, evt.ReceivedAt, evt.TraceParent));
    }

    [Theory]
    [InlineData("{}", "c")] // an empty object: the first field would need no comma
    [InlineData("[1]", "c")] // not an object
    [InlineData("""{"message":"m"}""", "needs \"escaping\"")]
    [InlineData("""{"message":"m"}""", "caf\u00e9")]
    public void Appending_refuses_what_it_cannot_write_correctly_and_the_writer_then_serves(string sender, string correlationId)
    {
        Assert.False(EnvelopeWriter.TryAppendEnvelope(Encoding.UTF8.GetBytes(sender), correlationId, "r", null, out _));
    }

    [Fact]
    public void Every_reserved_field_is_one_the_Ingestor_replaces()
    {
        Assert.All(EnvelopeFields.Reserved, field => Assert.True(EnvelopeWriter.IsReserved(field)));
        Assert.False(EnvelopeWriter.IsReserved(EnvelopeFields.Message));
    }

    /// <summary>REST, syslog and SNMP items share the envelope: the same names, the same received_at text.</summary>
    [Fact]
    public void Rest_syslog_and_snmp_items_carry_the_same_envelope()
    {
        var received = EnvelopeWriter.FormatReceivedAt(Received);
        var rest = EventBatchParser.Parse("""{"timestamp":"2025-06-01T09:00:00Z","message":"m","hostname":"h"}"""u8.ToArray(), false,
            new BatchLimits([EnvelopeFields.Message], 32, 10), null, Received, TraceParent).Items.Single();
        var syslog = SyslogEventWriter.Write(new SyslogMessage { Message = "m", Format = "rfc3164" }, "10.0.0.1", Received, truncated: false, "udp", TraceParent, "c-syslog");
        var snmp = SnmpEventWriter.Write(new SnmpTrap { Version = "v2c", PduType = "trap", TrapOid = "1.3.6.1.6.3.1.1.5.3" }, "10.0.0.2", Received, TraceParent, "c-snmp");

        foreach (var (item, source) in new[] { (rest, (string?)null), (syslog, "syslog"), (snmp, "snmp") })
        {
            using var document = JsonDocument.Parse(item);
            var root = document.RootElement;
            Assert.Equal(received, root.GetProperty(EnvelopeFields.ReceivedAt).GetString());
            Assert.Equal(TraceParent, root.GetProperty(EnvelopeFields.TraceParent).GetString());
            Assert.False(string.IsNullOrEmpty(root.GetProperty(EnvelopeFields.CorrelationId).GetString()));
            Assert.False(string.IsNullOrEmpty(root.GetProperty(EnvelopeFields.Message).GetString()));
            Assert.False(string.IsNullOrEmpty(root.GetProperty(EnvelopeFields.Hostname).GetString()));
            if (source is not null)
            {
                Assert.Equal(source, root.GetProperty(EnvelopeFields.Source).GetString());
                Assert.Equal(received, root.GetProperty(EnvelopeFields.Timestamp).GetString());
            }
        }
    }
}
