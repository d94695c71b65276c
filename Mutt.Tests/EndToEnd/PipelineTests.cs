using System.Net;
using Mutt.Tests.Infrastructure;
using Mutt.Tests.Reliability;

namespace Mutt.Tests.EndToEnd;

/// <summary>
/// The thin end-to-end path (issue 2 item 6), on the whole system started from the AppHost's own
/// model: POST /api/v2/ingest → mutt:ingest_queue → Alerter (seeded rules) → event_audit_log →
/// mutt:alert_queue → Forwarder → MoogSink.
/// </summary>
[Collection(AppHostCollection.Name)]
[Trait("Category", "System")]
public sealed partial class PipelineTests(AppHostFixture fixture) : IClassFixture<AppHostFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    private MuttAppHost App => fixture.App;

    private static string NewId(string what) => $"pipe-{what}-{Guid.NewGuid():N}";

    private async Task<string> IngestOneAsync(string correlationId, string message, string hostname)
    {
        using var http = SystemTraffic.IngestClient(App);
        var (status, accepted) = await SystemTraffic.PostAsync(http, SystemTraffic.Event(correlationId, message, hostname));
        Assert.Equal(HttpStatusCode.Accepted, status);
        Assert.Equal([correlationId], accepted);
        return correlationId;
    }

    private Task<(string Handling, bool Forwarded, int? RuleId, int Rows)> AuditedAsync(string id) =>
        Eventually.WaitForAsync(async () => await SystemTraffic.AuditRowAsync(App.MuttDbConnectionString, id), row => row is not null, Deadline, $"an audit row for {id}")
            .ContinueWith(t => t.Result!.Value, TaskScheduler.Default);

    [Fact]
    public async Task Prod_event_matching_a_page_rule_is_audited_and_reaches_the_sink()
    {
        var id = await IngestOneAsync(NewId("prod"), "CRITICAL: chassis temperature 91C", "core-router-01");

        var row = await AuditedAsync(id);
        Assert.Equal(("Page_and_ticket", true, (int?)1, 1), row);

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var alerts = await Eventually.WaitForAsync(() => SystemTraffic.SinkEventsAsync(http, App.SinkUrl, id), a => a.Count > 0, Deadline, $"{id} at the sink");
        var alert = Assert.Single(alerts);
        Assert.Equal(id, (string?)alert["external_id"]);
        Assert.Equal(id, (string?)alert["custom_info"]!["correlation_id"]);
        Assert.Equal("core-router-01", (string?)alert["source"]);
        Assert.Equal("Page_and_ticket", (string?)alert["custom_info"]!["handling"]);
        Assert.StartsWith("mutt:", (string?)alert["signature"], StringComparison.Ordinal);
        Assert.True((int)alert["severity"]! >= 4, "Page_and_ticket is at least major");
    }

    [Fact]
    public async Task Dev_host_event_is_suppressed_audited_and_never_forwarded()
    {
        var id = await IngestOneAsync(NewId("dev"), "LINK-DOWN Gi0/1", "dev-router-01");
        // A prod event sent after it is the marker: once it is at the sink, the Forwarder has had its chance.
        var marker = await IngestOneAsync(NewId("dev-marker"), "CRITICAL marker", "core-router-01");

        var row = await AuditedAsync(id);
        Assert.Equal(("Suppress", false, (int?)2, 1), row);

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        await Eventually.WaitForAsync(() => SystemTraffic.SinkEventsAsync(http, App.SinkUrl, marker), a => a.Count > 0, Deadline, "the marker at the sink");
        Assert.Empty(await SystemTraffic.SinkEventsAsync(http, App.SinkUrl, id));
    }

    [Fact]
    public async Task Unmatched_event_is_audited_as_unhandled_and_not_forwarded()
    {
        var id = await IngestOneAsync(NewId("unmatched"), "interface counters polled", "core-switch-01");
        var marker = await IngestOneAsync(NewId("unmatched-marker"), "CRITICAL marker", "core-router-01");

        var row = await AuditedAsync(id);
        Assert.Equal(("unhandled", false, (int?)null, 1), row);

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        await Eventually.WaitForAsync(() => SystemTraffic.SinkEventsAsync(http, App.SinkUrl, marker), a => a.Count > 0, Deadline, "the marker at the sink");
        Assert.Empty(await SystemTraffic.SinkEventsAsync(http, App.SinkUrl, id));
    }
}
