using System.Net;
using Microsoft.Playwright;
using Mutt.Testing;
using Mutt.Tests.Infrastructure;
using Mutt.Tests.Integration;

namespace Mutt.Tests.Browser;

/// <summary>
/// Issue 17 in Chromium: what each role sees and may do, the audit trail naming people, a named
/// ingest key created and revoked in the Dashboard and refused by a running Ingestor, the sign-in
/// limit, and every page working under the Content-Security-Policy (any CSP violation fails).
/// </summary>
[Collection(InfrastructureCollection.Name)]
[Trait("Category", "System")]
public sealed class OperatorBrowserTests(InfrastructureFixture infra, ChromiumFixture chromium) : DashboardBrowserTest(infra, chromium, "browser-operators-legacy-key-42")
{
    private async Task SignInAsync(string username, string role)
    {
        await Dashboard.CreateUserAsync(username, role);
        await Browser.SignInAsync(username);
        Assert.Equal(role, await Page.Locator("#signed-in-role").InnerTextAsync());
    }

    [Fact]
    public async Task Every_page_renders_and_responds_under_the_content_security_policy()
    {
        await SignInAsync("ada", "admin");
        var document = await Browser.GoAsync("/rules");
        Assert.Contains("frame-ancestors 'none'", (await document!.AllHeadersAsync())["content-security-policy"], StringComparison.Ordinal);
        // Interactive: a click reaches the circuit and re-renders.
        await Page.ClickAsync("#new-rule");
        await Page.Locator("#rule-form").WaitForAsync();
        foreach (var path in new[] { "/", "/rule-tester", "/dev-hosts", "/teams", "/audit", "/config-audit", "/config", "/dlq", "/slo", "/maintenance", "/flapping-rules", "/webhook-mappings", "/users", "/api-keys" })
        {
            await Browser.GoAsync(path);
            await Page.Locator("h1").WaitForAsync();
        }
        await Browser.GoAsync("/rule-tester");
        await Page.ClickAsync("#run-test");
        await Browser.AssertNoCspViolationsAsync();
        await Browser.ShotAsync("operators-api-keys");
    }

    [Fact]
    public async Task Viewer_sees_no_edit_controls_and_the_api_answers_403()
    {
        await SignInAsync("vera", "viewer");
        await Browser.GoAsync("/rules");
        await Page.Locator("#rules-grid .rz-data-row").First.WaitForAsync();
        Assert.Equal(0, await Page.Locator("#new-rule").CountAsync());
        Assert.Equal(0, await Page.Locator(".edit-rule, .delete-rule").CountAsync());
        await Browser.GoAsync("/config");
        await Page.Locator("#config-table").WaitForAsync();
        Assert.Equal(0, await Page.Locator("[id^=cfg-save-]").CountAsync());
        await Browser.GoAsync("/dev-hosts");
        Assert.Equal(0, await Page.Locator("#add-host").CountAsync());
        await Browser.GoAsync("/dlq");
        Assert.Equal(0, await Page.Locator("#replay-all").CountAsync());
        await Browser.GoAsync("/webhook-mappings");
        await Page.Locator("#mappings-grid").WaitForAsync();
        Assert.Equal(0, await Page.Locator("#new-mapping").CountAsync());
        Assert.Equal(0, await Page.GetByText("Users").CountAsync());

        // The same session through the API: reading is fine, changing is 403 problem details.
        var read = await Page.APIRequest.GetAsync(Dashboard.BaseUrl + "/api/v2/rules");
        Assert.Equal(200, read.Status);
        var write = await Page.APIRequest.PostAsync(Dashboard.BaseUrl + "/api/v2/rules", new()
        {
            DataObject = new { match_string = "VIEWER", match_type = "contains", priority = 5, prod_handling = "Ticket_only", dev_handling = "Log_only", team_assignment = "T" },
        });
        Assert.Equal(403, write.Status);
        Assert.StartsWith("application/problem+json", write.Headers["content-type"]);
        Assert.Equal(403, (await Page.APIRequest.GetAsync(Dashboard.BaseUrl + "/api/v2/users")).Status);

        var users = await Browser.GotoAsync("/users");
        Assert.Equal(403, users!.Status);
        await Browser.ShotAsync("operators-viewer-forbidden");
    }

    [Fact]
    public async Task An_operators_rule_edit_shows_their_name_in_the_config_audit_page()
    {
        await SignInAsync("oscar", "operator");
        await Browser.GoAsync("/rules");
        await Page.Locator(".edit-rule").First.ClickAsync();
        await Page.FillAsync("#rule-priority", "77");
        await Page.FillAsync("#rule-reason", "raised by oscar in the browser test");
        await Page.ClickAsync("#save-rule");
        await Page.GetByText("saved.").WaitForAsync();

        await Browser.GoAsync("/config-audit?changed_by=oscar");
        var grid = Page.Locator("#config-audit-grid");
        await Eventually.WaitForAsync(async () => (await grid.InnerTextAsync()).Contains("raised by oscar in the browser test", StringComparison.Ordinal),
            TimeSpan.FromSeconds(30), "oscar's change in the config audit grid");
        var text = await grid.InnerTextAsync();
        Assert.Contains("oscar", text, StringComparison.Ordinal);
        Assert.Contains("UPDATE", text, StringComparison.Ordinal);
        Assert.Contains("alert_rules", text, StringComparison.Ordinal);
        await using (var ds = Npgsql.NpgsqlDataSource.Create(Db))
        {
            Assert.Equal("oscar", await ds.CreateCommand("SELECT string_agg(DISTINCT changed_by, ',') FROM config_audit_log WHERE table_name = 'alert_rules'").ExecuteScalarAsync());
        }
        await Browser.ShotAsync("operators-config-audit-by-oscar");
    }

    [Fact]
    public async Task An_admin_creates_and_revokes_an_ingest_key_and_the_ingestor_refuses_it_within_seconds()
    {
        // A long poll interval: the revocation must reach the Ingestor by the Dashboard's announcement.
        await using var ingestor = await IngestorTestHost.StartAsync(Infra, new Dictionary<string, string?>
        {
            ["ConnectionStrings__muttdb"] = Db,
            ["API_KEY_REFRESH_SECONDS"] = "120",
        });
        await SignInAsync("ada", "admin");
        await Browser.GoAsync("/api-keys");
        await Page.FillAsync("#key-name", "browser-source");
        await Page.SelectOptionAsync("#key-role", "ingest");
        await Page.ClickAsync("#create-key");
        var secret = (await Page.Locator("#new-key-secret").InnerTextAsync()).Trim();
        Assert.StartsWith("mutt_", secret, StringComparison.Ordinal);
        await Browser.ShotAsync("operators-key-created");

        const string Event = """{"timestamp":"2025-03-15T11:00:00Z","message":"from the browser source","hostname":"router-9"}""";
        await Eventually.WaitForAsync(async () =>
        {
            using var response = await ingestor.Http.SendAsync(ingestor.Post("/api/v2/ingest", Event, apiKey: secret));
            return response.StatusCode == HttpStatusCode.Accepted;
        }, TimeSpan.FromSeconds(15), "the Ingestor to accept the new key");

        await Page.Locator(".revoke-key[data-key=browser-source]").ClickAsync();
        await Page.GetByText("Key browser-source revoked.").WaitForAsync();
        var revoked = DateTime.UtcNow;
        await Eventually.WaitForAsync(async () =>
        {
            using var response = await ingestor.Http.SendAsync(ingestor.Post("/api/v2/ingest", Event, apiKey: secret));
            return response.StatusCode == HttpStatusCode.Unauthorized;
        }, TimeSpan.FromSeconds(5), "the Ingestor to refuse the revoked key");
        Assert.True(DateTime.UtcNow - revoked < TimeSpan.FromSeconds(5));
        // Counted under the key's name (its series exists at 0 from the moment the key is loaded: the accepted request moved it).
        var counted = (await ingestor.Http.GetStringAsync("/metrics")).Split('\n').Where(l => l.Contains("browser-source", StringComparison.Ordinal)).ToList();
        Assert.True(counted.Any(l => System.Text.RegularExpressions.Regex.IsMatch(l, "^mutt_ingest_requests_total\\{key=\"browser-source\",reason=\"ok\",status=\"success\"\\} [1-9]")),
            string.Join('\n', counted));
        await Browser.AssertNoCspViolationsAsync();
    }

    [Fact]
    public async Task The_eleventh_wrong_sign_in_within_a_minute_gets_429()
    {
        await Dashboard.CreateUserAsync("target", "admin");
        for (var i = 1; i <= 10; i++)
        {
            await Browser.GotoAsync("/login");
            await Browser.SubmitLoginAsync("target", "guess-" + i);
            await Page.Locator("#login-error").WaitForAsync();
        }
        await Browser.GotoAsync("/login");
        await Page.FillAsync("#username", "target");
        await Page.FillAsync("#password", DashboardProcess.Password);
        var response = await Page.RunAndWaitForResponseAsync(() => Page.ClickAsync("#sign-in"),
            r => r.Request.Method == "POST" && r.Url.EndsWith("/login", StringComparison.Ordinal));
        Assert.Equal(429, response.Status);
        Assert.InRange(int.Parse(response.Headers["retry-after"], System.Globalization.CultureInfo.InvariantCulture), 1, 60);
        Assert.DoesNotContain(Dashboard.Process.Output, line => line.Contains("guess-", StringComparison.Ordinal));
    }
}
