using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Mutt.Testing;
using Mutt.Tests.Browser;
using Mutt.Tests.Infrastructure;
using Mutt.Tests.Reliability;
using Mutt.Tests.Deployment;

namespace Mutt.Tests.EndToEnd;

/// <summary>
/// The AppHost as a user runs it: its own process (<c>dotnet Mutt.AppHost.dll</c>, what
/// <c>./mutt.sh run</c> ends in), with the Aspire dashboard, driven by Debian's Chromium, then stopped
/// by SIGTERM. The other system suites start the same model through Aspire.Hosting.Testing; only
/// the real process shows its output, the dashboard with the services' OTLP telemetry, and what its
/// shutdown leaves behind.
/// </summary>
[Collection(AppHostCollection.Name)]
[Trait("Category", "System")]
public sealed partial class AppHostProcessTests(ChromiumFixture chromium)
{
    private static readonly TimeSpan StartDeadline = TimeSpan.FromMinutes(4);
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);

    [GeneratedRegex(@"Login to the dashboard at (?<url>http://\S+/login\?t=\w+)")]
    private static partial Regex LoginLine();

    [GeneratedRegex(@"MUTT is up\. Operator console: (?<console>http://\S+)")]
    private static partial Regex UpLine();

    [GeneratedRegex(@"Trace Id: (?<id>[0-9a-f]{32})")]
    private static partial Regex TraceIdTitle();

    [GeneratedRegex(@"t=\w+")]
    private static partial Regex LoginToken();

    [Fact]
    public async Task Run_shows_every_resource_healthy_in_the_Aspire_dashboard_traces_an_event_end_to_end_and_SIGTERM_leaves_no_process()
    {
        var stateDir = NewStateDir();
        var ports = FreePorts(3);
        var dashboard = $"http://127.0.0.1:{ports[0]}";
        try
        {
            await using var apphost = ServiceProcess.Start("apphost", DeployTestSupport.AppHostAssembly(), new Dictionary<string, string?>
            {
                // Plain HTTP on free ports rather than the developer certificate: the test must not need (or
                // create) a certificate in the machine's trust store, and Chromium then needs no exceptions.
                ["ASPIRE_ALLOW_UNSECURED_TRANSPORT"] = "true",
                ["ASPNETCORE_URLS"] = dashboard,
                ["ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL"] = $"http://127.0.0.1:{ports[1]}",
                ["ASPIRE_RESOURCE_SERVICE_ENDPOINT_URL"] = $"http://127.0.0.1:{ports[2]}",
                ["MUTT_NO_DASHBOARD"] = null,
            }, arguments: ["--state-dir", stateDir, "--AppHost:UseFreePorts=true"]);

            var login = (await WaitForLineAsync(apphost, LoginLine(), StartDeadline, "the dashboard login URL")).Groups["url"].Value;
            await WaitForLineAsync(apphost, UpLine(), StartDeadline, "\"MUTT is up\"");
            var endpoints = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(stateDir, "endpoints.json")))!;
            var resources = endpoints["resources"]!;

            await using var browser = await BrowserSession.OpenAsync(chromium, dashboard, width: 1600, height: 1000);
            var page = browser.Page;

            await EveryResourceIsRunningAndHealthyInTheDashboardAsync(page, login, replicas: resources["alerter"]!["replicas"]!.AsArray().Count);
            await OneEventIsOneTraceThroughIngestorAlerterAndForwarderAsync(page, dashboard, stateDir, resources);
            await SigtermStopsEverythingAsync(apphost, resources, stateDir, ports);
        }
        finally
        {
            DeleteStateDir(stateDir);
        }
    }

    /// <summary>(a) The login URL the AppHost printed signs in; the resources page lists every MUTT resource up.</summary>
    private static async Task EveryResourceIsRunningAndHealthyInTheDashboardAsync(IPage page, string login, int replicas)
    {
        Assert.Equal(2, replicas);
        await page.GotoAsync(login); // sets the dashboard's auth cookie and goes on to the resources page
        string[] running = ["redis", "postgres", "muttdb-admin", "muttdb", "moog-sink", "ingestor", "forwarder", "remediation", "dashboard"];
        IReadOnlyList<ResourceRow> rows;
        try
        {
            // The AppHost said "MUTT is up" already; the dashboard's health column can lag behind on a loaded machine.
            rows = await Eventually.WaitForAsync(async () =>
            {
                var current = await ResourceRowsAsync(page);
                if (current.Count == 0)
                {
                    // The dashboard's own page can lose its circuit on a loaded machine ("An unhandled error has
                    // occurred. Reload"): an empty list is reloaded, as a user would.
                    await page.ReloadAsync();
                }
                return current;
            }, rows =>
                running.All(name => rows.Any(r => r.Name == name && r.IsHealthyRunning))
                && rows.Count(r => r.Name.StartsWith("alerter-", StringComparison.Ordinal) && r.IsHealthyRunning) == replicas
                && rows.Any(r => r is { Name: "dbmanager", State: "Finished" }),
                StartDeadline, "every MUTT resource Running and healthy (the DbManager Finished) in the Aspire dashboard");
        }
        catch (TimeoutException ex)
        {
            await page.ScreenshotAsync("aspire-dashboard-resources-timeout");
            throw new TimeoutException($"{ex.Message}; rows: {string.Join("; ", await ResourceRowsAsync(page))}", ex);
        }
        await page.ScreenshotAsync("aspire-dashboard-resources");
        Assert.DoesNotContain(rows, r => r.State is "Exited" or "FailedToStart" or "Unhealthy");
    }

    private sealed record ResourceRow(string Name, string State, string StateTooltip)
    {
        // A running resource whose health checks do not all pass carries a "not healthy" tooltip instead.
        public bool IsHealthyRunning => State == "Running" && StateTooltip == "Running";

        public override string ToString() => $"{Name}={State}/{StateTooltip}";
    }

    private static async Task<IReadOnlyList<ResourceRow>> ResourceRowsAsync(IPage page)
    {
        var cells = await page.EvalOnSelectorAllAsync<string[][]>("tr.resource-row", """
            rows => rows.map(r => [
                r.querySelector('td[col-index="1"]')?.getAttribute('title') ?? '',
                (r.querySelector('td[col-index="2"]')?.innerText ?? '').trim().split('\n')[0].trim(),
                r.querySelector('td[col-index="2"]')?.getAttribute('title') ?? ''])
            """);
        // The state cell's text may go on with a badge counting the resource's error logs: its first line is the state.
        // The name cell's title is "<type>: <name>" (e.g. "Project: forwarder").
        return [.. cells.Select(c => new ResourceRow(c[0][(c[0].IndexOf(": ", StringComparison.Ordinal) + 2)..], c[1], c[2]))];
    }

    /// <summary>
    /// (b) The README's first event: audited, at the Moogsoft stand-in, and in the Aspire dashboard one
    /// trace from the Ingestor's HTTP request through an Alerter replica to the Forwarder's Moogsoft POST.
    /// </summary>
    private static async Task OneEventIsOneTraceThroughIngestorAlerterAndForwarderAsync(IPage page, string dashboard, string stateDir, JsonNode resources)
    {
        var parameters = JsonSerializer.Deserialize<Dictionary<string, string>>(await File.ReadAllTextAsync(Path.Combine(stateDir, "parameters.json")))!;
        var ingestor = new Uri((string)resources["ingestor"]!["urls"]!["http"]!);
        var sink = new Uri((string)resources["moog-sink"]!["urls"]!["http"]!);
        var muttdb = (string)resources["muttdb"]!["connectionString"]!;

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(ingestor, "/api/v2/ingest"))
        {
            Content = new StringContent(JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["timestamp"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
                ["hostname"] = "core-router-01",
                ["message"] = "CRITICAL: LINK-DOWN on Gi0/1",
                ["syslog_severity"] = 2,
            }), Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("X-API-KEY", parameters["ingest-api-key"]);
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var id = (string)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["correlation_ids"]![0]!;

        await Eventually.WaitForAsync(() => SystemTraffic.SinkEventsAsync(http, sink, id), a => a.Count == 1, Deadline, $"{id} at the Moogsoft sink");
        var audit = await Eventually.WaitForAsync(() => SystemTraffic.AuditRowAsync(muttdb, id), row => row is not null, Deadline, $"{id} in event_audit_log");
        Assert.True(audit!.Value.Forwarded, "the audit row says the event was forwarded");

        // Traces whose spans carry the event's correlation id (the Ingestor tags its span with it).
        await page.GotoAsync($"{dashboard}/traces?filters={Uri.EscapeDataString($"mutt.correlation_id:equals:{id}")}");
        var trace = await Eventually.WaitForAsync(() => TraceRowsAsync(page), rows => rows.Any(SpansTheServices), Deadline,
            $"the trace of {id} with ingestor, alerter and forwarder spans in the Traces view");
        var traceId = TraceIdTitle().Match(trace.First(SpansTheServices)[0]).Groups["id"].Value;
        await page.ScreenshotAsync("aspire-dashboard-traces");

        // The trace's own page: which service ran which span.
        await page.GotoAsync($"{dashboard}/traces/detail/{traceId}");
        var spans = await Eventually.WaitForAsync(
            () => page.EvalOnSelectorAllAsync<string[]>("tbody tr.fluent-data-grid-row td[col-index=\"1\"]", "cells => cells.map(c => c.getAttribute('title') ?? '')"),
            titles => titles.Any(t => t.StartsWith("moog-sink: POST /api/v1/events", StringComparison.Ordinal)), Deadline, $"the spans of trace {traceId}");
        await page.ScreenshotAsync("aspire-dashboard-trace");
        // Titles are "<resource>: <span>"; an alerter span is filed under its replica's own resource
        // (the name endpoints.json and the Resources page show), so its logs and traces go together.
        var replicas = resources["alerter"]!["replicas"]!.AsArray().Select(r => (string)r!["name"]!).ToList();
        Assert.Contains(spans, t => t.StartsWith("ingestor: POST /api/v2/ingest", StringComparison.Ordinal));
        Assert.Contains(spans, t => replicas.Any(r => t == $"{r}: alerter event"));
        Assert.Contains(spans, t => Regex.IsMatch(t, @"^forwarder: .*POST"));
    }

    private static bool SpansTheServices(string[] row) =>
        row.Skip(1).Any(s => s.StartsWith("ingestor (", StringComparison.Ordinal))
        && row.Skip(1).Any(s => s.StartsWith("alerter-", StringComparison.Ordinal))
        && row.Skip(1).Any(s => s.StartsWith("forwarder (", StringComparison.Ordinal));

    /// <summary>Per trace row: the name cell's title (with "Trace Id: ..."), then its per-service span tags ("ingestor (4)").</summary>
    private static Task<string[][]> TraceRowsAsync(IPage page) =>
        page.EvalOnSelectorAllAsync<string[][]>("tbody tr.fluent-data-grid-row", """
            rows => rows.map(r => [
                r.querySelector('td[col-index="2"]')?.getAttribute('title') ?? '',
                ...[...r.querySelectorAll('.trace-service-tag')].map(t => t.textContent.trim())])
            """);

    /// <summary>
    /// (c) SIGTERM to the AppHost stops everything it started: every pid endpoints.json lists, every process
    /// under the AppHost and its DCP, and no process left naming the state folder or one of the run's ports.
    /// </summary>
    private static async Task SigtermStopsEverythingAsync(ServiceProcess apphost, JsonNode resources, string stateDir, int[] dashboardPorts)
    {
        var listed = resources.AsObject().SelectMany(r => Pids(r.Value!)).Distinct().ToList();
        Assert.Contains((int)resources["redis"]!["pid"]!, listed);
        var before = ProcessTable.Read();
        // DCP detaches from the AppHost (its parent is init) and watches it by pid (--monitor).
        var dcp = before.Where(p => p.Arguments.Count > 0 && p.Arguments[0].EndsWith("/dcp", StringComparison.Ordinal)
            && p.Arguments.SkipWhile(a => a != "--monitor").Skip(1).FirstOrDefault() == apphost.Pid.ToString(CultureInfo.InvariantCulture)).ToList();
        Assert.NotEmpty(dcp);
        var started = ProcessTable.Descendants(before, [apphost.Pid, .. dcp.Select(p => p.Pid)]);
        Assert.All(listed, pid => Assert.Contains(started, p => p.Pid == pid));
        var ports = resources.AsObject().SelectMany(r => Urls(r.Value!)).Select(u => new Uri(u).Port).Concat(dashboardPorts).ToHashSet();

        Assert.True(NativeProcess.Signal(apphost.Pid, NativeProcess.SIGTERM), "SIGTERM to the AppHost");
        using (var exit = new CancellationTokenSource(Deadline))
        {
            await apphost.Process.WaitForExitAsync(exit.Token);
        }
        Assert.Equal(0, apphost.Process.ExitCode);

        var left = await Eventually.WaitForAsync(() => Task.FromResult(LeftBehind(started, stateDir, ports)), l => l.Count == 0,
            TimeSpan.FromSeconds(30), "no process of the run left after the AppHost exited");
        Assert.Empty(left);
    }

    private static List<string> LeftBehind(IReadOnlyList<ProcessTable.Entry> started, string stateDir, HashSet<int> ports)
    {
        var now = ProcessTable.Read();
        var stillThere = now.Where(p => started.Any(s => s.Pid == p.Pid && s.StartTicks == p.StartTicks));
        var naming = now.Where(p => p.Arguments.Any(a => a.Contains(stateDir, StringComparison.Ordinal)) || NamesAPort(p.Arguments, ports));
        return [.. stillThere.Concat(naming).DistinctBy(p => p.Pid).Select(p => $"{p.Pid}: {string.Join(' ', p.Arguments)}")];
    }

    /// <summary>"host:PORT" (redis-server's title, URLs) or "-p PORT" / "--port PORT" (postgres, redis-server).</summary>
    private static bool NamesAPort(IReadOnlyList<string> arguments, HashSet<int> ports) =>
        arguments.Select((a, i) => ports.Any(port =>
            a.EndsWith(":" + port.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
            || (i > 0 && arguments[i - 1] is "-p" or "--port" && a == port.ToString(CultureInfo.InvariantCulture)))).Any(b => b);

    private static IEnumerable<int> Pids(JsonNode resource) =>
        new[] { resource["pid"] }.Concat(resource["replicas"]?.AsArray().Select(r => r!["pid"]) ?? [])
            .Where(p => p is not null).Select(p => (int)p!);

    private static IEnumerable<string> Urls(JsonNode resource) =>
        resource["urls"]!.AsObject().Select(u => (string)u.Value!)
            .Concat(resource["replicas"]?.AsArray().SelectMany(r => r!["urls"]!.AsObject().Select(u => (string)u.Value!)) ?? []);

    [Theory]
    [InlineData("Redis__Executable", "/nonexistent/redis-server", "apt-get install -y redis-server")]
    [InlineData("Postgres__BinDirectory", "/nonexistent/postgresql/bin", "apt-get install -y postgresql")]
    public async Task A_missing_server_binary_is_named_with_its_apt_package_and_nothing_starts(string setting, string value, string install)
    {
        var stateDir = NewStateDir();
        try
        {
            await using var apphost = ServiceProcess.Start("apphost", DeployTestSupport.AppHostAssembly(),
                new Dictionary<string, string?> { [setting] = value, ["MUTT_NO_DASHBOARD"] = "1" },
                arguments: ["--state-dir", stateDir, "--AppHost:UseFreePorts=true"]);
            using (var exit = new CancellationTokenSource(Deadline))
            {
                await apphost.Process.WaitForExitAsync(exit.Token);
            }
            var output = string.Join('\n', apphost.Output);

            Assert.True(apphost.Process.ExitCode != 0, $"exit code {apphost.Process.ExitCode}:\n{output}");
            Assert.Contains("MUTT cannot start locally: a server it runs is missing.", output);
            Assert.Contains(value, output);
            Assert.Contains(install, output);
            Assert.DoesNotContain("Starting DCP", output); // refused before Aspire started anything
        }
        finally
        {
            DeleteStateDir(stateDir);
        }
    }

    [Fact]
    public async Task A_missing_prometheus_is_a_warning_with_its_apt_package_not_a_refusal()
    {
        var stateDir = NewStateDir();
        try
        {
            // redis-server is missing too, so the run stops before DCP: only what the AppHost says is checked.
            await using var apphost = ServiceProcess.Start("apphost", DeployTestSupport.AppHostAssembly(),
                new Dictionary<string, string?>
                {
                    ["Prometheus__Executable"] = "/nonexistent/prometheus",
                    ["Redis__Executable"] = "/nonexistent/redis-server",
                    ["MUTT_NO_DASHBOARD"] = "1",
                },
                arguments: ["--state-dir", stateDir, "--AppHost:UseFreePorts=true"]);
            using (var exit = new CancellationTokenSource(Deadline))
            {
                await apphost.Process.WaitForExitAsync(exit.Token);
            }
            var output = string.Join('\n', apphost.Output);

            Assert.Contains("MUTT runs without its own Prometheus (the SLO page uses MUTT's Redis counters): /nonexistent/prometheus (set by Prometheus:Executable)", output);
            Assert.Contains("apt-get install -y prometheus", output);
            var refusal = output[output.IndexOf("MUTT cannot start locally", StringComparison.Ordinal)..];
            Assert.Contains("/nonexistent/redis-server", refusal);
            Assert.DoesNotContain("prometheus", refusal, StringComparison.Ordinal);
        }
        finally
        {
            DeleteStateDir(stateDir);
        }
    }

    [Fact]
    public async Task Postgres_run_script_names_the_missing_binary_and_its_package()
    {
        var stateDir = NewStateDir();
        try
        {
            var script = Path.Combine(Path.GetDirectoryName(DeployTestSupport.AppHostAssembly())!, "postgres-run.sh");
            var result = await DeployTestSupport.RunAsync("env", ["POSTGRES_BIN_DIR=/nonexistent/pg/bin", "POSTGRES_PASSWORD=x", script, stateDir, "5432"]);

            Assert.Equal(1, result.ExitCode);
            Assert.Contains("PostgreSQL's postgres was not found at /nonexistent/pg/bin/postgres; install PostgreSQL: apt-get install -y postgresql", result.All);
        }
        finally
        {
            DeleteStateDir(stateDir);
        }
    }

    /// <summary>Waits for a line of the AppHost's output; fails at once, with its last lines, if it exits first.</summary>
    private static async Task<Match> WaitForLineAsync(ServiceProcess apphost, Regex pattern, TimeSpan timeout, string what)
    {
        var match = await Eventually.WaitForAsync(
            () => Task.FromResult(apphost.Output.Select(l => pattern.Match(l)).FirstOrDefault(m => m.Success)),
            m => m is not null || apphost.HasExited, timeout, what);
        // The login token is a credential for this run's dashboard: not in test logs.
        return match ?? throw new InvalidOperationException($"The AppHost exited ({apphost.Process.ExitCode}) before {what}:\n"
            + LoginToken().Replace(string.Join('\n', apphost.Output.TakeLast(40)), "t=***"));
    }

    /// <summary>A state folder under /tmp the postgres user can reach (PostgreSQL runs as that user when we are root).</summary>
    private static string NewStateDir()
    {
        var path = Path.Combine(Path.GetTempPath(), "mutt-apphost-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(path);
        File.SetUnixFileMode(path, (UnixFileMode)0b111_101_101);
        return path;
    }

    private static void DeleteStateDir(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
    }

    private static int[] FreePorts(int count)
    {
        var ports = new HashSet<int>();
        while (ports.Count < count)
        {
            ports.Add(NativeProcess.FreeTcpPort());
        }
        return [.. ports];
    }
}
