using System.Text;
using System.Text.Json;
using Mutt.Alerter.Processing;
using Mutt.Core.DeadLetters;
using Mutt.Core.Events;
using Mutt.Core.Rules;
using Mutt.Ingestor.Ingest;
using Mutt.Ingestor.Snmp;
using Mutt.Ingestor.Syslog;

namespace Mutt.Tests.Unit;

/// <summary>
/// The limits on input (hostname ≤ 253 characters, MAX_MESSAGE_BYTES, a timestamp the audit
/// partitions can take) as each entry point applies them: the REST parser refuses with the field
/// named, syslog and SNMP keep the frame as a parse error, the Alerter dead-letters a replayed envelope.
/// </summary>
[Trait("Category", "Unit")]
public sealed class EventLimitsTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);
    private static readonly EventLimits Limits = new() { MaxMessageBytes = 100, MaxAgeDays = 2557, MaxFutureDays = 31 };
    private static readonly BatchLimits Rest = new(["timestamp", "message", "hostname"], 32, 100, Limits);

    private static ParsedBatch Parse(string body, bool ndjson = false) => EventBatchParser.Parse(Encoding.UTF8.GetBytes(body), ndjson, Rest, null, Now);

    private static string Event(string hostname = "core-router-01", string message = "LINK-DOWN", string timestamp = "2026-12-06T11:00:00Z") =>
        JsonSerializer.Serialize(new { timestamp, message, hostname });

    [Fact]
    public void Rest_accepts_an_event_at_every_limit()
    {
        var batch = Parse($"[{Event(hostname: new string('h', 253))},{Event(message: new string('m', 100))},{Event(message: new string('é', 50))}," +
            $"{Event(timestamp: "2019-12-06T12:00:00Z")},{Event(timestamp: "2027-01-06T11:00:00Z")}]");
        Assert.Equal(BatchOutcome.Accepted, batch.Outcome);
        Assert.Equal(5, batch.Items.Count);
    }

    [Theory]
    [InlineData(254, "hostname", "must be at most 253 characters (is 254)")]
    [InlineData(5000, "hostname", "must be at most 253 characters (is 5000)")]
    public void Rest_refuses_a_hostname_over_253_characters_naming_the_field(int length, string field, string error)
    {
        var batch = Parse($"[{Event()},{Event(hostname: new string('h', length))}]");
        Assert.Equal(BatchOutcome.Invalid, batch.Outcome);
        Assert.Equal([error], batch.Errors[$"[1].{field}"]);
        Assert.Empty(batch.Items);
    }

    [Fact]
    public void Rest_measures_decoded_text_not_escapes()
    {
        // 200 escaped characters are 1200 raw bytes but 200 characters; 50 escaped 'é' are 300 raw bytes but 100 bytes of UTF-8.
        var escaped = string.Concat(Enumerable.Repeat("\\u0061", 200));
        var batch = Parse($$"""{"timestamp":"2026-12-06T11:00:00Z","message":"{{string.Concat(Enumerable.Repeat("\\u00e9", 50))}}","hostname":"{{escaped}}"}""");
        Assert.True(batch.Outcome == BatchOutcome.Accepted, string.Join("; ", batch.Errors.Select(e => $"{e.Key}: {string.Join(", ", e.Value)}")));
    }

    [Theory]
    [InlineData(101, 'm')]
    [InlineData(51, 'é')] // 102 bytes of UTF-8 in 51 characters
    public void Rest_refuses_a_message_over_MAX_MESSAGE_BYTES(int count, char c)
    {
        var batch = Parse(Event(message: new string(c, count)));
        Assert.Equal(BatchOutcome.Invalid, batch.Outcome);
        var error = Assert.Single(batch.Errors["message"]);
        Assert.StartsWith("must be at most 100 bytes of UTF-8 (MAX_MESSAGE_BYTES;", error);
    }

    [Theory]
    [InlineData("0001-01-01T00:00:00Z")]
    [InlineData("9999-12-31T23:59:59Z")]
    [InlineData("2019-12-06T11:59:59Z")] // a second more than 2557 days old
    [InlineData("2027-01-07T12:00:01Z")] // 31 days and a second ahead
    public void Rest_refuses_a_timestamp_no_partition_can_take(string timestamp)
    {
        var batch = Parse($"{Event()}\n{Event(timestamp: timestamp)}\n", ndjson: true);
        Assert.Equal(BatchOutcome.Invalid, batch.Outcome);
        Assert.Equal(["must lie between 2019-12-06 and 2027-01-06 (EVENT_TIMESTAMP_MAX_AGE_DAYS=2557, EVENT_TIMESTAMP_MAX_FUTURE_DAYS=31)"],
            batch.Errors["[1].timestamp"]);
    }

    [Fact]
    public void Syslog_hostname_over_253_is_a_parse_error_that_keeps_the_whole_frame()
    {
        var frame = $"<165>1 2026-12-06T11:00:00Z {new string('h', 300)} app - - - LINK-DOWN ge-0/0/1";
        var parsed = SyslogParser.Parse(frame, Now, EventLimits.Default);
        Assert.Equal("hostname must be at most 253 characters (is 300)", parsed.ParseError);
        Assert.Equal(frame, parsed.Message);
        Assert.Equal("raw", parsed.Format);
        Assert.Equal(5, parsed.Severity);
        var evt = JsonSerializer.Deserialize(SyslogEventWriter.Write(parsed, "192.0.2.7", Now, false, "udp"), MuttJsonContext.Default.MuttEvent)!;
        Assert.Equal("192.0.2.7", evt.Hostname);
        Assert.Null(EventLimits.Default.Check(evt, evt.EventTimeUtc(), Now));
    }

    [Fact]
    public void Syslog_timestamp_out_of_range_is_a_parse_error_and_the_receive_time_stands_in()
    {
        var frame = "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - 'su root' failed";
        var parsed = SyslogParser.Parse(frame, Now, EventLimits.Default);
        Assert.StartsWith("timestamp 2003-10-11T22:14:15.003+00:00 must lie between", parsed.ParseError);
        Assert.Equal(frame, parsed.Message);
        Assert.Null(parsed.Timestamp);
        var evt = JsonSerializer.Deserialize(SyslogEventWriter.Write(parsed, "192.0.2.7", Now, false, "tcp"), MuttJsonContext.Default.MuttEvent)!;
        Assert.Equal(Now.UtcDateTime, evt.EventTimeUtc());
        // Without limits (the parser alone) the same frame parses as before.
        Assert.Null(SyslogParser.Parse(frame, Now).ParseError);
    }

    [Fact]
    public void Syslog_message_over_MAX_MESSAGE_BYTES_is_cut_marked_truncated_and_a_parse_error()
    {
        var frame = "<14>Dec  6 11:00:00 edge-01 app: " + new string('x', 150);
        var parsed = SyslogParser.Parse(frame, Now, Limits);
        Assert.Equal(100, parsed.Message.Length);
        Assert.True(parsed.MessageCut);
        Assert.Equal("message must be at most 100 bytes of UTF-8 (MAX_MESSAGE_BYTES; is 150); cut", parsed.ParseError);
        var json = JsonDocument.Parse(SyslogEventWriter.Write(parsed, "192.0.2.7", Now, false, "relp")).RootElement;
        Assert.True(json.GetProperty("truncated").GetBoolean());
        Assert.Equal("edge-01", json.GetProperty("hostname").GetString());
    }

    [Fact]
    public void Snmp_summary_over_MAX_MESSAGE_BYTES_is_cut_and_every_varbind_kept()
    {
        var trap = new SnmpTrap { Version = "v2c", PduType = "trap", TrapOid = "1.3.6.1.6.3.1.1.5.3" };
        for (var i = 0; i < 20; i++)
        {
            trap.Varbinds.Add(new SnmpVarbind($"1.3.6.1.2.1.2.2.1.{i}", "OctetString", "ifDescr ge-0/0/" + i));
        }
        var json = JsonDocument.Parse(SnmpEventWriter.Write(trap, "192.0.2.9", Now, null, null, Limits, out var parseError)).RootElement;
        Assert.NotNull(parseError);
        Assert.StartsWith("message must be at most 100 bytes", json.GetProperty("parse_error").GetString());
        Assert.Equal(100, Encoding.UTF8.GetByteCount(json.GetProperty("message").GetString()!));
        Assert.True(json.GetProperty("truncated").GetBoolean());
        Assert.Equal(20, json.GetProperty("varbinds").GetArrayLength());

        SnmpEventWriter.Write(trap, "192.0.2.9", Now, null, null, EventLimits.Default, out var none);
        Assert.Null(none);
    }

    [Fact]
    public void Cut_never_splits_a_character()
    {
        var limits = new EventLimits { MaxMessageBytes = 5 };
        Assert.Equal("ab", limits.Cut("ab😀c")); // the emoji is 4 bytes: 2 + 4 > 5
        Assert.Equal("éé", limits.Cut("ééé")); // 2 + 2 + 2 > 5
        Assert.Equal("abcde", limits.Cut("abcdef"));
    }

    [Fact]
    public void Alerter_dead_letters_a_replayed_envelope_that_breaks_a_limit_and_audits_the_rest()
    {
        var planner = new BatchPlanner("pod", "mutt:ingest_queue", 3, Limits, new FixedClock(Now));
        var plan = planner.Plan(
        [
            Event(),
            Event(hostname: new string('h', 254)),
            Event(message: new string('m', 101)),
            Event(timestamp: "9999-01-01T00:00:00Z"),
            """{"hostname":"h","message":"m","timestamp":"not a time","received_at":"2026-12-06T11:59:00Z"}""",
        ], RuleSet.Empty);

        Assert.Equal(3, plan.Invalid);
        Assert.Equal(2, plan.Items.Count);
        Assert.Equal(3, plan.DeadLetters.Count);
        var letters = plan.DeadLetters.Select(d => JsonSerializer.Deserialize(d, MuttJsonContext.Default.DeadLetter)!).ToList();
        Assert.All(letters, l => Assert.Equal(BatchPlanner.ValidationReason, l.Reason));
        Assert.All(letters, l => Assert.True(DeadLetterPolicy.IsPermanent(l)));
        Assert.Equal(["hostname", "message", "timestamp"], letters.Select(l => l.Error![..l.Error!.IndexOf(':')]));
        Assert.Equal(Event(hostname: new string('h', 254)), letters[0].Payload);
    }

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
