using System.Text;
using System.Text.Json;
using Mutt.Core.Events;
using Mutt.Ingestor.Ingest;
using Mutt.Ingestor.Webhooks;

namespace Mutt.Tests.Unit;

/// <summary>The Alertmanager adapter on notifications captured from Debian's prometheus-alertmanager 0.25, and the Grafana adapter on a unified-alerting body.</summary>
[Trait("Category", "Unit")]
public sealed class AlertWebhookParserTests
{
    private static readonly BatchLimits Limits = new(["timestamp", "message", "hostname"], 32, 100);
    private static readonly DateTimeOffset Now = new(2026, 12, 6, 5, 0, 0, TimeSpan.Zero);
    private static readonly string[] HostnameLabels = ["instance", "host", "hostname"];

    public static string Payload(string name) => File.ReadAllText(Path.Combine(Infrastructure.ChildService.RepositoryRoot, "Mutt.Tests", "Unit", "Webhooks", name));

    private static ParsedBatch Parse(string body, AlertWebhookFormat format) =>
        AlertWebhookParser.Parse(new IngestBody(Encoding.UTF8.GetBytes(body), false, Limits, null, Now, null), format, HostnameLabels);

    private static JsonElement Item(ParsedBatch batch, int i) => JsonDocument.Parse(batch.Items[i]).RootElement;

    [Fact]
    public void Alertmanager_firing_alert_becomes_one_event_with_every_field_mapped()
    {
        var batch = Parse(Payload("alertmanager-firing.json"), AlertWebhookFormat.Alertmanager);

        Assert.Equal(BatchOutcome.Accepted, batch.Outcome);
        var e = Item(batch, 0);
        Assert.Equal("2026-12-06T04:59:08.1736958Z", e.GetProperty("timestamp").GetString()); // nanoseconds cut to .NET's ticks
        Assert.Equal("LinkDown: Gi0/1 is down", e.GetProperty("message").GetString());
        Assert.Equal("core-sw-01", e.GetProperty("hostname").GetString()); // instance label, port stripped
        Assert.Equal("alertmanager", e.GetProperty("source").GetString());
        Assert.Equal(2, e.GetProperty("syslog_severity").GetInt32()); // critical
        Assert.Equal("alertmanager:7e1857a68a0e2a04", e.GetProperty("stable_key").GetString());
        Assert.Equal("firing", e.GetProperty("alert_status").GetString());
        Assert.Equal("snmp", e.GetProperty("labels").GetProperty("job").GetString());
        Assert.Equal("Interface Gi0/1 on core-sw-01 went down", e.GetProperty("annotations").GetProperty("description").GetString());
        Assert.Equal("mutt", e.GetProperty("receiver").GetString());
        Assert.Equal("7e1857a68a0e2a04", e.GetProperty("fingerprint").GetString());
        Assert.Equal(batch.CorrelationIds[0], e.GetProperty("correlation_id").GetString());
        Assert.StartsWith("am-", batch.CorrelationIds[0], StringComparison.Ordinal);
        Assert.Equal("2026-12-06T05:00:00.000000Z", e.GetProperty("received_at").GetString());

        // What the Alerter reads: the event time is the alert's start, and it is not a clear.
        var evt = JsonSerializer.Deserialize(batch.Items[0], MuttJsonContext.Default.MuttEvent)!;
        Assert.Equal(new DateTime(2026, 12, 6, 4, 59, 8, DateTimeKind.Utc).AddTicks(1736958), evt.EventTimeUtc());
        Assert.False(evt.IsClear);
        Assert.Equal("alertmanager:7e1857a68a0e2a04", evt.StableKey);
        Assert.Equal("critical", evt.Label("severity"));
    }

    [Fact]
    public void Resolved_alert_is_a_clear_with_the_same_stable_key_and_its_own_audit_id()
    {
        var firing = Parse(Payload("alertmanager-firing.json"), AlertWebhookFormat.Alertmanager);
        var resolved = Parse(Payload("alertmanager-resolved.json"), AlertWebhookFormat.Alertmanager);
        var again = Parse(Payload("alertmanager-firing.json"), AlertWebhookFormat.Alertmanager);

        var clear = JsonSerializer.Deserialize(resolved.Items[0], MuttJsonContext.Default.MuttEvent)!;
        Assert.True(clear.IsClear);
        Assert.Equal("alertmanager:7e1857a68a0e2a04", clear.StableKey);
        Assert.Equal("LinkDown: Gi0/1 is down", clear.Message); // same message and severity: the same rule decides
        Assert.Equal(2, clear.SyslogSeverity);
        Assert.NotEqual(firing.CorrelationIds[0], resolved.CorrelationIds[0]);
        Assert.Equal(firing.CorrelationIds[0], again.CorrelationIds[0]); // a resend or repeat is the same audit row
    }

    [Fact]
    public void Grafana_notification_maps_each_alert_with_its_own_status()
    {
        var batch = Parse(Payload("grafana-firing.json"), AlertWebhookFormat.Grafana);

        Assert.Equal(BatchOutcome.Accepted, batch.Outcome);
        Assert.Equal(2, batch.Items.Count);
        var disk = Item(batch, 0);
        Assert.Equal("grafana", disk.GetProperty("source").GetString());
        Assert.Equal("db-01.example.net", disk.GetProperty("hostname").GetString());
        Assert.Equal("Disk almost full: Disk on db-01 above 90%", disk.GetProperty("message").GetString());
        Assert.Equal(4, disk.GetProperty("syslog_severity").GetInt32());
        Assert.Equal("2026-11-21T07:12:40.5120000Z", disk.GetProperty("timestamp").GetString()); // +01:00 to UTC
        Assert.Equal("grafana:5f1b0c3a9e2d4477", disk.GetProperty("stable_key").GetString());
        Assert.Equal(93.1, disk.GetProperty("values").GetProperty("B").GetDouble());
        Assert.Equal("https://grafana.example.net/d/storage", disk.GetProperty("dashboard_url").GetString());
        Assert.Equal(1, disk.GetProperty("org_id").GetInt32());
        Assert.StartsWith("grafana-", batch.CorrelationIds[0], StringComparison.Ordinal);

        var cpu = Item(batch, 1);
        Assert.Equal("resolved", cpu.GetProperty("alert_status").GetString());
        Assert.Equal("app-07", cpu.GetProperty("hostname").GetString()); // the host label when there is no instance
        Assert.Equal("High CPU: CPU above 95% for 10 minutes", cpu.GetProperty("message").GetString()); // description without summary
        Assert.Equal("2026-11-21T08:10:00Z", cpu.GetProperty("ends_at").GetString());
    }

    [Fact]
    public void An_alert_without_host_labels_is_filed_under_the_source()
    {
        var body = Payload("alertmanager-firing.json").Replace("\"instance\": \"core-sw-01:9100\",", "");
        Assert.Equal("alertmanager", Item(Parse(body, AlertWebhookFormat.Alertmanager), 0).GetProperty("hostname").GetString());
    }

    [Theory]
    [InlineData("\"version\": \"4\"", "\"version\": \"3\"", "version")]
    [InlineData("\"startsAt\": \"2026-12-06T04:59:08.173695826Z\"", "\"startsAt\": \"yesterday\"", "alerts[0].startsAt")]
    [InlineData("\"fingerprint\": \"7e1857a68a0e2a04\"", "\"fingerprint\": \"\"", "alerts[0].fingerprint")]
    [InlineData("\"status\": \"firing\",\n            \"labels\"", "\"status\": \"burning\",\n            \"labels\"", "alerts[0].status")]
    public void A_notification_that_does_not_map_is_refused_whole_naming_the_field(string find, string replace, string field)
    {
        var body = Payload("alertmanager-firing.json");
        Assert.Contains(find, body, StringComparison.Ordinal);
        var batch = Parse(body.Replace(find, replace), AlertWebhookFormat.Alertmanager);
        Assert.Equal(BatchOutcome.Invalid, batch.Outcome);
        Assert.Contains(field, batch.Errors.Keys);
        Assert.Empty(batch.Items);
    }

    [Fact]
    public void One_bad_alert_of_a_hundred_refuses_the_whole_notification()
    {
        var alerts = Enumerable.Range(0, 100).Select(i =>
            $$"""{"status":"firing","labels":{"alertname":"A{{i}}","instance":"h{{i}}"},"annotations":{},"startsAt":"{{(i == 57 ? "bad" : "2026-12-06T04:00:00Z")}}","fingerprint":"f{{i}}"}""");
        var batch = Parse($$"""{"version":"4","alerts":[{{string.Join(",", alerts)}}]}""", AlertWebhookFormat.Alertmanager);
        Assert.Equal(BatchOutcome.Invalid, batch.Outcome);
        Assert.Equal(["alerts[57].startsAt"], batch.Errors.Keys);
    }

    [Theory]
    [InlineData("critical", 2)]
    [InlineData("CRITICAL", 2)]
    [InlineData("page", 2)]
    [InlineData("error", 3)]
    [InlineData("warning", 4)]
    [InlineData("info", 6)]
    [InlineData("none", 6)]
    [InlineData("5", 5)]
    [InlineData("urgent-ish", null)]
    [InlineData(null, null)]
    public void Severity_label_maps_to_syslog_severity(string? label, int? severity) =>
        Assert.Equal(severity, AlertWebhookParser.Severity(label));
}
