using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Mutt.Tests.Infrastructure;
using Mutt.Tests.Unit;
using Npgsql;

namespace Mutt.Tests.Integration;

/// <summary>
/// The webhook routes of a real Ingestor process against the fixture's Redis (and PostgreSQL for mapped
/// sources, with the mappings made through the real Dashboard API): standard HTTP auth, all-or-nothing,
/// 400 naming the field, and a mapping change reaching the running Ingestor over mutt:config:updates.
/// </summary>
[Collection(InfrastructureCollection.Name)]
[Trait("Category", "Integration")]
public sealed class WebhookIntakeTests(InfrastructureFixture infrastructure)
{
    private static HttpRequestMessage Post(string path, string body, AuthenticationHeaderValue? auth)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = auth;
        return request;
    }

    private static AuthenticationHeaderValue Bearer(string key) => new("Bearer", key);

    private static AuthenticationHeaderValue Basic(string user, string key) => new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{key}")));

    [Fact]
    public async Task Alertmanager_authenticates_with_bearer_or_basic_and_a_wrong_key_is_401()
    {
        await using var host = await IngestorTestHost.StartAsync(infrastructure);
        var firing = AlertWebhookParserTests.Payload("alertmanager-firing.json");

        foreach (var wrong in new[] { Bearer("not-the-key"), Basic("alertmanager", "not-the-key"), new AuthenticationHeaderValue("Token", IngestorTestHost.ApiKey) })
        {
            using var refused = await host.Http.SendAsync(Post("/api/v2/ingest/alertmanager", firing, wrong));
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }
        Assert.Equal(0, await host.QueueLengthAsync());

        using var bearer = await host.Http.SendAsync(Post("/api/v2/ingest/alertmanager", firing, Bearer(IngestorTestHost.ApiKey)));
        Assert.Equal(HttpStatusCode.Accepted, bearer.StatusCode);
        using var basic = await host.Http.SendAsync(Post("/api/v2/ingest/grafana", AlertWebhookParserTests.Payload("grafana-firing.json"), Basic("grafana", IngestorTestHost.ApiKey)));
        Assert.Equal(HttpStatusCode.Accepted, basic.StatusCode);
        // The plain REST route takes the standard headers too.
        using var rest = await host.Http.SendAsync(Post("/api/v2/ingest", """{"timestamp":"2026-01-01T00:00:00Z","message":"m","hostname":"h"}""", Bearer(IngestorTestHost.ApiKey)));
        Assert.Equal(HttpStatusCode.Accepted, rest.StatusCode);

        var items = await host.WaitForItemsAsync(4, "1 Alertmanager + 2 Grafana + 1 REST event");
        Assert.Equal(["alertmanager", "grafana", "grafana", null], items.Select(i => i.TryGetProperty("source", out var s) ? s.GetString() : null));
        Assert.Equal("alertmanager:7e1857a68a0e2a04", items[0].GetProperty("stable_key").GetString());
        Assert.DoesNotContain(host.Output, line => line.Contains(IngestorTestHost.ApiKey, StringComparison.Ordinal) || line.Contains("not-the-key", StringComparison.Ordinal));
        var metrics = await host.MetricsAsync();
        Assert.Contains("mutt_ingest_events_total{source=\"alertmanager\"", metrics, StringComparison.Ordinal);
        Assert.Contains("mutt_ingest_events_total{source=\"grafana\"", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Webhook_routes_take_named_keys_counted_by_name_and_share_the_failure_limit_of_the_rest_route()
    {
        var db = await infrastructure.CreateDatabaseAsync();
        var secret = Mutt.Core.Auth.ApiKeySecret.Generate();
        await using (var ds = NpgsqlDataSource.Create(db))
        await using (var cmd = ds.CreateCommand("INSERT INTO api_keys (name, key_prefix, key_hash, role, created_by) VALUES ('alertmanager-prod', $1, $2, 'ingest', 'test')"))
        {
            cmd.Parameters.Add(new() { Value = secret.Prefix });
            cmd.Parameters.Add(new() { Value = secret.Hash });
            await cmd.ExecuteNonQueryAsync();
        }
        await using var host = await IngestorTestHost.StartAsync(infrastructure, new Dictionary<string, string?>
        {
            ["ConnectionStrings__muttdb"] = db,
            ["AUTH_FAILURE_WINDOW_SECONDS"] = "30",
        });
        var firing = AlertWebhookParserTests.Payload("alertmanager-firing.json");

        await Eventually.WaitForAsync(async () =>
        {
            using var response = await host.Http.SendAsync(Post("/api/v2/ingest/alertmanager", firing, Bearer(secret.Secret)));
            return response.StatusCode;
        }, status => status == HttpStatusCode.Accepted, TimeSpan.FromSeconds(15), "the named key loaded by the Ingestor");
        Assert.Matches("mutt_ingest_requests_total\\{key=\"alertmanager-prod\",reason=\"ok\",status=\"success\"\\} [1-9]", await host.MetricsAsync());

        // Wrong keys on webhook routes count towards the same per-address limit as the REST route's.
        for (var i = 0; i < 10; i++)
        {
            var route = i % 2 == 0 ? "/api/v2/ingest/alertmanager" : "/api/v2/ingest/grafana";
            using var refused = await host.Http.SendAsync(Post(route, firing, i % 3 == 0 ? Basic("am", "guess-" + i) : Bearer("guess-" + i)));
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }
        foreach (var route in new[] { "/api/v2/ingest/alertmanager", "/api/v2/ingest" })
        {
            using var limited = await host.Http.SendAsync(Post(route, firing, Bearer(secret.Secret)));
            Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
            Assert.True(limited.Headers.Contains("Retry-After"), $"{route}: no Retry-After");
        }
        var metrics = await host.MetricsAsync();
        Assert.Contains("mutt_auth_failures_total{reason=\"invalid\",surface=\"ingest\"} 10", metrics, StringComparison.Ordinal);
        Assert.Contains("mutt_ingest_requests_total{key=\"none\",reason=\"rate_limited\",status=\"fail\"} 2", metrics, StringComparison.Ordinal);
        Assert.DoesNotContain(host.Output, line => line.Contains(secret.Secret, StringComparison.Ordinal) || line.Contains("guess-", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_notification_that_does_not_map_is_a_400_naming_the_field_and_nothing_is_queued()
    {
        await using var host = await IngestorTestHost.StartAsync(infrastructure);
        var body = AlertWebhookParserTests.Payload("alertmanager-firing.json").Replace("\"startsAt\": \"2026-12-06T04:59:08.173695826Z\"", "\"startsAt\": 17");

        using var response = await host.Http.SendAsync(Post("/api/v2/ingest/alertmanager", body, Bearer(IngestorTestHost.ApiKey)));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonObject>();
        Assert.NotNull(problem!["errors"]!["alerts[0].startsAt"]);
        Assert.Equal(0, await host.QueueLengthAsync());
        using var mapped = await host.Http.SendAsync(Post("/api/v2/ingest/mapped/solarwinds", "{}", Bearer(IngestorTestHost.ApiKey)));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, mapped.StatusCode); // this Ingestor has no database, hence no mappings
    }

    [Fact]
    public async Task A_mapping_made_in_the_dashboard_is_audited_testable_and_used_by_the_running_ingestor()
    {
        const string webUiKey = "test-webui-key-0123456789";
        var db = await infrastructure.CreateDatabaseAsync(seed: true);
        await using var host = await IngestorTestHost.StartAsync(infrastructure, new Dictionary<string, string?> { ["ConnectionStrings__muttdb"] = db });
        await using var dashboard = new DashboardApiFactory(infrastructure.RedisConnectionString, db, webUiKey);
        using var api = dashboard.CreateClient();
        api.DefaultRequestHeaders.Add("X-API-KEY", webUiKey);
        var sample = AlertWebhookParserTests.Payload("solarwinds-alert.json");
        var auth = Bearer(IngestorTestHost.ApiKey);

        using (var unknown = await host.Http.SendAsync(Post("/api/v2/ingest/mapped/solarwinds", sample, auth)))
        {
            Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        }

        var mapping = new
        {
            name = "solarwinds", hostname_path = "Node.Caption", message_path = "AlertMessage", severity_path = "Severity",
            severity_map = new Dictionary<string, int> { ["Critical"] = 2, ["Warning"] = 4 }, timestamp_path = "TimeOfAlert",
            stable_key_path = "AlertObjectID", labels_path = "CustomProperties", status_path = "Node.Status", resolved_values = new[] { "Up" },
            reason = "SolarWinds alert action",
        };
        using (var tested = await api.PostAsJsonAsync("/api/v2/webhook-mappings/test", new { mapping, sample = JsonNode.Parse(sample) }))
        {
            var result = await tested.Content.ReadFromJsonAsync<JsonObject>();
            Assert.True((bool)result!["accepted"]!);
            Assert.Equal("core-rtr-02", (string?)result["events"]![0]!["hostname"]);
            Assert.Equal(2, (int)result["events"]![0]!["syslog_severity"]!);
        }
        using (var created = await api.PostAsJsonAsync("/api/v2/webhook-mappings", mapping))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }
        using (var listed = await api.GetAsync("/api/v1/webhook-mappings"))
        {
            var saved = (await listed.Content.ReadFromJsonAsync<JsonArray>())![0]!;
            Assert.Equal("solarwinds", (string?)saved["name"]);
            Assert.Equal(("Node.Status", "Up"), ((string?)saved["status_path"], (string?)saved["resolved_values"]![0]));
        }
        await using (var ds = NpgsqlDataSource.Create(db))
        await using (var cmd = ds.CreateCommand("SELECT operation, record_id, reason, new_values->>'hostname_path', changed_by FROM config_audit_log WHERE table_name = 'webhook_mappings'"))
        await using (var reader = await cmd.ExecuteReaderAsync())
        {
            Assert.True(await reader.ReadAsync());
            // The row names the caller: here the legacy WEBUI_API_KEY (an admin), never a generic 'webui'.
            Assert.Equal(("CREATE", "solarwinds", "SolarWinds alert action", "Node.Caption", Mutt.Dashboard.Auth.DashboardKeys.LegacyKeyName),
                (reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4)));
        }

        // The Ingestor loaded an empty set at start; the Dashboard's publish makes it reload.
        await Eventually.WaitForAsync(async () =>
        {
            using var response = await host.Http.SendAsync(Post("/api/v2/ingest/mapped/solarwinds", sample, auth));
            return response.StatusCode;
        }, status => status == HttpStatusCode.Accepted, TimeSpan.FromSeconds(30), "the mapping in the running Ingestor");
        var item = (await host.WaitForItemsAsync(1, "the mapped event")).Single();
        Assert.Equal("solarwinds", item.GetProperty("source").GetString());
        Assert.Equal("solarwinds:90210", item.GetProperty("stable_key").GetString());
        Assert.Equal("firing", item.GetProperty("alert_status").GetString()); // the sample has no Node.Status

        using (var bad = await host.Http.SendAsync(Post("/api/v2/ingest/mapped/solarwinds", """{"AlertMessage":"no node here"}""", auth)))
        {
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            var problem = await bad.Content.ReadFromJsonAsync<JsonObject>();
            Assert.Contains("Node.Caption", (string?)problem!["errors"]!["hostname"]![0], StringComparison.Ordinal);
        }

        // An edit reaches the Ingestor the same way: the message now comes from AlertName.
        var edited = new { mapping.name, mapping.hostname_path, message_path = "AlertName", reason = "shorter messages" };
        using (var updated = await api.PutAsJsonAsync("/api/v2/webhook-mappings/solarwinds", edited))
        {
            Assert.Equal(HttpStatusCode.OK, updated.StatusCode);
        }
        await Eventually.WaitForAsync(async () =>
        {
            using var response = await host.Http.SendAsync(Post("/api/v2/ingest/mapped/solarwinds", sample, auth));
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            var items = await host.QueueItemsAsync();
            return items.Last().GetProperty("message").GetString();
        }, message => message == "Node is down", TimeSpan.FromSeconds(30), "the edited mapping in the running Ingestor");
    }
}
