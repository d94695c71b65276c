using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Playwright;
using Mutt.Testing;
using Mutt.Tests.Browser;
using Mutt.Tests.Infrastructure;
using Mutt.Tests.Reliability;
using Xunit.Abstractions;

namespace Mutt.Tests.EndToEnd;

/// <summary>
/// The AppHost's own Prometheus (Debian's 2.42, the `prometheus` resource of a local run) is
/// healthy and scrapes every replica of the running system at its own port with MUTT's rule files
/// loaded; after traffic with known failures (401s at the Ingestor, 5xx from the sink) the spec's
/// SLO PromQL gives the availability the traffic implies, the Dashboard's SLO API and page (with
/// the AppHost's PROMETHEUS_URL) show the same figures with source "prometheus", and every Grafana panel
/// query of deploy/grafana/mutt-overview.json runs on it and names only metrics that exist. A
/// replica killed and started again is seen down, then scraped at its new process's port.
/// </summary>
[Trait("Category", "System")]
[Collection(AppHostCollection.Name)] // one whole system at a time on 2 cores
public sealed class PrometheusSystemTests(ITestOutputHelper output, ChromiumFixture chromium)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Ratio tolerance. rate() over a window longer than the data extrapolates each series by
    /// (sampled span + half a scrape interval at the start + up to one at the end) / sampled span.
    /// Series of one target share their scrape timestamps, so the factor cancels in the ratio
    /// except where a series first appeared some scrapes later than another: with at least 15
    /// samples before and 15 more after the measured traffic, that skews the ratio by about 1 %,
    /// so 0.02 absolute (the measured availabilities, 0.81 and about 0.5, are far apart from 1).
    /// </summary>
    private const double Tolerance = 0.02;

    [Fact]
    public async Task Real_Prometheus_gives_the_spec_SLOs_of_known_traffic_and_the_Dashboard_shows_them()
    {
        // The AppHost's own Prometheus (as `./mutt.sh run` starts it), with 1 s scrapes and rule
        // evaluations to keep the test short; the Dashboard gets PROMETHEUS_URL from the AppHost.
        // The intruder's 11 refused requests come from the same address as the good traffic within a minute: the
        // Ingestor's failure limiter (AUTH_FAILURE_LIMIT, 10) would answer 429 to both from the 11th. This test
        // measures 401s, so the limit is raised here (IngestNamedKeyTests covers the 429).
        await using var app = await MuttAppHost.StartAsync(
            builder => builder.CreateResourceBuilder(builder.Resources.OfType<ProjectResource>().Single(p => p.Name == "ingestor"))
                .WithEnvironment("AUTH_FAILURE_LIMIT", "1000"),
            settings: new Dictionary<string, string>
            {
                ["Prometheus:Enabled"] = "true",
                ["Prometheus:ScrapeInterval"] = "1s",
            });
        var prometheusUrl = app.GetEndpoint("prometheus").ToString().TrimEnd('/');
        using (var healthy = new CancellationTokenSource(Deadline))
        {
            await app.App.ResourceNotifications.WaitForResourceHealthyAsync("prometheus", healthy.Token);
        }
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        async Task<JsonNode> QueryAsync(string promql)
        {
            var json = JsonNode.Parse(await http.GetStringAsync($"{prometheusUrl}/api/v1/query?query={Uri.EscapeDataString(promql)}"))!;
            Assert.True((string?)json["status"] == "success", $"{promql}: {json}");
            return json["data"]!["result"]!;
        }
        async Task<double?> ScalarAsync(string promql) =>
            (await QueryAsync(promql)).AsArray() is [var first, ..] ? double.Parse((string)first!["value"]![1]!, CultureInfo.InvariantCulture) : null;

        // Every replica of every MUTT service is its own target, at its own port (not the proxy's), and up.
        string ExpectedTargets() => string.Join("\n", app.Replicas.Where(r => r.Key != "moog-sink").SelectMany(r => r.Value)
            .Select(replica => $"mutt-{replica.Resource} {replica.PodName} {app.OwnHttpAddress(replica)}").Order(StringComparer.Ordinal));
        async Task EveryReplicaUpAsync()
        {
            var expectedTargets = ExpectedTargets();
            await Eventually.WaitForAsync(async () => string.Join("\n", (await QueryAsync("up == 1")).AsArray()
                    .Select(s => $"{s!["metric"]!["job"]} {s["metric"]!["pod"]} {s["metric"]!["instance"]}").Order(StringComparer.Ordinal)),
                seen => seen == expectedTargets, Deadline, $"up == 1 for exactly\n{expectedTargets}\n");
        }
        Assert.Equal(2, app.Replicas["alerter"].Count);
        await EveryReplicaUpAsync();
        Assert.Equal(app.Replicas["alerter"].Count, await ScalarAsync("count(up{job=\"mutt-alerter\"} == 1)"));

        // The Dashboard got PROMETHEUS_URL from the AppHost: its SLO API computes from PromQL.
        using (var console = app.DashboardClient())
        {
            Assert.Equal("prometheus", (string?)JsonNode.Parse(await console.GetStringAsync("/api/v2/slo"))!["source"]);
        }

        using var ingest = SystemTraffic.IngestClient(app);
        using var intruder = new HttpClient { BaseAddress = app.IngestorUrl };
        intruder.DefaultRequestHeaders.Add("X-API-KEY", "not-the-key");
        var run = Guid.NewGuid().ToString("N")[..8];
        var sent = 0;
        var accepted = 0;
        async Task SendAsync(HttpClient client, HttpStatusCode expected, string what)
        {
            var (status, _) = await SystemTraffic.PostAsync(client, SystemTraffic.Event($"prom-{run}-{sent++}", "CRITICAL: chassis temperature 91C"));
            Assert.Equal(expected, status);
            accepted += status == HttpStatusCode.Accepted ? 1 : 0;
        }
        async Task<(long Good, long Total)> SinkAsync()
        {
            var byStatus = (await SystemTraffic.SinkStatsAsync(http, app.SinkUrl))["by_status"]!.AsObject();
            return (byStatus.Where(kv => kv.Key.StartsWith('2')).Sum(kv => (long)kv.Value!), byStatus.Sum(kv => (long)kv.Value!));
        }
        async Task SinkFailsOnceAsync()
        {
            // The sink answers 500 until the Forwarder has seen two failures (a retry each), then 200 again.
            var before = await SinkAsync();
            await SystemTraffic.SetSinkModeAsync(http, app.SinkUrl, "{\"status\":500}");
            await SendAsync(ingest, HttpStatusCode.Accepted, "an alert while the sink fails");
            await Eventually.WaitForAsync(async () => (await SinkAsync()).Total - before.Total >= 2, Deadline, "two failed Moogsoft requests");
            await SystemTraffic.SetSinkModeAsync(http, app.SinkUrl, "{\"status\":200}");
            await Eventually.WaitForAsync(async () => (await SinkAsync()).Good > before.Good, Deadline, "the alert delivered after the failures");
        }
        async Task SampledAsync(int atLeast)
        {
            // rate() extrapolates each series by up to 1.5 scrape intervals beyond its samples; with
            // many samples per series that is a small and (same scrape times) common factor, so the
            // ratio keeps the traffic's. Counted samples, not a sleep: scrapes slow down on a busy machine.
            await Eventually.WaitForAsync(async () => await ScalarAsync(
                "min(count_over_time(mutt_moog_requests_total{status=~\"success|retry\"}[24h]) or count_over_time(mutt_ingest_requests_total{status!=\"\"}[24h]))") >= atLeast,
                TimeSpan.FromSeconds(90), $"every request series sampled {atLeast} times");
        }
        async Task ScrapedAsync()
        {
            // Prometheus holds the final counts: the Ingestor's requests and every request the sink answered.
            // The sink's count is read at each poll: a retry can still reach it after the alert was delivered.
            await Eventually.WaitForAsync(async () => (Ingest: await ScalarAsync("sum(mutt_ingest_requests_total)"), Moogsoft: await ScalarAsync("sum(mutt_moog_requests_total)"),
                    Sink: (await SinkAsync()).Total),
                scraped => scraped.Ingest == sent && scraped.Moogsoft == scraped.Sink, Deadline, $"{sent} ingest requests and the sink's Moogsoft requests scraped");
        }

        // Warm-up: every series (ingest success and auth failure, Moogsoft success and retry) has been
        // sampled before the measured traffic. The services make their known series at 0 when they
        // start, so rate() counts from 0; each series' first sample is the baseline all the same.
        await SendAsync(ingest, HttpStatusCode.Accepted, "warm-up");
        await SendAsync(intruder, HttpStatusCode.Unauthorized, "warm-up 401");
        await SinkFailsOnceAsync();
        await ScrapedAsync();
        await SampledAsync(15);
        var ingestBefore = sent;
        var sinkBefore = await SinkAsync();

        // Measured: 40 accepted and 10 refused (401) ingest requests; Moogsoft deliveries with 5xx.
        for (var i = 0; i < 50; i++)
        {
            await SendAsync(i % 5 == 4 ? intruder : ingest, i % 5 == 4 ? HttpStatusCode.Unauthorized : HttpStatusCode.Accepted, "measured");
        }
        await SinkFailsOnceAsync();
        await SinkFailsOnceAsync();
        await ScrapedAsync();
        await SampledAsync(30);
        var sinkAfter = await SinkAsync();
        // 40 + the two alerts of SinkFailsOnceAsync accepted, 10 refused.
        Assert.Equal(52, sent - ingestBefore);
        // rate() counts what each series gained after its first sample: the Ingestor's series are
        // made at 0 when it starts, so that is every request (the warm-up's included).
        var firstIngestGood = (long)(await ScalarAsync("sum(min_over_time(mutt_ingest_requests_total{status=\"success\"}[24h]))"))!.Value;
        var firstIngestTotal = (long)(await ScalarAsync("sum(min_over_time(mutt_ingest_requests_total{status!=\"\"}[24h]))"))!.Value;
        Assert.Equal((0L, 0L), (firstIngestGood, firstIngestTotal));
        var expectedIngest = (double)(accepted - firstIngestGood) / (sent - firstIngestTotal);
        // The Forwarder keeps retrying while the warm-up's sink fails, so a retry may land after its
        // series' first scrape: the baseline is what each series held at its first sample (a counter's
        // minimum), and the truth after it is the sink's own count of what it answered.
        var firstGood = (long)(await ScalarAsync("sum(min_over_time(mutt_moog_requests_total{status=\"success\"}[24h]))"))!.Value;
        var firstTotal = (long)(await ScalarAsync("sum(min_over_time(mutt_moog_requests_total{status!=\"\"}[24h]))"))!.Value;
        Assert.True(firstTotal <= sinkBefore.Total && firstGood <= sinkBefore.Good, $"first samples {firstGood}/{firstTotal} after the warm-up's {sinkBefore}");
        var expectedForward = (double)(sinkAfter.Good - firstGood) / (sinkAfter.Total - firstTotal);
        output.WriteLine($"expected ingest {expectedIngest:F4}, forwarder {expectedForward:F4} ({sinkAfter.Good - firstGood}/{sinkAfter.Total - firstTotal} Moogsoft requests)");

        // Spec 004's SLO queries, verbatim.
        var ingestAvailability = await ScalarAsync("sum(rate(mutt_ingest_requests_total{status=\"success\"}[24h]))\n  /\nsum(rate(mutt_ingest_requests_total[24h]))");
        var forwardAvailability = await ScalarAsync("sum(rate(mutt_moog_requests_total{status=\"success\"}[24h]))\n  /\nsum(rate(mutt_moog_requests_total[24h]))");
        output.WriteLine($"Prometheus: ingest {ingestAvailability:F4}, forwarder {forwardAvailability:F4}");
        foreach (var diagnostic in new[] { "mutt_moog_requests_total", "sum by (status) (increase(mutt_moog_requests_total[24h]))", "count_over_time(mutt_moog_requests_total[24h])", "mutt_ingest_requests_total" })
        {
            output.WriteLine($"{diagnostic}: {(await QueryAsync(diagnostic)).ToJsonString()}");
        }
        Assert.InRange(ingestAvailability!.Value, expectedIngest - Tolerance, expectedIngest + Tolerance);
        Assert.InRange(forwardAvailability!.Value, expectedForward - Tolerance, expectedForward + Tolerance);
        // The recording rules (MUTT's rule files, loaded by this Prometheus) agree with the spec's query.
        await Eventually.WaitForAsync(async () => await ScalarAsync("mutt:ingest_availability:ratio_rate24h") is { } r && Math.Abs(r - ingestAvailability.Value) < Tolerance,
            Deadline, "the recorded ingest availability");

        await AssertDashboardShowsAsync(app, ("ingestor", ingestAvailability.Value), ("forwarder", forwardAvailability!.Value));
        await AssertGrafanaQueriesRunAsync(http, prometheusUrl, QueryAsync);

        // A crashed replica stays a target (up == 0); started again, it is scraped at its new process's port.
        var crashed = app.Replicas["alerter"][0];
        await app.KillAsync(crashed);
        await Eventually.WaitForAsync(async () => await ScalarAsync($"up{{pod=\"{crashed.PodName}\"}}") == 0, Deadline, $"{crashed.PodName} down in Prometheus");
        await app.StartAgainAsync(crashed);
        await EveryReplicaUpAsync();
    }

    private async Task AssertDashboardShowsAsync(MuttAppHost app, params (string Component, double Availability)[] expected)
    {
        await using var browser = await BrowserSession.OpenAsync(chromium, app.DashboardUrl.ToString().TrimEnd('/'));
        var page = browser.Page;
        await browser.GotoAsync("/");
        await browser.SubmitLoginAsync("admin", app.GetParameterValue("admin-password"));
        await page.WaitForURLAsync(browser.BaseUrl + "/");
        await browser.GotoAsync("/slo");
        await page.Locator("text=source: prometheus").WaitForAsync();
        foreach (var (component, availability) in expected)
        {
            var card = await page.Locator($"#slo-{component}").InnerTextAsync();
            output.WriteLine($"SLO page {component}: {card.ReplaceLineEndings(" ")}");
            // "Availability" then the figure, formatted P3 (e.g. "80.769 %").
            var shown = System.Text.RegularExpressions.Regex.Match(card, @"Availability\s+([\d.,]+)\s*%");
            Assert.True(shown.Success, $"no availability on the {component} card: {card}");
            var value = double.Parse(shown.Groups[1].Value.Replace(",", "", StringComparison.Ordinal), CultureInfo.InvariantCulture) / 100;
            Assert.InRange(value, availability - Tolerance, availability + Tolerance);
        }
    }

    /// <summary>Every panel query of the Grafana dashboard: valid PromQL on this Prometheus, and only metric names it has.</summary>
    private static async Task AssertGrafanaQueriesRunAsync(HttpClient http, string prometheusUrl, Func<string, Task<JsonNode>> query)
    {
        var names = JsonNode.Parse(await http.GetStringAsync($"{prometheusUrl}/api/v1/label/__name__/values"))!["data"]!.AsArray()
            .Select(n => (string)n!).ToHashSet(StringComparer.Ordinal);
        // A labelled counter appears only once it moved (this traffic sends no syslog frame, sheds nothing):
        // such a name must then be one MUTT exposes (the golden exposition). Recording rules and
        // everything else must be in this Prometheus.
        var exposed = MetricNames.Exposed();
        var dashboard = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(ChildService.RepositoryRoot, "deploy", "grafana", "mutt-overview.json")))!;
        var expressions = dashboard["panels"]!.AsArray().SelectMany(p => p!["targets"]!.AsArray().Select(t => ((string)p["title"]!, (string)t!["expr"]!))).ToList();
        Assert.True(expressions.Count >= 20, $"only {expressions.Count} panel queries");
        foreach (var (title, expr) in expressions)
        {
            // Grafana's own variable; 1m is what it resolves to for a 1 s scrape interval on a short range.
            var promql = expr.Replace("$__rate_interval", "1m", StringComparison.Ordinal);
            await query(promql);
            foreach (var name in MetricNames.In(promql))
            {
                Assert.True(names.Contains(name) || exposed.Contains(name), $"panel \"{title}\": {name} is not a metric this Prometheus has ({promql})");
            }
        }
    }
}
