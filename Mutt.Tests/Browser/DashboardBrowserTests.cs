using System.Text.Json;
using Microsoft.Playwright;
using Mutt.Testing;
using Mutt.Core.Events;
using Mutt.Core.Redis;
using Mutt.Tests.Infrastructure;
using Mutt.Tests.Integration;
using Npgsql;

namespace Mutt.Tests.Browser;

/// <summary>
/// The Dashboard as a real Kestrel child process, driven by Debian's Chromium through Playwright.
/// Screenshots of each page go to TestResults/screenshots at the repository root.
/// </summary>
[Collection(InfrastructureCollection.Name)]
[Trait("Category", "Integration")]
public sealed class DashboardBrowserTests(InfrastructureFixture infra, ChromiumFixture chromium) : DashboardBrowserTest(infra, chromium, "browser-test-key-42")
{
    private async Task SignInAsync()
    {
        await Dashboard.CreateUserAsync("browser-admin", "admin");
        await Browser.SignInAsync("browser-admin", "/");
    }

    private Task GoAsync(string path) => Browser.GoAsync(path);

    private Task ShotAsync(string name) => Browser.ShotAsync(name);

    private Task WaitTextAsync(string selector, Func<string, bool> done, string what) => Browser.WaitTextAsync(selector, done, what);

    [Theory]
    [InlineData("Production")]
    [InlineData("Development")]
    public async Task Framework_blazor_script_and_Radzen_assets_load_from_the_build_output_and_the_circuit_connects(string environment)
    {
        if (environment != "Production")
        {
            await Dashboard.StartAgainAsync(environment);
        }
        var failed = new List<string>();
        Page.RequestFailed += (_, request) => failed.Add(request.Url);
        Page.Response += (_, response) =>
        {
            if (response.Status >= 400)
            {
                failed.Add($"{response.Status} {response.Url}");
            }
        };

        await SignInAsync(); // waits for #circuit-ready: the circuit is connected
        var scripts = await Page.EvalOnSelectorAllAsync<string[]>("script[src]", "s => s.map(e => e.getAttribute('src'))");
        var blazorScript = Assert.Single(scripts, s => s.Contains("blazor.web", StringComparison.Ordinal));
        Assert.StartsWith("_framework/blazor.web", blazorScript);
        Assert.Contains(scripts, s => s.StartsWith("_content/Radzen.Blazor/Radzen.Blazor", StringComparison.Ordinal));
        Assert.True(await Page.EvaluateAsync<bool>("() => typeof Blazor.resumeCircuit === 'function'"), "window.Blazor is .NET 10's (resumeCircuit)");
        Assert.NotEmpty((await Page.EvaluateAsync<string>("() => getComputedStyle(document.body).getPropertyValue('--rz-primary')")).Trim());
        Assert.Equal(0, await Page.EvaluateAsync<int>("() => document.getElementById('components-reconnect-modal').open ? 1 : 0"));
        await ShotAsync("overview-" + environment.ToLowerInvariant());

        // The framework's own file, served by MapStaticAssets (ETag), not a copy extracted from a .NET 9 assembly.
        var response = await Page.APIRequest.GetAsync(Dashboard.BaseUrl + "/_framework/blazor.web.js");
        Assert.Equal(200, response.Status);
        Assert.StartsWith("text/javascript", response.Headers["content-type"]);
        Assert.True(response.Headers.ContainsKey("etag"), "static asset endpoints send an ETag");
        var script = await response.TextAsync();
        Assert.Contains("resumeCircuit", script);
        Assert.Contains("components-reconnect-state-changed", script);
        // The page links the fingerprinted name of the same file.
        Assert.Matches(@"^_framework/blazor\.web\.[a-z0-9]+\.js$", blazorScript);
        Assert.Equal(script, await (await Page.APIRequest.GetAsync(Dashboard.BaseUrl + "/" + blazorScript)).TextAsync());

        var output = Path.GetDirectoryName(ServiceProcess.AssemblyPath(ChildService.RepositoryRoot, "Mutt.Dashboard"))!;
        Assert.False(Directory.Exists(Path.Combine(output, "blazor-script")), "no .NET 9 assembly copied for its embedded script");
        using var endpoints = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(output, "Mutt.Dashboard.staticwebassets.endpoints.json")));
        Assert.Contains(endpoints.RootElement.GetProperty("Endpoints").EnumerateArray(), e => e.GetProperty("Route").GetString() == "_framework/blazor.web.js");
        Assert.Empty(failed);
    }

    [Fact]
    public async Task Reconnect_dialog_shows_while_the_server_is_gone_and_the_page_reloads_when_it_is_back()
    {
        await SignInAsync();
        await Page.EvaluateAsync("() => window.beforeRestart = true");
        await Dashboard.Process.KillAsync();
        await Page.Locator("#components-reconnect-modal[open]").WaitForAsync(new() { State = WaitForSelectorState.Visible });
        await ShotAsync("reconnect");

        // A new process has no record of the old circuit: blazor.web.js reports "rejected" and
        // ReconnectModal.razor.js reloads the page.
        await Dashboard.StartAgainAsync();
        await Eventually.WaitForAsync(async () =>
        {
            try
            {
                return await Page.EvaluateAsync<bool>("() => window.beforeRestart === undefined");
            }
            catch (PlaywrightException)
            {
                return false; // the reload is under way
            }
        }, TimeSpan.FromSeconds(60), "the page to reload once the server is back");
        await Page.WaitForLoadStateAsync(LoadState.Load);
        Assert.False(await Page.Locator("#components-reconnect-modal[open]").IsVisibleAsync());
    }

    [Fact]
    public async Task Wrong_password_is_refused_on_the_login_page()
    {
        await Dashboard.CreateUserAsync("browser-admin", "admin");
        await Browser.GotoAsync("/rules");
        await ShotAsync("login");
        await Browser.SubmitLoginAsync("browser-admin", "not-the-password");
        await Page.Locator("#login-error").WaitForAsync();
        Assert.Contains("/login", Page.Url);
    }

    [Fact]
    public async Task Operator_signs_in_creates_a_rule_sees_it_in_the_grid_and_tests_it()
    {
        await SignInAsync();
        await GoAsync("/rules");
        await Page.ClickAsync("#new-rule");
        await Page.FillAsync("#rule-match-string", "FAN-FAILURE");
        await Page.FillAsync("#rule-priority", "3");
        await Page.SelectOptionAsync("#rule-prod", "Page_and_ticket");
        await Page.SelectOptionAsync("#rule-dev", "Email_only");
        await Page.ClickAsync("#save-rule");
        // Team missing: the form says so and nothing is written.
        await Page.Locator(".field-error[data-field=team_assignment]").WaitForAsync();
        await ShotAsync("rules-validation");

        await Page.FillAsync("#rule-team", "Facilities");
        await Page.FillAsync("#rule-reason", "browser test");
        await Page.ClickAsync("#save-rule");
        await Page.Locator("#rules-grid").GetByText("FAN-FAILURE").WaitForAsync();
        await Page.Locator("#rules-grid").GetByText("Facilities").WaitForAsync();
        await ShotAsync("rules");

        await using (var ds = NpgsqlDataSource.Create(Db))
        {
            Assert.Equal(1L, await ds.CreateCommand("SELECT count(*) FROM config_audit_log WHERE table_name = 'alert_rules' AND changed_by = 'browser-admin' AND reason = 'browser test'").ExecuteScalarAsync());
        }

        await GoAsync("/rule-tester");
        await Page.FillAsync("#test-message", "PSU 2 FAN-FAILURE detected");
        await Page.FillAsync("#test-hostname", "core-switch-01");
        await Page.ClickAsync("#run-test");
        await Page.Locator("#test-result").WaitForAsync();
        Assert.Contains("FAN-FAILURE", await Page.InnerTextAsync("#result-rule"));
        Assert.Equal("Page_and_ticket", (await Page.InnerTextAsync("#result-handling")).Trim());
        Assert.Equal("NetOps", (await Page.InnerTextAsync("#result-team")).Trim()); // device_teams overrides the rule's team
        Assert.Equal("yes", (await Page.InnerTextAsync("#result-forwarded")).Trim());
        await ShotAsync("rule-tester");

        await Page.FillAsync("#test-json", "{\"message\": \"FAN-FAILURE in lab\", \"hostname\": \"dev-router-01\"}");
        await Page.Locator("#test-json").BlurAsync();
        await Eventually.WaitForAsync(async () => await Page.InputValueAsync("#test-hostname") == "dev-router-01", TimeSpan.FromSeconds(30), "pasted event fills the fields");
        await Page.ClickAsync("#run-test");
        await WaitTextAsync("#result-handling", t => t.Trim() == "Email_only", "dev handling for a dev host");
    }

    [Fact]
    public async Task Overview_numbers_and_charts_move_as_events_arrive()
    {
        await SignInAsync();
        await WaitTextAsync("#sample-count", t => t.StartsWith("2 ", StringComparison.Ordinal) || int.Parse(t.Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) >= 2, "two samples");
        Assert.Equal("0", (await Page.InnerTextAsync("#kpi-ingest-depth .kpi-value")).Trim());

        var db = Infra.Multiplexer.GetDatabase();
        await db.ListLeftPushAsync(MuttKeys.IngestQueue, Enumerable.Range(0, 25).Select(i => (StackExchange.Redis.RedisValue)$"{{\"message\":\"e{i}\"}}").ToArray());
        await db.ListLeftPushAsync(MuttKeys.MoogDlq, "{\"payload\":\"x\"}");
        var minute = DateTimeOffset.UtcNow.ToUnixTimeSeconds() / 60;
        await db.StringIncrementAsync($"mutt:metrics:events:m:{minute}", 500);
        await DashboardApiTests.WriteFlowCountsAsync(db, "alerter-browser", (FlowCounterNames.AlerterHandled, 300));
        await DashboardApiTests.WriteFlowCountsAsync(db, "forwarder-browser", (FlowCounterNames.MoogSuccess, 90), (FlowCounterNames.MoogFailed, 10));

        await WaitTextAsync("#kpi-ingest-depth .kpi-value", t => t.Trim() == "25", "ingest depth 25 on the overview");
        await WaitTextAsync("#kpi-dlq-moog .kpi-value", t => t.Trim() == "1", "moog DLQ depth 1");
        await WaitTextAsync("#kpi-events-in .kpi-value", t => double.TryParse(t, System.Globalization.CultureInfo.InvariantCulture, out var v) && v > 0, "events in per second above 0");
        await WaitTextAsync("#kpi-moog-success .kpi-value", t => t.Contains("90", StringComparison.Ordinal), "Moogsoft success 90 %");
        Assert.True(await Page.Locator("#chart-rates svg path").CountAsync() > 0, "the rates chart draws lines");
        await ShotAsync("overview");
    }

    [Fact]
    public async Task Replaying_a_dead_letter_puts_it_back_on_the_ingest_queue()
    {
        var db = Infra.Multiplexer.GetDatabase();
        var payload = JsonSerializer.Serialize(new MuttEvent { Message = "from the DLQ", Hostname = "h9", CorrelationId = "browser-dlq-1", RetryCount = 3 }, MuttJsonContext.Default.MuttEvent);
        var letter = new DeadLetter { Payload = payload, SourceQueue = MuttKeys.IngestQueue, Service = "alerter", Reason = "max_retries_exceeded" };
        await db.ListLeftPushAsync(MuttKeys.AlerterDlq, JsonSerializer.Serialize(letter, MuttJsonContext.Default.DeadLetter));

        await SignInAsync();
        await GoAsync("/dlq");
        await Page.Locator("#dlq-grid").GetByText("max_retries_exceeded").WaitForAsync();
        await ShotAsync("dlq");
        await Page.Locator(".replay-dlq").First.ClickAsync();

        await Eventually.WaitForAsync(async () => await db.ListLengthAsync(MuttKeys.AlerterDlq) == 0, TimeSpan.FromSeconds(30), "the DLQ to empty");
        var replayed = JsonSerializer.Deserialize((string)(await db.ListRightPopAsync(MuttKeys.IngestQueue))!, MuttJsonContext.Default.MuttEvent)!;
        Assert.Equal("browser-dlq-1", replayed.CorrelationId);
        await WaitTextAsync("#dlq-total", t => t.StartsWith("0 ", StringComparison.Ordinal), "the page to show an empty DLQ");
    }

    [Fact]
    public async Task Replay_while_the_moog_circuit_is_open_is_refused_with_a_message_and_the_entry_stays()
    {
        var db = Infra.Multiplexer.GetDatabase();
        var payload = JsonSerializer.Serialize(new AlertMessage { Message = "held back", Hostname = "h8", CorrelationId = "browser-dlq-open" }, MuttJsonContext.Default.AlertMessage);
        var letter = new DeadLetter { Payload = payload, SourceQueue = MuttKeys.AlertQueue, Service = "forwarder", Reason = "http_5xx", HttpStatus = 503 };
        await db.ListLeftPushAsync(MuttKeys.MoogDlq, JsonSerializer.Serialize(letter, MuttJsonContext.Default.DeadLetter));
        await db.StringSetAsync(MuttKeys.MoogCircuitState, "OPEN");

        await SignInAsync();
        await GoAsync("/dlq");
        await Page.ClickAsync("#queue-moog");
        await Page.Locator("#dlq-grid").GetByText("http_5xx").WaitForAsync();
        await Page.Locator(".replay-dlq").First.ClickAsync();

        await WaitTextAsync("#status-message", t => t.Contains("circuit breaker is OPEN", StringComparison.Ordinal), "the circuit-open message");
        await ShotAsync("dlq-circuit-open");
        Assert.Equal(1, await db.ListLengthAsync(MuttKeys.MoogDlq));
        Assert.Equal(0, await db.ListLengthAsync(MuttKeys.AlertQueue));
    }

    [Fact]
    public async Task Operator_makes_a_webhook_mapping_tests_sample_bodies_and_saves_it_audited()
    {
        await SignInAsync();
        await GoAsync("/webhook-mappings");
        await Page.ClickAsync("#new-mapping");
        await Page.FillAsync("#mapping-name", "solarwinds");
        await Page.FillAsync("#mapping-hostname", "Node.Caption");
        await Page.FillAsync("#mapping-message", "AlertMessage");
        await Page.FillAsync("#mapping-severity", "Severity");
        await Page.FillAsync("#mapping-severity-map", "Critical=2, Warning=4");
        await Page.FillAsync("#mapping-timestamp", "TimeOfAlert");
        await Page.FillAsync("#mapping-sample", Unit.AlertWebhookParserTests.Payload("solarwinds-alert.json"));
        await Page.ClickAsync("#test-mapping");
        await Page.Locator("#mapping-test-accepted").WaitForAsync();
        var shown = await Page.InnerTextAsync(".mapping-test-event");
        Assert.Contains("\"hostname\": \"core-rtr-02\"", shown, StringComparison.Ordinal);
        Assert.Contains("\"syslog_severity\": 2", shown, StringComparison.Ordinal);
        Assert.Contains("\"source\": \"solarwinds\"", shown, StringComparison.Ordinal);
        await ShotAsync("webhook-mapping-tester");

        // A body without the host: the tester names the field the Ingestor's 400 would name.
        await Page.FillAsync("#mapping-sample", "{\"AlertMessage\": \"no node\"}");
        await Page.ClickAsync("#test-mapping");
        await Page.Locator("#mapping-test-refused").WaitForAsync();
        Assert.Contains("hostname", await Page.InnerTextAsync(".mapping-test-error"), StringComparison.Ordinal);

        await Page.FillAsync("#mapping-reason", "browser test");
        await Page.ClickAsync("#save-mapping");
        await Page.Locator("#mappings-grid").GetByText("Node.Caption").WaitForAsync();
        await ShotAsync("webhook-mappings");
        await using var ds = NpgsqlDataSource.Create(Db);
        Assert.Equal(1L, await ds.CreateCommand(
            "SELECT count(*) FROM config_audit_log WHERE table_name = 'webhook_mappings' AND record_id = 'solarwinds' AND operation = 'CREATE' AND changed_by = 'browser-admin' AND reason = 'browser test'")
            .ExecuteScalarAsync());
    }

    [Fact]
    public async Task Every_page_renders_and_the_config_editor_rejects_bad_values()
    {
        await SignInAsync();
        foreach (var (path, heading, shot) in new[]
        {
            ("/dev-hosts", "Development hosts", "dev-hosts"), ("/teams", "Device teams", "teams"), ("/audit", "Event audit log", "audit-log"),
            ("/config-audit", "Configuration changes", "config-audit"), ("/slo", "SLO status", "slo"), ("/config", "Live configuration", "config"),
        })
        {
            await GoAsync(path);
            Assert.Equal(heading, (await Page.InnerTextAsync("h1")).Trim());
            await ShotAsync(shot);
        }

        await Page.FillAsync("#cfg-moog_batch_size", "0");
        await Page.ClickAsync("#cfg-save-moog_batch_size");
        await Page.Locator(".field-error[data-field=moog_batch_size]").WaitForAsync();
        Assert.False(await Infra.Multiplexer.GetDatabase().KeyExistsAsync(MuttKeys.Config("moog_batch_size")));

        await Page.FillAsync("#cfg-moog_batch_size", "250");
        await Page.ClickAsync("#cfg-save-moog_batch_size");
        await Eventually.WaitForAsync(async () => (string?)await Infra.Multiplexer.GetDatabase().StringGetAsync(MuttKeys.Config("moog_batch_size")) == "250",
            TimeSpan.FromSeconds(30), "moog_batch_size = 250 in Redis");
        await ShotAsync("config-saved");
    }
}
