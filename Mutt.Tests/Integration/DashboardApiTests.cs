using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Mutt.Core.DeadLetters;
using Mutt.Core.Events;
using Mutt.Core.Redis;
using Mutt.Tests.Infrastructure;
using Npgsql;
using StackExchange.Redis;

namespace Mutt.Tests.Integration;

[Collection(InfrastructureCollection.Name)]
[Trait("Category", "Integration")]
public sealed class DashboardApiTests(InfrastructureFixture infra) : IAsyncLifetime
{
    private const string ApiKey = "test-webui-key-0123456789";
    private DashboardApiFactory _factory = null!;
    private string _db = null!;
    private HttpClient _api = null!;
    private readonly ConcurrentQueue<string> _published = new();

    public async Task InitializeAsync()
    {
        await ClearMuttKeysAsync(infra.Multiplexer);
        _db = await infra.CreateDatabaseAsync(seed: true);
        _factory = new DashboardApiFactory(infra.RedisConnectionString, _db, ApiKey);
        _api = _factory.CreateClient(new() { AllowAutoRedirect = false });
        _api.DefaultRequestHeaders.Add("X-API-KEY", ApiKey);
        await infra.Multiplexer.GetSubscriber().SubscribeAsync(RedisChannel.Literal(MuttKeys.ConfigUpdatesChannel), (_, m) => _published.Enqueue((string)m!));
    }

    public async Task DisposeAsync()
    {
        await infra.Multiplexer.GetSubscriber().UnsubscribeAllAsync();
        _api.Dispose();
        await _factory.DisposeAsync();
    }

    /// <summary>Writes flow counts the way a service's publisher does (its own hash, and the pod registry).</summary>
    internal static async Task WriteFlowCountsAsync(IDatabase db, string pod, params (string Counter, long Count)[] counts)
    {
        var counters = new FlowCounters();
        foreach (var (counter, count) in counts)
        {
            counters.Add(counter, count);
        }
        await counters.FlushAsync(db, pod);
    }

    /// <summary>The fixture's FlushRedisAsync needs an admin-mode multiplexer; SCAN + DEL of mutt:* does the same for these tests.</summary>
    internal static async Task ClearMuttKeysAsync(IConnectionMultiplexer redis)
    {
        var server = redis.GetServer(redis.GetEndPoints()[0]);
        var keys = server.Keys(0, "mutt:*", 500).ToArray();
        if (keys.Length > 0)
        {
            await redis.GetDatabase().KeyDeleteAsync(keys);
        }
    }

    private HttpClient Anonymous() => _factory.CreateClient(new() { AllowAutoRedirect = false });

    private static object ValidRule(string match = "BGP-DOWN", string type = "contains") => new
    {
        match_string = match, match_type = type, priority = 7, prod_handling = "Page_and_ticket", dev_handling = "Suppress",
        team_assignment = "NetOps", reason = "test change",
    };

    private async Task<List<JsonObject>> ConfigAuditRowsAsync(string table)
    {
        await using var ds = NpgsqlDataSource.Create(_db);
        await using var cmd = ds.CreateCommand("SELECT row_to_json(c)::text FROM config_audit_log c WHERE table_name = $1 ORDER BY id");
        cmd.Parameters.AddWithValue(table);
        var rows = new List<JsonObject>();
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add(JsonNode.Parse(reader.GetString(0))!.AsObject());
        }
        return rows;
    }

    private Task WaitPublishedAsync(string message) =>
        Eventually.WaitForAsync(() => Task.FromResult(_published.Contains(message)), TimeSpan.FromSeconds(30), $"'{message}' on {MuttKeys.ConfigUpdatesChannel}");

    [Fact]
    public async Task Api_without_key_or_with_wrong_key_is_401_problem_and_health_metrics_are_open()
    {
        var anon = Anonymous();
        var none = await anon.GetAsync("/api/v2/rules");
        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.Equal("application/problem+json", none.Content.Headers.ContentType?.MediaType);
        Assert.Equal("2.5", none.Headers.GetValues("X-API-Version").Single());

        var wrong = new HttpRequestMessage(HttpMethod.Get, "/api/v1/rules") { Headers = { { "X-API-KEY", ApiKey + "x" } } };
        Assert.Equal(HttpStatusCode.Unauthorized, (await anon.SendAsync(wrong)).StatusCode);
        var wrongPost = new HttpRequestMessage(HttpMethod.Post, "/api/v2/rules") { Headers = { { "X-API-KEY", "nope" } }, Content = JsonContent.Create(ValidRule()) };
        Assert.Equal(HttpStatusCode.Unauthorized, (await anon.SendAsync(wrongPost)).StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await anon.GetAsync("/health")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anon.GetAsync("/metrics")).StatusCode);

        foreach (var page in new[] { "/", "/rules", "/dlq", "/config" })
        {
            var response = await anon.GetAsync(page);
            Assert.True(response.StatusCode == HttpStatusCode.Redirect, $"{page}: {response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            Assert.StartsWith("/login", response.Headers.Location!.PathAndQuery.Replace("http://localhost", "", StringComparison.Ordinal));
        }
        Assert.Equal(0, await RuleCountAsync());
    }

    private async Task<int> RuleCountAsync()
    {
        await using var ds = NpgsqlDataSource.Create(_db);
        return (int)(long)(await ds.CreateCommand("SELECT count(*) FROM alert_rules WHERE match_string = 'BGP-DOWN'").ExecuteScalarAsync())!;
    }

    [Fact]
    public async Task Query_api_key_becomes_a_session_cookie_and_is_stripped_from_the_url_and_logs()
    {
        var anon = Anonymous();
        var response = await anon.GetAsync($"/rules?api_key={ApiKey}&tab=2");
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/rules?tab=2", response.Headers.Location!.OriginalString);
        var cookie = response.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("mutt.session=", StringComparison.Ordinal));

        var withCookie = new HttpRequestMessage(HttpMethod.Get, "/api/v2/rules") { Headers = { { "Cookie", cookie.Split(';')[0] } } };
        Assert.Equal(HttpStatusCode.OK, (await anon.SendAsync(withCookie)).StatusCode);

        Assert.Equal(HttpStatusCode.Unauthorized, (await anon.GetAsync("/rules?api_key=wrong")).StatusCode);
        Assert.DoesNotContain(_factory.Logs, line => line.Contains(ApiKey, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Login_form_signs_in_with_the_right_user_and_password_only()
    {
        Assert.Equal(HttpStatusCode.Created, (await _api.PostAsJsonAsync("/api/v2/users", new { username = "form-user", password = "form user passphrase", role = "viewer" })).StatusCode);
        var anon = Anonymous();
        var bad = await anon.PostAsync("/login", new FormUrlEncodedContent(new Dictionary<string, string> { ["username"] = "form-user", ["password"] = "nope", ["returnUrl"] = "/rules" }));
        Assert.Equal(HttpStatusCode.Redirect, bad.StatusCode);
        Assert.Contains("error=1", bad.Headers.Location!.OriginalString);
        Assert.False(bad.Headers.Contains("Set-Cookie"));

        // The legacy key is no password: the form takes user + password only.
        var key = await anon.PostAsync("/login", new FormUrlEncodedContent(new Dictionary<string, string> { ["username"] = "form-user", ["password"] = ApiKey, ["returnUrl"] = "/" }));
        Assert.Contains("error=1", key.Headers.Location!.OriginalString);
        var good = await anon.PostAsync("/login", new FormUrlEncodedContent(new Dictionary<string, string> { ["username"] = "form-user", ["password"] = "form user passphrase", ["returnUrl"] = "//evil.example/" }));
        Assert.Equal("/", good.Headers.Location!.OriginalString);
        var cookie = good.Headers.GetValues("Set-Cookie").Single().Split(';')[0];
        var page = new HttpRequestMessage(HttpMethod.Get, "/rules") { Headers = { { "Cookie", cookie } } };
        Assert.Equal(HttpStatusCode.OK, (await anon.SendAsync(page)).StatusCode);
    }

    [Fact]
    public async Task Rule_crud_writes_config_audit_rows_and_publishes_rules()
    {
        var create = new HttpRequestMessage(HttpMethod.Post, "/api/v2/rules") { Content = JsonContent.Create(ValidRule()), Headers = { { "X-Correlation-ID", "corr-create-1" } } };
        var created = await _api.SendAsync(create);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var rule = (await created.Content.ReadFromJsonAsync<JsonObject>())!;
        var id = (int)rule["id"]!;
        Assert.Equal($"/api/v2/rules/{id}", created.Headers.Location!.OriginalString);
        await WaitPublishedAsync("rules");

        var fetched = await _api.GetFromJsonAsync<JsonObject>($"/api/v2/rules/{id}");
        Assert.Equal("BGP-DOWN", (string)fetched!["match_string"]!);

        var update = new HttpRequestMessage(HttpMethod.Put, $"/api/v2/rules/{id}")
        {
            Content = JsonContent.Create(new { match_string = "BGP-DOWN", match_type = "contains", priority = 8, prod_handling = "Ticket_only", dev_handling = "Log_only", team_assignment = "NetOps", is_active = false }),
            Headers = { { "X-Change-Reason", "tuning" } },
        };
        var updated = await _api.SendAsync(update);
        Assert.Equal(HttpStatusCode.OK, updated.StatusCode);
        Assert.False((bool)(await updated.Content.ReadFromJsonAsync<JsonObject>())!["is_active"]!);

        Assert.Equal(HttpStatusCode.NoContent, (await _api.DeleteAsync($"/api/v2/rules/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _api.GetAsync($"/api/v2/rules/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _api.DeleteAsync($"/api/v2/rules/{id}")).StatusCode);

        var rows = await ConfigAuditRowsAsync("alert_rules");
        Assert.Equal(["CREATE", "UPDATE", "DELETE"], rows.Select(r => (string)r["operation"]!));
        Assert.All(rows, r => Assert.Equal(Mutt.Dashboard.Auth.DashboardKeys.LegacyKeyName, (string)r["changed_by"]!));
        Assert.All(rows, r => Assert.Equal(id.ToString(System.Globalization.CultureInfo.InvariantCulture), (string)r["record_id"]!));
        Assert.Equal("test change", (string)rows[0]["reason"]!);
        Assert.Equal("corr-create-1", (string)rows[0]["correlation_id"]!);
        Assert.Null(rows[0]["old_values"]);
        Assert.Equal(7, (int)rows[1]["old_values"]!["priority"]!);
        Assert.Equal(8, (int)rows[1]["new_values"]!["priority"]!);
        Assert.Equal("tuning", (string)rows[1]["reason"]!);
        Assert.Null(rows[2]["new_values"]);
    }

    [Theory]
    [InlineData("match_type", """{"match_string":"x","match_type":"fuzzy","priority":5,"prod_handling":"Ticket_only","dev_handling":"Log_only","team_assignment":"T"}""")]
    [InlineData("priority", """{"match_string":"x","match_type":"contains","priority":0,"prod_handling":"Ticket_only","dev_handling":"Log_only","team_assignment":"T"}""")]
    [InlineData("priority", """{"match_string":"x","match_type":"contains","priority":1001,"prod_handling":"Ticket_only","dev_handling":"Log_only","team_assignment":"T"}""")]
    [InlineData("prod_handling", """{"match_string":"x","match_type":"contains","priority":5,"prod_handling":"Suppress","dev_handling":"Log_only","team_assignment":"T"}""")]
    [InlineData("dev_handling", """{"match_string":"x","match_type":"contains","priority":5,"prod_handling":"Ticket_only","dev_handling":"Page_and_ticket","team_assignment":"T"}""")]
    [InlineData("team_assignment", """{"match_string":"x","match_type":"contains","priority":5,"prod_handling":"Ticket_only","dev_handling":"Log_only"}""")]
    [InlineData("match_string", """{"match_type":"contains","priority":5,"prod_handling":"Ticket_only","dev_handling":"Log_only","team_assignment":"T"}""")]
    [InlineData("match_string", """{"match_string":"(unclosed","match_type":"regex","priority":5,"prod_handling":"Ticket_only","dev_handling":"Log_only","team_assignment":"T"}""")]
    [InlineData("match_string", """{"match_string":"(a+)+$","match_type":"regex","priority":5,"prod_handling":"Ticket_only","dev_handling":"Log_only","team_assignment":"T"}""")]
    [InlineData("match_string", """{"match_string":"^(\\w+\\s?)*$","match_type":"regex","priority":5,"prod_handling":"Ticket_only","dev_handling":"Log_only","team_assignment":"T"}""")]
    [InlineData("match_string", """{"match_string":"^(a|aa)+$","match_type":"regex","priority":5,"prod_handling":"Ticket_only","dev_handling":"Log_only","team_assignment":"T"}""")]
    [InlineData("trap_oid", """{"match_type":"oid_prefix","priority":5,"prod_handling":"Ticket_only","dev_handling":"Log_only","team_assignment":"T"}""")]
    public async Task Invalid_rule_is_400_validation_problem_naming_the_field(string field, string body)
    {
        foreach (var version in new[] { "v2", "v1" })
        {
            var response = await _api.PostAsync($"/api/{version}/rules", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var problem = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
            Assert.True(problem["errors"]!.AsObject().ContainsKey(field), $"{version}: errors should name {field}: {problem.ToJsonString()}");
        }
        Assert.Empty(await ConfigAuditRowsAsync("alert_rules"));
    }

    [Fact]
    public async Task Safe_regex_and_oid_prefix_rules_are_accepted()
    {
        var regex = await _api.PostAsJsonAsync("/api/v2/rules", new { match_string = @"%LINK-3-UPDOWN: Interface \S+, changed", match_type = "regex", priority = 3, prod_handling = "Ticket_only", dev_handling = "Log_only", team_assignment = "NetOps" });
        Assert.Equal(HttpStatusCode.Created, regex.StatusCode);
        var oid = await _api.PostAsJsonAsync("/api/v1/rules", new { trap_oid = "1.3.6.1.4.1.9", match_type = "oid_prefix", priority = 4, prod_handling = "Ticket_only", dev_handling = "Log_only", team_assignment = "NetOps" });
        Assert.Equal(HttpStatusCode.Created, oid.StatusCode);
        Assert.StartsWith("/api/v1/rules/", oid.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task V1_aliases_answer_like_v2_with_version_headers()
    {
        foreach (var path in new[] { "rules", "dev-hosts", "teams", "audit-logs", "config-audit", "config", "dlq" })
        {
            var v2 = await _api.GetAsync($"/api/v2/{path}");
            var v1 = await _api.GetAsync($"/api/v1/{path}");
            Assert.Equal(HttpStatusCode.OK, v2.StatusCode);
            Assert.Equal(HttpStatusCode.OK, v1.StatusCode);
            Assert.Equal(await v2.Content.ReadAsStringAsync(), await v1.Content.ReadAsStringAsync());
            Assert.Equal("2.5", v1.Headers.GetValues("X-API-Version").Single());
            Assert.Equal("2.5, 2.0, 1.0", v1.Headers.GetValues("X-API-Supported-Versions").Single());
        }
        Assert.Equal(HttpStatusCode.OK, (await _api.GetAsync("/api/v1/slo")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _api.GetAsync("/api/v2/slo")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _api.GetAsync("/api/v1/metrics")).StatusCode);
    }

    [Fact]
    public async Task Dev_hosts_and_teams_crud_is_audited_and_published()
    {
        Assert.Contains("dev-router-01", await _api.GetStringAsync("/api/v2/dev-hosts"));
        Assert.Equal(HttpStatusCode.Created, (await _api.PostAsJsonAsync("/api/v2/dev-hosts", new { hostname = "lab-sw-9", reason = "lab" })).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await _api.PostAsJsonAsync("/api/v2/dev-hosts", new { hostname = "lab-sw-9" })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await _api.PostAsJsonAsync("/api/v2/dev-hosts", new { hostname = " " })).StatusCode);
        await WaitPublishedAsync("dev_hosts");
        Assert.Equal(HttpStatusCode.NoContent, (await _api.DeleteAsync("/api/v2/dev-hosts/lab-sw-9")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _api.DeleteAsync("/api/v1/dev-hosts/lab-sw-9")).StatusCode);
        Assert.Equal(["CREATE", "DELETE"], (await ConfigAuditRowsAsync("development_hosts")).Select(r => (string)r["operation"]!));

        Assert.Equal(HttpStatusCode.Created, (await _api.PostAsJsonAsync("/api/v2/teams", new { hostname = "edge-rtr-7", team_assignment = "Edge" })).StatusCode);
        var missingTeam = await _api.PostAsJsonAsync("/api/v2/teams", new { hostname = "edge-rtr-8" });
        Assert.Equal(HttpStatusCode.BadRequest, missingTeam.StatusCode);
        Assert.Contains("team_assignment", await missingTeam.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, (await _api.PutAsJsonAsync("/api/v2/teams/edge-rtr-7", new { team_assignment = "Core" })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _api.PutAsJsonAsync("/api/v2/teams/nope-1", new { team_assignment = "Core" })).StatusCode);
        Assert.Contains("\"Core\"", await _api.GetStringAsync("/api/v1/teams"));
        Assert.Equal(HttpStatusCode.NoContent, (await _api.DeleteAsync("/api/v2/teams/edge-rtr-7")).StatusCode);
        await WaitPublishedAsync("teams");
        var teamRows = await ConfigAuditRowsAsync("device_teams");
        Assert.Equal(["CREATE", "UPDATE", "DELETE"], teamRows.Select(r => (string)r["operation"]!));
        Assert.Equal("Edge", (string)teamRows[1]["old_values"]!["team_assignment"]!);
        Assert.Equal("Core", (string)teamRows[1]["new_values"]!["team_assignment"]!);
    }

    [Fact]
    public async Task Audit_logs_filter_and_page_with_parameters()
    {
        await using (var ds = NpgsqlDataSource.Create(_db))
        {
            var now = DateTime.UtcNow;
            for (var i = 0; i < 30; i++)
            {
                await using var cmd = ds.CreateCommand("INSERT INTO event_audit_log (event_timestamp, hostname, matched_rule_id, handling_decision, forwarded_to_moog, correlation_id, raw_message) VALUES ($1, $2, $3, $4, $5, $6, '{\"message\":\"x\"}')");
                cmd.Parameters.AddWithValue(now.AddMinutes(-i));
                cmd.Parameters.AddWithValue(i % 3 == 0 ? "core-router-01" : "edge-fw-01");
                cmd.Parameters.AddWithValue(i % 2 == 0 ? 1 : 2);
                cmd.Parameters.AddWithValue(i % 2 == 0 ? "Page_and_ticket" : "Suppress");
                cmd.Parameters.AddWithValue(i % 2 == 0);
                cmd.Parameters.AddWithValue($"corr-{i}");
                await cmd.ExecuteNonQueryAsync();
            }
        }
        var all = (await _api.GetFromJsonAsync<JsonObject>("/api/v2/audit-logs?page=2&page_size=7"))!;
        Assert.Equal(30, (int)all["total"]!);
        Assert.Equal(5, (int)all["total_pages"]!);
        Assert.Equal(7, all["items"]!.AsArray().Count);
        Assert.Equal("corr-7", (string)all["items"]![0]!["correlation_id"]!);

        var filtered = (await _api.GetFromJsonAsync<JsonObject>("/api/v2/audit-logs?hostname=core-router-01&forwarded=true"))!;
        Assert.Equal(5, (int)filtered["total"]!); // i = 0, 6, 12, 18, 24
        Assert.Equal(50, (int)filtered["page_size"]!);
        Assert.Equal(15, (int)(await _api.GetFromJsonAsync<JsonObject>("/api/v2/audit-logs?rule_id=2&decision=Suppress"))!["total"]!);
        Assert.Equal(1, (int)(await _api.GetFromJsonAsync<JsonObject>("/api/v1/audit-logs?correlation_id=corr-3"))!["total"]!);
        var start = Uri.EscapeDataString(DateTime.UtcNow.AddMinutes(-4.5).ToString("O"));
        Assert.Equal(5, (int)(await _api.GetFromJsonAsync<JsonObject>($"/api/v2/audit-logs?start_time={start}"))!["total"]!);
        var injection = Uri.EscapeDataString("x' OR '1'='1");
        Assert.Equal(0, (int)(await _api.GetFromJsonAsync<JsonObject>($"/api/v2/audit-logs?hostname={injection}"))!["total"]!);
        Assert.Equal(HttpStatusCode.BadRequest, (await _api.GetAsync("/api/v2/audit-logs?page=0")).StatusCode);
    }

    [Fact]
    public async Task Dynamic_config_is_typed_range_checked_audited_and_published()
    {
        var list = (await _api.GetFromJsonAsync<JsonArray>("/api/v2/config"))!;
        Assert.Equal(12, list.Count); // spec 004's 11 and issue 15's dedup_window_seconds
        Assert.Equal("300", (string)list.First(e => (string)e!["key"]! == "cache_reload_interval")!["value"]!);

        foreach (var (key, value) in new[] { ("cache_reload_interval", "abc"), ("moog_batch_size", "0"), ("alerter_shed_mode", "drop"), ("slo_ingest_success_target", "1.5") })
        {
            var bad = await _api.PutAsJsonAsync($"/api/v2/config/{key}", new { value });
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            Assert.Contains("value", await bad.Content.ReadAsStringAsync());
        }
        Assert.Equal(HttpStatusCode.NotFound, (await _api.PutAsJsonAsync("/api/v2/config/not_a_key", new { value = "1" })).StatusCode);
        Assert.False(await infra.Multiplexer.GetDatabase().KeyExistsAsync(MuttKeys.Config("cache_reload_interval")));

        var ok = await _api.PutAsJsonAsync("/api/v1/config/cache_reload_interval", new { value = "120", reason = "faster reload" });
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal("120", (string?)await infra.Multiplexer.GetDatabase().StringGetAsync(MuttKeys.Config("cache_reload_interval")));
        await WaitPublishedAsync("cache_reload_interval");
        var row = Assert.Single(await ConfigAuditRowsAsync("dynamic_config"));
        Assert.Equal("cache_reload_interval", (string)row["record_id"]!);
        Assert.Equal("120", (string)row["new_values"]!["value"]!);
        Assert.Equal("faster reload", (string)row["reason"]!);

        var audit = (await _api.GetFromJsonAsync<JsonObject>("/api/v2/config-audit?table_name=dynamic_config"))!;
        Assert.Equal(1, (int)audit["total"]!);
        Assert.Equal(0, (int)(await _api.GetFromJsonAsync<JsonObject>("/api/v2/config-audit?table_name=alert_rules"))!["total"]!);
    }

    [Fact]
    public async Task Metrics_report_queue_dlq_depths_and_event_rates_from_redis()
    {
        var db = infra.Multiplexer.GetDatabase();
        await db.ListLeftPushAsync(MuttKeys.IngestQueue, ["a", "b", "c"]);
        await db.ListLeftPushAsync(MuttKeys.AlertQueue, "x");
        await db.ListLeftPushAsync(MuttKeys.MoogDlq, ["d1", "d2"]);
        await db.ListLeftPushAsync(MuttKeys.Processing(MuttKeys.AlerterProcessingPrefix, "pod-1"), "p");
        await db.SetAddAsync(MuttKeys.ProcessingRegistry(MuttKeys.AlerterProcessingPrefix), "pod-1"); // as the pod's take does
        var minute = DateTimeOffset.UtcNow.ToUnixTimeSeconds() / 60;
        await db.StringSetAsync($"mutt:metrics:events:m:{minute - 1}", 6000);
        // Two replicas' flow counters: the Dashboard sums the per-pod hashes.
        await WriteFlowCountsAsync(db, "alerter-a", (FlowCounterNames.AlerterHandled, 40));
        await WriteFlowCountsAsync(db, "alerter-b", (FlowCounterNames.AlerterHandled, 2));

        var m = (await _api.GetFromJsonAsync<JsonObject>("/api/v2/metrics"))!;
        Assert.Equal(3, (long)m["queue_depths"]!["ingest"]!);
        Assert.Equal(1, (long)m["queue_depths"]!["alert"]!);
        Assert.Equal(2, (long)m["dlq_depths"]!["moog"]!);
        Assert.Equal(0, (long)m["dlq_depths"]!["alerter"]!);
        Assert.Equal(1, (long)m["processing"]!["mutt:processing:alerter:pod-1"]!);
        Assert.InRange((double)m["events_per_second_1m"]!, 6000 / 120.0, 6000 / 60.0);
        Assert.Equal(42, (long)m["counters"]!["alerter:handled"]!);
    }

    [Fact]
    public async Task Slo_burn_rate_comes_from_muTT_counters_without_prometheus()
    {
        var empty = (await _api.GetFromJsonAsync<JsonObject>("/api/v1/slo"))!;
        Assert.Equal("no_data", (string)empty["components"]![0]!["status"]!);

        var db = infra.Multiplexer.GetDatabase();
        await WriteFlowCountsAsync(db, "ingestor-a", (FlowCounterNames.IngestSuccess, 9000), (FlowCounterNames.IngestFailed, 10));
        await WriteFlowCountsAsync(db, "ingestor-b", (FlowCounterNames.IngestSuccess, 990)); // 99.9% over both → burn 0.2
        await WriteFlowCountsAsync(db, "forwarder-a", (FlowCounterNames.MoogSuccess, 970), (FlowCounterNames.MoogFailed, 30)); // 97% → burn 3.0
        var slo = (await _api.GetFromJsonAsync<JsonObject>("/api/v2/slo"))!;
        Assert.Equal("redis", (string)slo["source"]!);
        Assert.Equal(24, (int)slo["window_hours"]!);
        var ingest = slo["components"]![0]!;
        Assert.Equal("ingestor", (string)ingest["component"]!);
        Assert.Equal(0.995, (double)ingest["target"]!);
        Assert.Equal(0.2, (double)ingest["burn_rate"]!, 3);
        Assert.Equal("ok", (string)ingest["status"]!);
        var forward = slo["components"]![1]!;
        Assert.Equal(3.0, (double)forward["burn_rate"]!, 3);
        Assert.Equal("critical", (string)forward["status"]!);
    }

    [Fact]
    public async Task Dlq_entries_can_be_listed_inspected_replayed_and_deleted()
    {
        var db = infra.Multiplexer.GetDatabase();
        var payload = JsonSerializer.Serialize(new MuttEvent { Message = "replay me", Hostname = "h1", CorrelationId = "c-dlq-1", RetryCount = 4 }, MuttJsonContext.Default.MuttEvent);
        var first = new DeadLetter { Payload = payload, SourceQueue = MuttKeys.IngestQueue, Service = "alerter", Reason = "max_retries" };
        var second = new DeadLetter { Payload = "{\"message\":\"drop me\"}", SourceQueue = MuttKeys.IngestQueue, Service = "alerter", Reason = "poison" };
        await db.ListLeftPushAsync(MuttKeys.AlerterDlq, [JsonSerializer.Serialize(first, MuttJsonContext.Default.DeadLetter), JsonSerializer.Serialize(second, MuttJsonContext.Default.DeadLetter)]);

        var queues = (await _api.GetFromJsonAsync<JsonArray>("/api/v2/dlq"))!;
        Assert.Equal(2, (long)queues.First(q => (string)q!["name"]! == "alerter")!["depth"]!);
        var list = (await _api.GetFromJsonAsync<JsonObject>("/api/v2/dlq/alerter"))!;
        Assert.Equal(2, (long)list["total"]!);
        var inspected = (await _api.GetFromJsonAsync<JsonObject>($"/api/v1/dlq/alerter/{first.Id}"))!;
        Assert.Equal("max_retries", (string)inspected["reason"]!);
        Assert.Equal(HttpStatusCode.NotFound, (await _api.GetAsync("/api/v2/dlq/nope/x")).StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await _api.PostAsync($"/api/v2/dlq/alerter/{first.Id}/replay", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _api.PostAsync($"/api/v2/dlq/alerter/{first.Id}/replay", null)).StatusCode);
        var replayed = JsonSerializer.Deserialize((string)(await db.ListRightPopAsync(MuttKeys.IngestQueue))!, MuttJsonContext.Default.MuttEvent)!;
        Assert.Equal("c-dlq-1", replayed.CorrelationId);
        Assert.Equal(0, replayed.RetryCount);

        Assert.Equal(HttpStatusCode.NoContent, (await _api.DeleteAsync($"/api/v2/dlq/alerter/{second.Id}")).StatusCode);
        Assert.Equal(0, await db.ListLengthAsync(MuttKeys.AlerterDlq));
        Assert.Equal(0, await db.ListLengthAsync(MuttKeys.IngestQueue));
    }

    [Fact]
    public async Task Manual_replay_to_the_alert_queue_is_refused_with_409_while_the_moog_circuit_is_open()
    {
        var db = infra.Multiplexer.GetDatabase();
        var payload = JsonSerializer.Serialize(new AlertMessage { Message = "held", Hostname = "h2", CorrelationId = "c-dlq-open" }, MuttJsonContext.Default.AlertMessage);
        var letter = new DeadLetter { Payload = payload, SourceQueue = MuttKeys.AlertQueue, Service = "forwarder", Reason = "http_5xx", HttpStatus = 503 };
        await db.ListLeftPushAsync(MuttKeys.MoogDlq, JsonSerializer.Serialize(letter, MuttJsonContext.Default.DeadLetter));
        await db.StringSetAsync(MuttKeys.MoogCircuitState, "OPEN");

        var one = await _api.PostAsync($"/api/v2/dlq/moog/{letter.Id}/replay", null);
        Assert.Equal(HttpStatusCode.Conflict, one.StatusCode);
        Assert.Equal("application/problem+json", one.Content.Headers.ContentType?.MediaType);
        Assert.Contains("circuit", (string)(await one.Content.ReadFromJsonAsync<JsonObject>())!["title"]!, StringComparison.OrdinalIgnoreCase);
        var all = await _api.PostAsync("/api/v2/dlq/moog/replay", null);
        Assert.Equal(HttpStatusCode.Conflict, all.StatusCode);
        Assert.Equal(0, (int)(await all.Content.ReadFromJsonAsync<JsonObject>())!["replayed"]!);
        Assert.Equal(1, await db.ListLengthAsync(MuttKeys.MoogDlq));
        Assert.Equal(0, await db.ListLengthAsync(MuttKeys.AlertQueue));

        await db.StringSetAsync(MuttKeys.MoogCircuitState, "CLOSED");
        Assert.Equal(HttpStatusCode.OK, (await _api.PostAsync($"/api/v2/dlq/moog/{letter.Id}/replay", null)).StatusCode);
        Assert.Equal("c-dlq-open", JsonSerializer.Deserialize((string)(await db.ListRightPopAsync(MuttKeys.AlertQueue))!, MuttJsonContext.Default.AlertMessage)!.CorrelationId);
        Assert.Equal(0, (long)(await _api.GetFromJsonAsync<JsonObject>("/api/v2/dlq/moog"))!["total"]!);
        var replay = Assert.Single(await new DeadLetterOperations(infra.Multiplexer, new QueueNames()).HistoryAsync(payload));
        Assert.Equal("replay", replay.Action);
        Assert.StartsWith(Mutt.Dashboard.Auth.DashboardKeys.LegacyKeyName + ":", replay.Detail);
    }

    [Fact]
    public async Task Rule_tester_uses_the_alerter_matcher_with_hosts_and_teams()
    {
        var prod = (await (await _api.PostAsJsonAsync("/api/v2/rules/test", new { message = "LINK-DOWN on Gi0/1", hostname = "core-router-01" })).Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.True((bool)prod["matched"]!);
        Assert.Equal(2, (int)prod["rule"]!["id"]!);
        Assert.Equal("Page_and_ticket", (string)prod["handling"]!);
        Assert.Equal("NetOps", (string)prod["team"]!);
        Assert.True((bool)prod["forwarded"]!);

        var dev = (await (await _api.PostAsJsonAsync("/api/v1/rules/test", new { message = "LINK-DOWN on Gi0/1", hostname = "dev-router-01" })).Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal("Suppress", (string)dev["handling"]!);
        Assert.False((bool)dev["forwarded"]!);

        var none = (await (await _api.PostAsJsonAsync("/api/v2/rules/test", new { message = "all quiet", hostname = "x" })).Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.False((bool)none["matched"]!);
        Assert.Equal("unhandled", (string)none["handling"]!);
    }

    [Fact]
    public async Task Api_requests_are_counted_in_webui_metrics()
    {
        await _api.GetAsync("/api/v2/rules");
        var text = await Anonymous().GetStringAsync("/metrics");
        Assert.Contains("mutt_webui_api_requests_total", text);
        Assert.Contains("mutt_webui_api_latency_seconds", text);
    }
}
