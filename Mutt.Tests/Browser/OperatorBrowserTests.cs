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
public sealed class OperatorBrowserTests(InfrastructureFixture infra) : IAsyncLifetime
{
    private const string LegacyKey = "browser-operators-legacy-key-42";
    private ServiceProcess _app = null!;
    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;
    private IPage _page = null!;
    private string _baseUrl = null!;
    private string _db = null!;
    private readonly List<string> _cspViolations = [];

    public async Task InitializeAsync()
    {
        await DashboardApiTests.ClearMuttKeysAsync(infra.Multiplexer);
        _db = await infra.CreateDatabaseAsync(seed: true);
        _baseUrl = ChildService.FreeUrl();
        _app = await ChildService.StartAsync("dashboard", "Mutt.Dashboard", _baseUrl, new Dictionary<string, string?>
        {
            ["ConnectionStrings__redis"] = infra.RedisConnectionString,
            ["ConnectionStrings__muttdb"] = _db,
            ["WEBUI_API_KEY"] = LegacyKey,
            ["LOG_JSON_ENABLED"] = "false",
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["DOTNET_ENVIRONMENT"] = "Production",
        });
        _playwright = await Playwright.CreateAsync();
        _browser = await Chromium.LaunchAsync(_playwright);
        _page = await _browser.NewPageAsync(new() { ViewportSize = new() { Width = 1400, Height = 900 } });
        _page.SetDefaultTimeout(30_000);
        // Both ways a violation shows: the console error and the DOM event (which also catches report-only cases).
        _page.Console += (_, message) =>
        {
            if (message.Text.Contains("Content Security Policy", StringComparison.OrdinalIgnoreCase))
            {
                lock (_cspViolations)
                {
                    _cspViolations.Add(message.Text);
                }
            }
        };
        await _page.AddInitScriptAsync("""
            window.__csp = [];
            document.addEventListener('securitypolicyviolation', e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sample));
            """);
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }
        _playwright?.Dispose();
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }

    private async Task SignInAsync(string username, string role)
    {
        await DashboardAccounts.CreateUserAsync(_baseUrl, LegacyKey, username, DashboardAccounts.Password, role);
        await _page.GotoAsync(_baseUrl + "/login");
        await _page.FillAsync("#username", username);
        await _page.FillAsync("#password", DashboardAccounts.Password);
        await _page.ClickAsync("#sign-in");
        await _page.WaitForURLAsync(_baseUrl + "/");
        await WaitInteractiveAsync();
        Assert.Equal(role, await _page.Locator("#signed-in-role").InnerTextAsync());
    }

    private async Task GoAsync(string path)
    {
        await _page.GotoAsync(_baseUrl + path);
        await WaitInteractiveAsync();
    }

    private Task WaitInteractiveAsync() => _page.Locator("#circuit-ready").WaitForAsync(new() { State = WaitForSelectorState.Attached });

    private async Task AssertNoCspViolationsAsync()
    {
        var dom = await _page.EvaluateAsync<string[]>("() => window.__csp || []");
        lock (_cspViolations)
        {
            Assert.True(_cspViolations.Count == 0 && dom.Length == 0, "CSP violations: " + string.Join(" | ", _cspViolations.Concat(dom)));
        }
    }

    [Fact]
    public async Task Every_page_renders_and_responds_under_the_content_security_policy()
    {
        await SignInAsync("ada", "admin");
        var document = await _page.GotoAsync(_baseUrl + "/rules");
        Assert.Contains("frame-ancestors 'none'", (await document!.AllHeadersAsync())["content-security-policy"], StringComparison.Ordinal);
        await WaitInteractiveAsync();
        // Interactive: a click reaches the circuit and re-renders.
        await _page.ClickAsync("#new-rule");
        await _page.Locator("#rule-form").WaitForAsync();
        foreach (var path in new[] { "/", "/rule-tester", "/dev-hosts", "/teams", "/audit", "/config-audit", "/config", "/dlq", "/slo", "/maintenance", "/flapping-rules", "/webhook-mappings", "/users", "/api-keys" })
        {
            await GoAsync(path);
            await _page.Locator("h1").WaitForAsync();
        }
        await GoAsync("/rule-tester");
        await _page.ClickAsync("#run-test");
        await AssertNoCspViolationsAsync();
        await _page.ScreenshotAsync("operators-api-keys");
    }

    [Fact]
    public async Task Viewer_sees_no_edit_controls_and_the_api_answers_403()
    {
        await SignInAsync("vera", "viewer");
        await GoAsync("/rules");
        await _page.Locator("#rules-grid .rz-data-row").First.WaitForAsync();
        Assert.Equal(0, await _page.Locator("#new-rule").CountAsync());
        Assert.Equal(0, await _page.Locator(".edit-rule, .delete-rule").CountAsync());
        await GoAsync("/config");
        await _page.Locator("#config-table").WaitForAsync();
        Assert.Equal(0, await _page.Locator("[id^=cfg-save-]").CountAsync());
        await GoAsync("/dev-hosts");
        Assert.Equal(0, await _page.Locator("#add-host").CountAsync());
        await GoAsync("/dlq");
        Assert.Equal(0, await _page.Locator("#replay-all").CountAsync());
        await GoAsync("/webhook-mappings");
        await _page.Locator("#mappings-grid").WaitForAsync();
        Assert.Equal(0, await _page.Locator("#new-mapping").CountAsync());
        Assert.Equal(0, await _page.GetByText("Users").CountAsync());

        // The same session through the API: reading is fine, changing is 403 problem details.
        var read = await _page.APIRequest.GetAsync(_baseUrl + "/api/v2/rules");
        Assert.Equal(200, read.Status);
        var write = await _page.APIRequest.PostAsync(_baseUrl + "/api/v2/rules", new()
        {
            DataObject = new { match_string = "VIEWER", match_type = "contains", priority = 5, prod_handling = "Ticket_only", dev_handling = "Log_only", team_assignment = "T" },
        });
        Assert.Equal(403, write.Status);
        Assert.StartsWith("application/problem+json", write.Headers["content-type"]);
        Assert.Equal(403, (await _page.APIRequest.GetAsync(_baseUrl + "/api/v2/users")).Status);

        var users = await _page.GotoAsync(_baseUrl + "/users");
        Assert.Equal(403, users!.Status);
        await _page.ScreenshotAsync("operators-viewer-forbidden");
    }

    [Fact]
    public async Task An_operators_rule_edit_shows_their_name_in_the_config_audit_page()
    {
        await SignInAsync("oscar", "operator");
        await GoAsync("/rules");
        await _page.Locator(".edit-rule").First.ClickAsync();
        await _page.FillAsync("#rule-priority", "77");
        await _page.FillAsync("#rule-reason", "raised by oscar in the browser test");
        await _page.ClickAsync("#save-rule");
        await _page.GetByText("saved.").WaitForAsync();

        await GoAsync("/config-audit?changed_by=oscar");
        var grid = _page.Locator("#config-audit-grid");
        await Eventually.WaitForAsync(async () => (await grid.InnerTextAsync()).Contains("raised by oscar in the browser test", StringComparison.Ordinal),
            TimeSpan.FromSeconds(30), "oscar's change in the config audit grid");
        var text = await grid.InnerTextAsync();
        Assert.Contains("oscar", text, StringComparison.Ordinal);
        Assert.Contains("UPDATE", text, StringComparison.Ordinal);
        Assert.Contains("alert_rules", text, StringComparison.Ordinal);
        await using (var ds = Npgsql.NpgsqlDataSource.Create(_db))
        {
            Assert.Equal("oscar", await ds.CreateCommand("SELECT string_agg(DISTINCT changed_by, ',') FROM config_audit_log WHERE table_name = 'alert_rules'").ExecuteScalarAsync());
        }
        await _page.ScreenshotAsync("operators-config-audit-by-oscar");
    }

    [Fact]
    public async Task An_admin_creates_and_revokes_an_ingest_key_and_the_ingestor_refuses_it_within_seconds()
    {
        // A long poll interval: the revocation must reach the Ingestor by the Dashboard's announcement.
        await using var ingestor = await IngestorTestHost.StartAsync(infra, new Dictionary<string, string?>
        {
            ["ConnectionStrings__muttdb"] = _db,
            ["API_KEY_REFRESH_SECONDS"] = "120",
        });
        await SignInAsync("ada", "admin");
        await GoAsync("/api-keys");
        await _page.FillAsync("#key-name", "browser-source");
        await _page.SelectOptionAsync("#key-role", "ingest");
        await _page.ClickAsync("#create-key");
        var secret = (await _page.Locator("#new-key-secret").InnerTextAsync()).Trim();
        Assert.StartsWith("mutt_", secret, StringComparison.Ordinal);
        await _page.ScreenshotAsync("operators-key-created");

        const string Event = """{"timestamp":"2025-03-15T11:00:00Z","message":"from the browser source","hostname":"router-9"}""";
        await Eventually.WaitForAsync(async () =>
        {
            using var response = await ingestor.Http.SendAsync(ingestor.Post("/api/v2/ingest", Event, apiKey: secret));
            return response.StatusCode == HttpStatusCode.Accepted;
        }, TimeSpan.FromSeconds(15), "the Ingestor to accept the new key");

        await _page.Locator(".revoke-key[data-key=browser-source]").ClickAsync();
        await _page.GetByText("Key browser-source revoked.").WaitForAsync();
        var revoked = DateTime.UtcNow;
        await Eventually.WaitForAsync(async () =>
        {
            using var response = await ingestor.Http.SendAsync(ingestor.Post("/api/v2/ingest", Event, apiKey: secret));
            return response.StatusCode == HttpStatusCode.Unauthorized;
        }, TimeSpan.FromSeconds(5), "the Ingestor to refuse the revoked key");
        Assert.True(DateTime.UtcNow - revoked < TimeSpan.FromSeconds(5));
        Assert.Contains("browser-source", await ingestor.Http.GetStringAsync("/metrics"), StringComparison.Ordinal);
        await AssertNoCspViolationsAsync();
    }

    [Fact]
    public async Task The_eleventh_wrong_sign_in_within_a_minute_gets_429()
    {
        await DashboardAccounts.CreateUserAsync(_baseUrl, LegacyKey, "target", DashboardAccounts.Password, "admin");
        for (var i = 1; i <= 10; i++)
        {
            await _page.GotoAsync(_baseUrl + "/login");
            await _page.FillAsync("#username", "target");
            await _page.FillAsync("#password", "guess-" + i);
            await _page.ClickAsync("#sign-in");
            await _page.Locator("#login-error").WaitForAsync();
        }
        await _page.GotoAsync(_baseUrl + "/login");
        await _page.FillAsync("#username", "target");
        await _page.FillAsync("#password", DashboardAccounts.Password);
        var response = await _page.RunAndWaitForResponseAsync(() => _page.ClickAsync("#sign-in"),
            r => r.Request.Method == "POST" && r.Url.EndsWith("/login", StringComparison.Ordinal));
        Assert.Equal(429, response.Status);
        Assert.InRange(int.Parse(response.Headers["retry-after"], System.Globalization.CultureInfo.InvariantCulture), 1, 60);
        Assert.DoesNotContain(_app.Output, line => line.Contains("guess-", StringComparison.Ordinal));
    }
}
