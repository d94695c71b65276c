using System.Text;
using System.Text.Json;
using Mutt.Core.Webhooks;
using Mutt.Ingestor.Ingest;
using Mutt.Ingestor.Webhooks;

namespace Mutt.Tests.Unit;

/// <summary>Mapped JSON sources: paths, the severity map, timestamps, and a 400 naming every field that does not map.</summary>
[Trait("Category", "Unit")]
public sealed class MappedSourceTests
{
    private static readonly BatchLimits Limits = new(["timestamp", "message", "hostname"], 32, 100);
    private static readonly DateTimeOffset Now = new(2026, 11, 21, 9, 0, 0, TimeSpan.Zero);

    private static readonly WebhookMapping SolarWinds = new()
    {
        Name = "solarwinds",
        HostnamePath = "Node.Caption",
        MessagePath = "AlertMessage",
        SeverityPath = "Severity",
        SeverityMap = new() { ["Critical"] = 2, ["Warning"] = 4, ["Informational"] = 6 },
        TimestampPath = "TimeOfAlert",
        StableKeyPath = "AlertObjectID",
        LabelsPath = "CustomProperties",
    };

    private static ParsedBatch Parse(string body, WebhookMapping? mapping = null) =>
        MappedSourceParser.Parse(new IngestBody(Encoding.UTF8.GetBytes(body), false, Limits, null, Now, null), new MappedSource(mapping ?? SolarWinds));

    [Fact]
    public void A_solarwinds_alert_maps_every_configured_field_and_keeps_the_original()
    {
        var batch = Parse(AlertWebhookParserTests.Payload("solarwinds-alert.json"));

        Assert.Equal(BatchOutcome.Accepted, batch.Outcome);
        var e = JsonDocument.Parse(batch.Items[0]).RootElement;
        Assert.Equal("core-rtr-02", e.GetProperty("hostname").GetString());
        Assert.Equal("Node core-rtr-02 is Down (ICMP timeout).", e.GetProperty("message").GetString());
        Assert.Equal("solarwinds", e.GetProperty("source").GetString());
        Assert.Equal(2, e.GetProperty("syslog_severity").GetInt32());
        Assert.Equal("2026-11-21T08:30:05.0000000Z", e.GetProperty("timestamp").GetString());
        Assert.Equal("solarwinds:90210", e.GetProperty("stable_key").GetString());
        Assert.Equal("dc1", e.GetProperty("labels").GetProperty("site").GetString());
        Assert.Equal(4711, e.GetProperty("payload").GetProperty("AlertID").GetInt32());
        Assert.True(Guid.TryParse(e.GetProperty("correlation_id").GetString(), out _));
    }

    [Fact]
    public void An_array_is_a_batch_and_every_bad_item_is_named_by_index_and_field()
    {
        var batch = Parse("""
            [{"Node":{"Caption":"a"},"AlertMessage":"m","Severity":"Warning"},
             {"Node":{},"AlertMessage":"m","Severity":"Apocalyptic"},
             {"Node":{"Caption":"c"},"AlertMessage":{"nested":true},"TimeOfAlert":"soon"}]
            """);

        Assert.Equal(BatchOutcome.Invalid, batch.Outcome);
        Assert.Empty(batch.Items);
        Assert.Equal(["[1].hostname", "[1].syslog_severity", "[2].message", "[2].timestamp"], batch.Errors.Keys.Order());
        Assert.Contains("Node.Caption", batch.Errors["[1].hostname"][0], StringComparison.Ordinal);
        Assert.Contains("\"Apocalyptic\"", batch.Errors["[1].syslog_severity"][0], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\"critical\"", 2)] // the map, ignoring case
    [InlineData("3", 3)] // a syslog severity as a number
    [InlineData("\"error\"", 3)] // a known severity word
    public void Severity_comes_from_the_map_then_0_to_7_then_known_words(string value, int severity)
    {
        var batch = Parse($$"""{"Node":{"Caption":"h"},"AlertMessage":"m","Severity":{{value}}}""");
        Assert.Equal(severity, JsonDocument.Parse(batch.Items[0]).RootElement.GetProperty("syslog_severity").GetInt32());
    }

    [Theory]
    [InlineData("1700000000", "2023-11-14T22:13:20.0000000Z")]
    [InlineData("1700000000123", "2023-11-14T22:13:20.1230000Z")]
    [InlineData("\"2026-11-21T10:30:05+02:00\"", "2026-11-21T08:30:05.0000000Z")]
    public void Timestamps_are_iso_8601_or_unix_seconds_or_milliseconds(string value, string expected)
    {
        var batch = Parse($$"""{"Node":{"Caption":"h"},"AlertMessage":"m","TimeOfAlert":{{value}}}""");
        Assert.Equal(expected, JsonDocument.Parse(batch.Items[0]).RootElement.GetProperty("timestamp").GetString());
    }

    [Fact]
    public void Without_a_timestamp_the_receive_time_is_the_event_time()
    {
        var batch = Parse("""{"Node":{"Caption":"h"},"AlertMessage":"m"}""");
        var e = JsonDocument.Parse(batch.Items[0]).RootElement;
        Assert.Equal(e.GetProperty("received_at").GetString(), e.GetProperty("timestamp").GetString());
    }

    [Theory]
    [InlineData("items[0].host", true)]
    [InlineData("$.a.b", true)]
    [InlineData("[2].x", true)]
    [InlineData("a..b", false)]
    [InlineData("a.[0]", false)]
    [InlineData("a[x]", false)]
    [InlineData("", false)]
    public void Paths_parse_or_say_why_not(string path, bool valid) =>
        Assert.Equal(valid, JsonPath.TryParse(path, out _, out _));

    [Fact]
    public void A_mapping_is_validated_field_by_field()
    {
        var errors = WebhookMappingValidator.Validate(new WebhookMapping { Name = "grafana", HostnamePath = "a..b", MessagePath = "", SeverityMap = new() { ["x"] = 9 } });
        Assert.Equal(["hostname_path", "message_path", "name", "severity_map", "severity_path"], errors.Keys.Order());
        Assert.Empty(WebhookMappingValidator.Validate(SolarWinds));
    }

    private static readonly WebhookMapping WithStatus = SolarWinds with { StatusPath = "State", ResolvedValues = ["Up", "OK", "true"] };

    [Theory]
    [InlineData("\"Down\"", "firing")]
    [InlineData("\"up\"", "resolved")]
    [InlineData("\" OK \"", "resolved")]
    [InlineData("true", "resolved")]
    [InlineData("false", "firing")]
    [InlineData("2", "firing")]
    public void A_status_path_says_firing_or_resolved_by_the_resolved_values_ignoring_case(string state, string expected)
    {
        var batch = Parse($$"""{"Node":{"Caption":"r1"},"AlertMessage":"m","AlertObjectID":7,"State":{{state}}}""", WithStatus);

        Assert.Equal(BatchOutcome.Accepted, batch.Outcome);
        Assert.Equal(expected, JsonDocument.Parse(batch.Items[0]).RootElement.GetProperty("alert_status").GetString());
    }

    [Fact]
    public void Without_a_status_path_no_status_is_written_and_a_missing_status_is_firing()
    {
        const string body = """{"Node":{"Caption":"r1"},"AlertMessage":"m","AlertObjectID":7}""";
        Assert.False(JsonDocument.Parse(Parse(body).Items[0]).RootElement.TryGetProperty("alert_status", out _));
        Assert.Equal("firing", JsonDocument.Parse(Parse(body, WithStatus).Items[0]).RootElement.GetProperty("alert_status").GetString());
    }

    [Fact]
    public void A_status_that_is_not_a_scalar_is_named_in_the_400()
    {
        var batch = Parse("""[{"Node":{"Caption":"r1"},"AlertMessage":"m","AlertObjectID":7,"State":{"v":1}}]""", WithStatus);

        Assert.Equal(BatchOutcome.Invalid, batch.Outcome);
        Assert.Equal(["[0].alert_status"], batch.Errors.Keys);
    }

    [Fact]
    public void A_status_path_needs_resolved_values_and_a_stable_key_and_resolved_values_need_a_status_path()
    {
        Assert.Empty(WebhookMappingValidator.Validate(WithStatus));
        Assert.Equal(["resolved_values", "stable_key_path"],
            WebhookMappingValidator.Validate(WithStatus with { ResolvedValues = [], StableKeyPath = null }).Keys.Order());
        Assert.Equal(["resolved_values"], WebhookMappingValidator.Validate(WithStatus with { ResolvedValues = [" "] }).Keys);
        Assert.Equal(["status_path"], WebhookMappingValidator.Validate(SolarWinds with { ResolvedValues = ["OK"] }).Keys);
    }
}
