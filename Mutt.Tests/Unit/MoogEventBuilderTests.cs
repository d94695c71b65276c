using System.Text.Json;
using Mutt.Core.Events;
using Mutt.Forwarder.Moogsoft;
using Mutt.Core.Rules;

namespace Mutt.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class MoogEventBuilderTests
{
    private static AlertMessage Alert(string correlationId = "c-1", int? severity = 3, string handling = Handling.TicketOnly) => new()
    {
        CorrelationId = correlationId,
        Hostname = "core-sw-01",
        Message = "LINK DOWN on Gi0/1",
        SyslogSeverity = severity,
        Team = "netops",
        Handling = handling,
        RuleId = 7,
        Environment = "prod",
        EventTimestamp = new DateTimeOffset(2025, 11, 3, 10, 0, 0, TimeSpan.Zero),
    };

    [Fact]
    public void Payload_has_every_LAM_field_with_the_right_values()
    {
        var request = new MoogRequest { Events = [MoogEventBuilder.Build(Alert(), "fwd-host")] };
        using var doc = JsonDocument.Parse(JsonSerializer.SerializeToUtf8Bytes(request, MoogJsonContext.Default.MoogRequest));
        var e = doc.RootElement.GetProperty("events")[0];
        Assert.StartsWith("mutt:", e.GetProperty("signature").GetString());
        Assert.Equal("core-sw-01", e.GetProperty("source_id").GetString());
        Assert.Equal("c-1", e.GetProperty("external_id").GetString());
        Assert.Equal("MUTT", e.GetProperty("manager").GetString());
        Assert.Equal("core-sw-01", e.GetProperty("source").GetString());
        Assert.Equal("netops", e.GetProperty("class").GetString());
        Assert.Equal("MUTT", e.GetProperty("agent").GetString());
        Assert.Equal("fwd-host", e.GetProperty("agent_location").GetString());
        Assert.Equal("SYSLOG", e.GetProperty("type").GetString());
        Assert.Equal(4, e.GetProperty("severity").GetInt32());
        Assert.Equal("LINK DOWN on Gi0/1", e.GetProperty("description").GetString());
        Assert.Equal(new DateTimeOffset(2025, 11, 3, 10, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds(), e.GetProperty("agent_time").GetInt64());
        var custom = e.GetProperty("custom_info");
        Assert.Equal("netops", custom.GetProperty("team").GetString());
        Assert.Equal(Handling.TicketOnly, custom.GetProperty("handling").GetString());
        Assert.Equal(7, custom.GetProperty("rule_id").GetInt32());
        Assert.Equal("c-1", custom.GetProperty("correlation_id").GetString());
        Assert.Equal("prod", custom.GetProperty("environment").GetString());
    }

    [Theory]
    [InlineData(0, 5)]
    [InlineData(1, 5)]
    [InlineData(2, 5)]
    [InlineData(3, 4)]
    [InlineData(4, 3)]
    [InlineData(5, 2)]
    [InlineData(6, 2)]
    [InlineData(7, 1)]
    [InlineData(null, 1)]
    public void Syslog_severity_maps_to_moogsoft_severity(int? syslog, int moog) =>
        Assert.Equal(moog, MoogEventBuilder.Severity(syslog, Handling.TicketOnly));

    [Theory]
    [InlineData(6, 4)]
    [InlineData(null, 4)]
    [InlineData(1, 5)]
    public void Paging_rules_raise_severity_to_at_least_major(int? syslog, int moog) =>
        Assert.Equal(moog, MoogEventBuilder.Severity(syslog, Handling.PageAndTicket));

    [Fact]
    public void Signature_is_stable_for_the_same_alert_and_unique_per_correlation_id()
    {
        var first = MoogEventBuilder.Signature(Alert("c-1"));
        var replayed = JsonSerializer.Deserialize(JsonSerializer.Serialize(Alert("c-1"), MuttJsonContext.Default.AlertMessage), MuttJsonContext.Default.AlertMessage)!;
        replayed.RetryCount = 3;
        Assert.Equal(first, MoogEventBuilder.Signature(replayed));
        Assert.NotEqual(first, MoogEventBuilder.Signature(Alert("c-2")));
    }
}
