using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Mutt.Dashboard.Auth;
using Mutt.Tests.Infrastructure;
using Npgsql;

namespace Mutt.Tests.Integration;

/// <summary>Issue 17 through the Dashboard's HTTP surface: accounts, roles, named keys, the audit trail's names, brute-force limits, headers.</summary>
[Collection(InfrastructureCollection.Name)]
[Trait("Category", "Integration")]
public sealed class DashboardOperatorsTests(InfrastructureFixture infra) : IAsyncLifetime
{
    private const string LegacyKey = "test-webui-key-operators-0123";
    private const string Password = "a long enough passphrase";
    private DashboardApiFactory _factory = null!;
    private string _db = null!;
    private HttpClient _admin = null!;

    public async Task InitializeAsync()
    {
        await DashboardApiTests.ClearMuttKeysAsync(infra.Multiplexer);
        _db = await infra.CreateDatabaseAsync(seed: true);
        _factory = new DashboardApiFactory(infra.RedisConnectionString, _db, LegacyKey, new Dictionary<string, string> { ["API_KEY_REFRESH_SECONDS"] = "1" });
        _admin = Client(LegacyKey);
    }

    public async Task DisposeAsync() => await _factory.DisposeAsync();

    private HttpClient Client(string? key = null)
    {
        var client = _factory.CreateClient(new() { AllowAutoRedirect = false });
        if (key is not null)
        {
            client.DefaultRequestHeaders.Add("X-API-KEY", key);
        }
        return client;
    }

    private async Task<string> CreateKeyAsync(string name, string role)
    {
        var response = await _admin.PostAsJsonAsync("/api/v2/api-keys", new { name, role, reason = "test" });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal(name, (string)body["key"]!["name"]!);
        return (string)body["secret"]!;
    }

    /// <summary>A key is usable once the Dashboard's key ring has loaded it (at once on the publish, else within API_KEY_REFRESH_SECONDS).</summary>
    private static Task WaitUsableAsync(HttpClient client) =>
        Eventually.WaitForAsync(async () => (await client.GetAsync("/api/v2/rules")).StatusCode == HttpStatusCode.OK, TimeSpan.FromSeconds(15), "the new key to be accepted");

    private async Task<List<(string By, string Op, string Table, string? Record, string? NewValues)>> AuditAsync()
    {
        await using var ds = NpgsqlDataSource.Create(_db);
        await using var cmd = ds.CreateCommand("SELECT changed_by, operation, table_name, record_id, new_values::text FROM config_audit_log ORDER BY id");
        await using var reader = await cmd.ExecuteReaderAsync();
        var rows = new List<(string, string, string, string?, string?)>();
        while (await reader.ReadAsync())
        {
            rows.Add((reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3), reader.IsDBNull(4) ? null : reader.GetString(4)));
        }
        return rows;
    }

    private static object Rule(string match) => new
    {
        match_string = match, match_type = "contains", priority = 9, prod_handling = "Ticket_only", dev_handling = "Log_only", team_assignment = "NetOps", reason = "roles test",
    };

    [Fact]
    public async Task Each_role_does_what_it_may_and_gets_403_problem_details_beyond_it_and_the_audit_names_the_key()
    {
        var viewer = Client(await CreateKeyAsync("grafana-reader", "viewer"));
        var operatorKey = Client(await CreateKeyAsync("netops-automation", "operator"));
        var ingestOnly = Client(await CreateKeyAsync("solarwinds-dc1", "ingest"));
        await WaitUsableAsync(viewer);
        await WaitUsableAsync(operatorKey);

        Assert.Equal(HttpStatusCode.OK, (await viewer.GetAsync("/api/v2/config-audit")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await viewer.PostAsJsonAsync("/api/v2/rules/test", new { message = "x", hostname = "h" })).StatusCode);
        foreach (var (client, method, path, body) in new (HttpClient, HttpMethod, string, object?)[]
        {
            (viewer, HttpMethod.Post, "/api/v2/rules", Rule("VIEWER")),
            (viewer, HttpMethod.Put, "/api/v1/config/alerter_batch_size", new { value = "50" }),
            (viewer, HttpMethod.Post, "/api/v2/dlq/alerter/replay", null),
            (viewer, HttpMethod.Post, "/api/v2/dev-hosts", new { hostname = "h1" }),
            (operatorKey, HttpMethod.Get, "/api/v2/api-keys", null),
            (operatorKey, HttpMethod.Post, "/api/v2/users", new { username = "mallory", password = Password, role = "admin" }),
        })
        {
            var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
            var response = await client.SendAsync(request);
            Assert.True(response.StatusCode == HttpStatusCode.Forbidden, $"{method} {path}: {response.StatusCode}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal(403, (int)(await response.Content.ReadFromJsonAsync<JsonObject>())!["status"]!);
            Assert.True(response.Headers.Contains("X-Correlation-ID"));
        }
        // An ingest key is no Dashboard key at all.
        Assert.Equal(HttpStatusCode.Unauthorized, (await ingestOnly.GetAsync("/api/v2/rules")).StatusCode);

        Assert.Equal(HttpStatusCode.Created, (await operatorKey.PostAsJsonAsync("/api/v2/rules", Rule("OPERATOR-RULE"))).StatusCode);

        var rows = await AuditAsync();
        Assert.Contains(rows, r => r is { By: "netops-automation", Op: "CREATE", Table: "alert_rules" });
        Assert.Contains(rows, r => r is { By: DashboardKeys.LegacyKeyName, Op: "CREATE", Table: "api_keys", Record: "grafana-reader" });
        Assert.DoesNotContain(rows, r => r.Table == "alert_rules" && r.By != "netops-automation");
        // Secrets stay out of the trail: only name, role and the public prefix.
        Assert.All(rows.Where(r => r.Table == "api_keys"), r => Assert.DoesNotContain("mutt_", r.NewValues ?? "", StringComparison.Ordinal));
        Assert.Equal(0, await ScalarAsync("SELECT count(*) FROM alert_rules WHERE match_string = 'VIEWER'"));
    }

    [Fact]
    public void Every_api_route_asks_for_a_role_and_every_change_for_operator_or_admin()
    {
        var endpoints = _factory.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.StartsWith("/api/", StringComparison.Ordinal) == true).ToList();
        Assert.NotEmpty(endpoints);
        foreach (var endpoint in endpoints)
        {
            var policies = endpoint.Metadata.GetOrderedMetadata<IAuthorizeData>().Select(a => a.Policy).ToHashSet();
            var methods = endpoint.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()?.HttpMethods ?? [];
            var route = $"{string.Join(",", methods)} {endpoint.RoutePattern.RawText}";
            Assert.True(policies.Contains(MuttPolicies.Viewer), $"{route} has no role floor");
            var isAccounts = endpoint.RoutePattern.RawText!.Contains("/users", StringComparison.Ordinal) || endpoint.RoutePattern.RawText.Contains("/api-keys", StringComparison.Ordinal);
            if (isAccounts)
            {
                Assert.True(policies.Contains(MuttPolicies.Admin), $"{route} is not admin-only");
            }
            // The testers (rules, webhook mappings) change nothing: a viewer may run them.
            else if (!methods.SequenceEqual(["GET"]) && !endpoint.RoutePattern.RawText.EndsWith("/rules/test", StringComparison.Ordinal)
                && !endpoint.RoutePattern.RawText.EndsWith("/webhook-mappings/test", StringComparison.Ordinal))
            {
                Assert.True(policies.Contains(MuttPolicies.Operator), $"{route} changes something without the operator policy");
            }
        }
    }

    [Fact]
    public async Task Password_sign_in_names_the_person_in_the_audit_trail_and_wrong_passwords_meet_429_after_ten()
    {
        Assert.Equal(HttpStatusCode.Created, (await _admin.PostAsJsonAsync("/api/v2/users", new { username = "olivia", password = Password, role = "operator" })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await _admin.PostAsJsonAsync("/api/v2/users", new { username = "shorty", password = "short", role = "viewer" })).StatusCode);
        var anon = Client();

        var signIn = await anon.PostAsync("/login", Form("olivia", Password, "/rules"));
        Assert.Equal(HttpStatusCode.Redirect, signIn.StatusCode);
        Assert.Equal("/rules", signIn.Headers.Location!.OriginalString);
        var cookie = signIn.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("mutt.session=", StringComparison.Ordinal));
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);
        var session = cookie.Split(';')[0];

        var create = new HttpRequestMessage(HttpMethod.Post, "/api/v2/rules") { Content = JsonContent.Create(Rule("BY-OLIVIA")), Headers = { { "Cookie", session } } };
        Assert.Equal(HttpStatusCode.Created, (await anon.SendAsync(create)).StatusCode);
        var keys = new HttpRequestMessage(HttpMethod.Get, "/api/v2/api-keys") { Headers = { { "Cookie", session } } };
        Assert.Equal(HttpStatusCode.Forbidden, (await anon.SendAsync(keys)).StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, (await anon.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/logout") { Headers = { { "Cookie", session } } })).StatusCode);

        // Ten failures (a wrong password, an unknown user) are answered as such; the eleventh attempt meets 429, even with the right password.
        for (var i = 0; i < 10; i++)
        {
            var wrong = await anon.PostAsync("/login", i % 2 == 0 ? Form("olivia", "wrong-password-" + i, "/") : Form("nobody", "Secret-Typed-As-User-" + i, "/"));
            Assert.Equal(HttpStatusCode.Redirect, wrong.StatusCode);
            Assert.Contains("error=1", wrong.Headers.Location!.OriginalString, StringComparison.Ordinal);
        }
        var limited = await anon.PostAsync("/login", Form("olivia", Password, "/"));
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.InRange(int.Parse(limited.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture), 1, 60);
        Assert.True(limited.Headers.Contains("X-Correlation-ID"));
        var metrics = await anon.GetStringAsync("/metrics");
        Assert.Contains("mutt_auth_failures_total{reason=\"invalid\",surface=\"sign_in\"} 10", metrics, StringComparison.Ordinal);
        Assert.Contains("mutt_auth_failures_total{reason=\"rate_limited\",surface=\"sign_in\"} 1", metrics, StringComparison.Ordinal);

        var rows = await AuditAsync();
        Assert.Contains(rows, r => r is { By: "olivia", Op: "CREATE", Table: "alert_rules" });
        Assert.Contains(rows, r => r is { By: "olivia", Op: "SIGN_IN", Table: "operators", Record: "olivia" });
        Assert.Contains(rows, r => r is { By: "olivia", Op: "SIGN_OUT" });
        Assert.Equal(5, rows.Count(r => r is { By: "olivia", Op: "SIGN_IN_FAILED" }));
        Assert.Equal(5, rows.Count(r => r is { By: "(unknown user)", Op: "SIGN_IN_FAILED", Record: null }));
        Assert.Contains(rows, r => r is { By: DashboardKeys.LegacyKeyName, Op: "CREATE", Table: "operators", Record: "olivia" });
        Assert.DoesNotContain(rows, r => r.By is "webui" or "api-key" or "unknown");
        var everything = string.Join("\n", rows.Select(r => r.ToString())) + string.Join("\n", _factory.Logs);
        Assert.DoesNotContain("Secret-Typed-As-User", everything, StringComparison.Ordinal);
        Assert.DoesNotContain(Password, everything, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong-password", everything, StringComparison.Ordinal);
        Assert.Equal(0, await ScalarAsync("SELECT count(*) FROM operators WHERE password_hash LIKE '%passphrase%'"));
    }

    [Fact]
    public async Task A_revoked_key_is_refused_within_seconds_and_its_last_use_is_recorded()
    {
        var key = Client(await CreateKeyAsync("short-lived", "admin"));
        await WaitUsableAsync(key);
        await Eventually.WaitForAsync(async () => await ScalarAsync("SELECT count(*) FROM api_keys WHERE name = 'short-lived' AND last_used_at IS NOT NULL") == 1,
            TimeSpan.FromSeconds(15), "last_used_at to be written");

        var revoke = await _admin.DeleteAsync("/api/v2/api-keys/short-lived");
        Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
        Assert.False((bool)(await revoke.Content.ReadFromJsonAsync<JsonObject>())!["is_active"]!);
        await Eventually.WaitForAsync(async () => (await key.GetAsync("/api/v2/rules")).StatusCode == HttpStatusCode.Unauthorized, TimeSpan.FromSeconds(5), "the revoked key to be refused");
        Assert.Equal(HttpStatusCode.NotFound, (await _admin.DeleteAsync("/api/v2/api-keys/short-lived")).StatusCode);
        Assert.Contains(await AuditAsync(), r => r is { By: DashboardKeys.LegacyKeyName, Op: "REVOKE", Table: "api_keys", Record: "short-lived" });
    }

    [Fact]
    public async Task Responses_carry_the_security_headers()
    {
        var anon = Client();
        foreach (var path in new[] { "/login", "/health", "/api/v2/rules", "/" })
        {
            var response = await anon.GetAsync(path);
            var csp = response.Headers.GetValues("Content-Security-Policy").Single();
            Assert.Contains("frame-ancestors 'none'", csp, StringComparison.Ordinal);
            Assert.Contains("script-src 'self'", csp, StringComparison.Ordinal);
            Assert.DoesNotContain("unsafe-eval", csp, StringComparison.Ordinal);
            Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
            Assert.Equal("no-referrer", response.Headers.GetValues("Referrer-Policy").Single());
        }
    }

    private static FormUrlEncodedContent Form(string username, string password, string returnUrl) =>
        new(new Dictionary<string, string> { ["username"] = username, ["password"] = password, ["returnUrl"] = returnUrl });

    private async Task<long> ScalarAsync(string sql)
    {
        await using var ds = NpgsqlDataSource.Create(_db);
        return (long)(await ds.CreateCommand(sql).ExecuteScalarAsync())!;
    }
}
