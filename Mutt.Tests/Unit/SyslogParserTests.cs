using System.Text;
using Mutt.Ingestor.Syslog;

namespace Mutt.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class SyslogParserTests
{
    private static readonly DateTimeOffset Received = new(2025, 3, 15, 12, 0, 0, TimeSpan.Zero);

    // text, format, severity, facility, hostname, app, procid, msgid, timestamp, message, parse error?
    public static Table Messages => new()
    {
        // RFC 5424 examples (§6.5) and real senders
        { "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - BOM'su root' failed for lonvick on /dev/pts/8",
            "rfc5424", 2, 4, "mymachine.example.com", "su", null, "ID47", "2003-10-11T22:14:15.003+00:00", "BOM'su root' failed for lonvick on /dev/pts/8", false },
        { "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.",
            "rfc5424", 5, 20, "192.0.2.1", "myproc", "8710", null, "2003-08-24T05:14:15.000003-07:00", "%% It's time to make the do-nuts.", false },
        { "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"] An application event",
            "rfc5424", 5, 20, "mymachine.example.com", "evntslog", null, "ID47", "2003-10-11T22:14:15.003+00:00", "An application event", false },
        { "<13>1 2025-03-15T11:59:58.123456+00:00 host1 myapp 4242 - [timeQuality tzKnown=\"1\" isSynced=\"0\"] hello world",
            "rfc5424", 5, 1, "host1", "myapp", "4242", null, "2025-03-15T11:59:58.123456+00:00", "hello world", false },
        { "<14>1 - - - - - -", "rfc5424", 6, 1, null, null, null, null, null, "", false },
        { "<14>1 2025-03-15T11:59:58Z host app - - - \uFEFFwith BOM", "rfc5424", 6, 1, "host", "app", null, null, "2025-03-15T11:59:58+00:00", "with BOM", false },
        // RFC 3164 and BSD-style
        { "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
            "rfc3164", 2, 4, "mymachine", "su", null, null, "2024-10-11T22:14:15+00:00", "'su root' failed for lonvick on /dev/pts/8", false },
        { "<13>Mar  1 08:09:10 router-1 sshd[1234]: Accepted publickey for admin",
            "rfc3164", 5, 1, "router-1", "sshd", "1234", null, "2025-03-01T08:09:10+00:00", "Accepted publickey for admin", false },
        { "<189>Mar 15 11:00:00 core-sw %LINK-3-UPDOWN: Interface Gi0/1, changed state to down",
            "rfc3164", 5, 23, "core-sw", null, null, null, "2025-03-15T11:00:00+00:00", "%LINK-3-UPDOWN: Interface Gi0/1, changed state to down", false },
        { "<30>Mar 15 11:00:00 systemd[1]: Started Session 5.", "rfc3164", 6, 3, null, "systemd", "1", null, "2025-03-15T11:00:00+00:00", "Started Session 5.", false },
        { "<13>2025-03-15T10:00:00.5+01:00 web01 nginx: GET / 200", "rfc3164", 5, 1, "web01", "nginx", null, null, "2025-03-15T10:00:00.5+01:00", "GET / 200", false },
        // /var/log/messages lines without PRI
        { "Mar 15 11:22:33 db01 kernel: Out of memory: Killed process 999", "rfc3164", null, null, "db01", "kernel", null, null, "2025-03-15T11:22:33+00:00", "Out of memory: Killed process 999", false },
        // PRI but no timestamp (RFC 3164 §4.3.3: the rest is the message) — Cisco sequence numbers
        { "<187>123: *Mar  1 00:00:10.123: %SYS-3-CPUHOG: Task ran for 2004 msec", "rfc3164", 3, 23, null, null, null, null, null, "123: *Mar  1 00:00:10.123: %SYS-3-CPUHOG: Task ran for 2004 msec", false },
        // Malformed: kept raw with a parse error
        { "just some text", "raw", null, null, null, null, null, null, null, "just some text", true },
        { "<999>1 2025-03-15T11:59:58Z host app - - - x", "raw", null, null, null, null, null, null, null, "<999>1 2025-03-15T11:59:58Z host app - - - x", true },
        { "<abc>hello", "raw", null, null, null, null, null, null, null, "<abc>hello", true },
        { "<13>1 notatime host app - - - x", "raw", 5, 1, null, null, null, null, null, "<13>1 notatime host app - - - x", true },
        { "<13>1 2025-03-15T11:59:58Z host app - - [broken sd", "raw", 5, 1, null, null, null, null, null, "<13>1 2025-03-15T11:59:58Z host app - - [broken sd", true },
    };

    public sealed class Table : List<object?[]>
    {
        public new void Add(params object?[] row) => base.Add(row);
    }

    [Theory]
    [MemberData(nameof(Messages))]
    public void Parses_real_world_syslog_messages(string text, string format, int? severity, int? facility, string? hostname, string? app,
        string? procId, string? msgId, string? timestamp, string message, bool parseError)
    {
        var parsed = SyslogParser.Parse(Encoding.UTF8.GetBytes(text + "\n"), Received);

        Assert.Equal(format, parsed.Format);
        Assert.Equal(severity, parsed.Severity);
        Assert.Equal(facility, parsed.Facility);
        Assert.Equal(hostname, parsed.Hostname);
        Assert.Equal(app, parsed.AppName);
        Assert.Equal(procId, parsed.ProcId);
        Assert.Equal(msgId, parsed.MsgId);
        Assert.Equal(timestamp, parsed.Timestamp);
        Assert.Equal(message, parsed.Message);
        Assert.Equal(parseError, parsed.ParseError is not null);
    }

    [Fact]
    public void Structured_data_elements_and_escapes_are_decoded()
    {
        var parsed = SyslogParser.Parse(
            "<165>1 2003-10-11T22:14:15.003Z host app - ID47 [exampleSDID@32473 iut=\"3\" note=\"a \\\"quoted\\\" \\] value\"][examplePriority@32473 class=\"high\"] msg",
            Received);

        Assert.NotNull(parsed.StructuredData);
        Assert.Equal("3", parsed.StructuredData["exampleSDID@32473"]["iut"]);
        Assert.Equal("a \"quoted\" ] value", parsed.StructuredData["exampleSDID@32473"]["note"]);
        Assert.Equal("high", parsed.StructuredData["examplePriority@32473"]["class"]);
        Assert.Equal("msg", parsed.Message);
    }

    [Fact]
    public void December_message_received_in_january_belongs_to_last_year()
    {
        var parsed = SyslogParser.Parse("<13>Dec 31 23:59:59 host app: late", new DateTimeOffset(2026, 1, 1, 0, 0, 5, TimeSpan.Zero));
        Assert.Equal("2025-12-31T23:59:59+00:00", parsed.Timestamp);
    }

    [Fact]
    public void Event_json_carries_syslog_fields_and_deserializes_as_MuttEvent()
    {
        var parsed = SyslogParser.Parse("<165>1 2003-10-11T22:14:15.003Z host1 evntslog 77 ID47 [ex@1 a=\"b\"] An application event", Received);
        var json = SyslogEventWriter.Write(parsed, "10.0.0.9", Received, truncated: true, "tcp");

        var evt = System.Text.Json.JsonSerializer.Deserialize(json, Mutt.Core.Events.MuttJsonContext.Default.MuttEvent)!;
        Assert.Equal("host1", evt.Hostname);
        Assert.Equal("An application event", evt.Message);
        Assert.Equal(5, evt.SyslogSeverity);
        Assert.Equal("syslog", evt.Source);
        Assert.False(string.IsNullOrEmpty(evt.CorrelationId));
        Assert.Equal(Received, evt.ReceivedAt);
        Assert.Equal(20, evt.Extra!["facility"].GetInt32());
        Assert.Equal("evntslog", evt.Extra["app_name"].GetString());
        Assert.Equal("77", evt.Extra["procid"].GetString());
        Assert.Equal("ID47", evt.Extra["msgid"].GetString());
        Assert.Equal("b", evt.Extra["structured_data"].GetProperty("ex@1").GetProperty("a").GetString());
        Assert.Equal("10.0.0.9", evt.Extra["sender"].GetString());
        Assert.True(evt.Extra["truncated"].GetBoolean());
    }

    [Fact]
    public void Unparseable_line_becomes_an_event_from_the_sender_with_parse_error()
    {
        var parsed = SyslogParser.Parse("garbage \u0001 line", Received);
        var evt = System.Text.Json.JsonSerializer.Deserialize(SyslogEventWriter.Write(parsed, "192.0.2.7", Received, false, "udp"),
            Mutt.Core.Events.MuttJsonContext.Default.MuttEvent)!;
        Assert.Equal("192.0.2.7", evt.Hostname);
        Assert.Equal("garbage \u0001 line", evt.Message);
        Assert.NotNull(evt.Timestamp);
        Assert.True(evt.Extra!.ContainsKey("parse_error"));
    }
}
