using System.Text;
using System.Text.Json;
using Mutt.Core.Events;
using Mutt.Ingestor.Syslog;

namespace Mutt.Tests.Unit;

/// <summary>
/// The Alerter's reader of queue items binds what <c>JsonSerializer</c> with <see cref="MuttJsonContext"/>
/// binds and refuses what it refuses; of the unbound fields it keeps only those a consumer reads.
/// </summary>
[Trait("Category", "Unit")]
public sealed class MuttEventReaderTests
{
    public static TheoryData<string> Items => new()
    {
        """{"timestamp":"2025-06-01T12:00:00Z","message":"LINK DOWN","hostname":"core-r1","correlation_id":"c1","received_at":"2025-06-01T12:00:00.123456Z"}""",
        """{"message":"m","hostname":"h","syslog_severity":3,"trap_oid":null,"retry_count":2,"traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}""",
        """{"message":"m","custom":{"a":[1,2,{"b":null}]},"facility":20,"labels":{"alertname":"X","severity":"critical"},"stable_key":"alertmanager:ab12","alert_status":"resolved"}""",
        """{"message":"caf\u00e9 \"quoted\" \\ back","host\u006eame":"esc-name","source":"rest"}""",
        """{"message":"first","message":"second"}""",
        """{}""",
        """ {"message":"spaces around"} """,
        "null",
        // Refused by both: the wrong type for a bound field, not an object, not JSON.
        """{"message":"m","syslog_severity":"3"}""",
        """{"message":5}""",
        """{"retry_count":null}""",
        """{"retry_count":1.5}""",
        """{"received_at":"yesterday"}""",
        """{"syslog_severity":3000000000}""",
        """["an","array"]""",
        "\"a string\"",
        """{"message":"m"} trailing""",
        """{"message":"m",}""",
        """{"message":"unclosed""",
        "",
    };

    [Theory]
    [MemberData(nameof(Items))]
    public void Binds_and_refuses_as_the_serializer_does(string item)
    {
        var bytes = Encoding.UTF8.GetBytes(item);
        var expected = Outcome(() => JsonSerializer.Deserialize(bytes, MuttJsonContext.Default.MuttEvent));
        var actual = Outcome(() => MuttEventReader.Read(bytes));
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void A_syslog_item_s_own_fields_are_skipped_and_the_fields_consumers_read_are_kept()
    {
        var message = SyslogParser.Parse("<189>1 2025-06-01T12:00:00Z sw-1 ifmgr 1234 LINK [ex@1 a=\"b\"] keepalive ok"u8, DateTimeOffset.UtcNow);
        var syslog = MuttEventReader.Read(SyslogEventWriter.Write(message, "10.0.0.9", DateTimeOffset.UtcNow, truncated: false, "tcp"))!;
        Assert.Equal(("keepalive ok", "sw-1", "syslog", 5), (syslog.Message, syslog.Hostname, syslog.Source, syslog.SyslogSeverity));
        Assert.Null(syslog.Extra);

        var webhook = MuttEventReader.Read(
            """{"message":"m","labels":{"team":"NETO"},"stable_key":"alertmanager:ab12","alert_status":"resolved","annotations":{"x":"y"}}"""u8)!;
        Assert.Equal(("alertmanager:ab12", true, "NETO"), (webhook.StableKey, webhook.IsClear, webhook.Label("team")));
        Assert.Equal(["alert_status", "labels", "stable_key"], webhook.Extra!.Keys.Order(StringComparer.Ordinal));
    }

    /// <summary>The bound fields and the kept extension fields as text, or that it was refused.</summary>
    private static string Outcome(Func<MuttEvent?> read)
    {
        MuttEvent? evt;
        try
        {
            evt = read();
        }
        catch (JsonException)
        {
            return "refused";
        }
        if (evt is null)
        {
            return "null";
        }
        var kept = evt.Extra?.Where(e => e.Key is EnvelopeFields.StableKey or EnvelopeFields.AlertStatus or EnvelopeFields.Labels)
            .OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => $"{e.Key}={e.Value.GetRawText()}");
        return string.Join("|", evt.Timestamp, evt.Message, evt.Hostname, evt.Source, evt.SyslogSeverity, evt.TrapOid, evt.CorrelationId,
            evt.ReceivedAt?.ToString("O"), evt.RetryCount, evt.TraceParent, string.Join(",", kept ?? []));
    }
}
