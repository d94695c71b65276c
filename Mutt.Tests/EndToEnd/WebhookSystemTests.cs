using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Mutt.Tests.Infrastructure;
using Npgsql;

namespace Mutt.Tests.EndToEnd;

/// <summary>
/// Webhook sources against the whole system. A real Prometheus Alertmanager, configured from deploy/alertmanager/alertmanager.yml with bearer
/// auth, delivering to the whole system started from the AppHost: a rule on source and labels made
/// through the Dashboard API; a firing alert added with amtool is audited and paged to the sink, its
/// repeat notifications land on the same signature (one audit row), and resolving it sends a clear
/// (severity 0) under that signature.
/// </summary>
[Collection(AppHostCollection.Name)]
[Trait("Category", "System")]
public sealed class WebhookSystemTests(AppHostFixture fixture) : IClassFixture<AppHostFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);
    private MuttAppHost App => fixture.App;

    private sealed record Audited(string CorrelationId, string Handling, bool Forwarded, string StableKey);

    /// <summary>The audit rows of this test's alert in one state (firing or resolved).</summary>
    private async Task<List<Audited>> AuditRowsAsync(string alertname, string status)
    {
        await using var connection = new NpgsqlConnection(App.MuttDbConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("""
            SELECT correlation_id, handling_decision, forwarded_to_moog, raw_message->>'stable_key' FROM event_audit_log
            WHERE raw_message->>'source' = 'alertmanager' AND raw_message->'labels'->>'alertname' = $1 AND raw_message->>'alert_status' = $2
            """, connection) { Parameters = { new() { Value = alertname }, new() { Value = status } } };
        var rows = new List<Audited>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add(new Audited(reader.GetString(0), reader.GetString(1), reader.GetBoolean(2), reader.GetString(3)));
        }
        return rows;
    }

    private async Task<IReadOnlyList<JsonNode>> SinkEventsAsync(HttpClient http, string correlationId) =>
        await Reliability.SystemTraffic.SinkEventsAsync(http, App.SinkUrl, correlationId);

    [Fact]
    public async Task Firing_repeat_and_resolved_alerts_reach_the_sink_under_one_signature()
    {
        var alertname = "MuttSystem" + Guid.NewGuid().ToString("N")[..8];
        using (var dashboard = App.DashboardClient())
        {
            using var created = await dashboard.PostAsJsonAsync("/api/v2/rules", new
            {
                match_type = "contains", match_source = "alertmanager", match_labels = new Dictionary<string, string> { ["alertname"] = alertname },
                priority = 1, prod_handling = "Page_and_ticket", dev_handling = "Log_only", team_assignment = "SRE", reason = "Alertmanager system test",
            });
            Assert.Equal(System.Net.HttpStatusCode.Created, created.StatusCode);
        }

        var dir = Path.Combine(App.StateDir, "alertmanager-" + alertname);
        await using var alertmanager = await AlertmanagerDaemon.StartAsync(dir,
            new Uri(App.IngestorUrl, "/api/v2/ingest/alertmanager").ToString(), App.IngestApiKey, repeatInterval: TimeSpan.FromSeconds(2));
        var labels = new Dictionary<string, string> { ["alertname"] = alertname, ["severity"] = "critical", ["instance"] = "sys-host-01:9100" };
        var annotations = new Dictionary<string, string> { ["summary"] = "uplink lost" };
        await alertmanager.AddAlertAsync(labels, annotations);

        var firing = (await Eventually.WaitForAsync(() => AuditRowsAsync(alertname, "firing"), rows => rows.Count > 0, Deadline, "the firing alert's audit row")).Single();
        Assert.Equal(("Page_and_ticket", true), (firing.Handling, firing.Forwarded));
        Assert.StartsWith("alertmanager:", firing.StableKey, StringComparison.Ordinal);

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        // Alertmanager repeats the notification every 2 s while the alert fires: each is forwarded again, all under one signature.
        var sent = await Eventually.WaitForAsync(() => SinkEventsAsync(http, firing.CorrelationId), events => events.Count >= 2, Deadline,
            "the firing alert and a repeat notification at the sink");
        var signature = (string)sent[0]["signature"]!;
        Assert.All(sent, e => Assert.Equal(signature, (string?)e["signature"]));
        Assert.All(sent, e => Assert.Equal(5, (int)e["severity"]!));
        Assert.Equal("sys-host-01", (string?)sent[0]["source"]);
        Assert.Equal($"{alertname}: uplink lost", (string?)sent[0]["description"]);
        Assert.Single(await AuditRowsAsync(alertname, "firing")); // the repeats map to the one audit row

        await alertmanager.AddAlertAsync(labels, annotations, endsAt: DateTimeOffset.UtcNow.AddSeconds(-1));
        var resolved = (await Eventually.WaitForAsync(() => AuditRowsAsync(alertname, "resolved"), rows => rows.Count > 0, Deadline, "the resolved alert's audit row")).Single();
        Assert.True(resolved.Forwarded);
        Assert.Equal(firing.StableKey, resolved.StableKey);
        var clear = (await Eventually.WaitForAsync(() => SinkEventsAsync(http, resolved.CorrelationId), events => events.Count > 0, Deadline, "the clear at the sink"))[0];
        Assert.Equal(0, (int)clear["severity"]!);
        Assert.Equal(signature, (string?)clear["signature"]);
    }

    [Fact]
    public async Task Grafana_and_mapped_payloads_are_accepted_and_audited()
    {
        var name = "noc-" + Guid.NewGuid().ToString("N")[..8];
        using (var dashboard = App.DashboardClient())
        {
            using var created = await dashboard.PostAsJsonAsync("/api/v2/webhook-mappings", new
            {
                name, hostname_path = "Node.Caption", message_path = "AlertMessage", severity_path = "Severity",
                severity_map = new Dictionary<string, int> { ["Critical"] = 2 }, timestamp_path = "TimeOfAlert", reason = "system test",
            });
            Assert.Equal(System.Net.HttpStatusCode.Created, created.StatusCode);
        }
        using var ingest = new HttpClient { BaseAddress = App.IngestorUrl, Timeout = TimeSpan.FromSeconds(30) };
        ingest.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Basic",
            Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("noc:" + App.IngestApiKey)));

        async Task<(System.Net.HttpStatusCode Status, List<string> Ids)> PostAsync(string path, string body)
        {
            using var response = await ingest.PostAsync(path, new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
            var ids = response.StatusCode == System.Net.HttpStatusCode.Accepted
                ? (await response.Content.ReadFromJsonAsync<JsonObject>())!["correlation_ids"]!.AsArray().Select(n => (string)n!).ToList()
                : [];
            return (response.StatusCode, ids);
        }

        // The Ingestor reloads its mappings when the Dashboard publishes the change.
        var mapped = await Eventually.WaitForAsync(() => PostAsync($"/api/v2/ingest/mapped/{name}", Unit.AlertWebhookParserTests.Payload("solarwinds-alert.json")),
            r => r.Status == System.Net.HttpStatusCode.Accepted, Deadline, "the new mapping in the running Ingestor");
        var grafana = await PostAsync("/api/v2/ingest/grafana", Unit.AlertWebhookParserTests.Payload("grafana-firing.json").Replace("5f1b0c3a9e2d4477", name));
        Assert.Equal(System.Net.HttpStatusCode.Accepted, grafana.Status);
        var unmappable = await PostAsync($"/api/v2/ingest/mapped/{name}", """{"AlertMessage": "no node"}""");
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, unmappable.Status);

        foreach (var (id, source) in mapped.Ids.Select(i => (i, name)).Concat(grafana.Ids.Select(i => (i, "grafana"))))
        {
            var audited = await Eventually.WaitForAsync(async () =>
            {
                await using var connection = new NpgsqlConnection(App.MuttDbConnectionString);
                await connection.OpenAsync();
                await using var command = new NpgsqlCommand("SELECT raw_message->>'source' FROM event_audit_log WHERE correlation_id = $1", connection)
                    { Parameters = { new() { Value = id } } };
                return (string?)await command.ExecuteScalarAsync();
            }, s => s is not null, Deadline, $"the audit row of {id}");
            Assert.Equal(source, audited);
        }
    }
}
