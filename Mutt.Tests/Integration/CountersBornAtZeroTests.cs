using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Mutt.Core.Auth;
using Mutt.Forwarder.Services;
using Mutt.Ingestor.Ingest;
using Mutt.Tests.Browser;
using Mutt.Tests.Infrastructure;

namespace Mutt.Tests.Integration;

/// <summary>
/// The request and outcome counters the SLO queries and alerts read (mutt_ingest_requests_total,
/// mutt_auth_failures_total, mutt_moog_requests_total, mutt_moog_alerts_processed_total) are on a
/// freshly started service's /metrics at 0 for every known label set, so Prometheus' increase()
/// sees the first request: it moves a series that was already scraped instead of making one at 1.
/// </summary>
[Collection(InfrastructureCollection.Name)]
[Trait("Category", "Integration")]
public sealed partial class CountersBornAtZeroTests(InfrastructureFixture infra)
{
    private const string Event = """{"timestamp":"2025-03-15T11:00:00Z","message":"Interface down","hostname":"router-1"}""";

    [Fact]
    public async Task A_fresh_ingestor_shows_every_known_request_and_auth_failure_series_at_0_and_the_first_request_moves_one_of_them()
    {
        var db = await infra.CreateDatabaseAsync();
        await IngestNamedKeyTests.InsertKeyAsync(db, "solarwinds-dc1", MuttRoles.Ingest);
        await using var host = await IngestorTestHost.StartAsync(infra, new Dictionary<string, string?>
        {
            ["ConnectionStrings__muttdb"] = db,
            ["API_KEY_REFRESH_SECONDS"] = "1",
        });

        // The named key is loaded shortly after start: its series come with it.
        var fresh = await Eventually.WaitForAsync(async () => Series(await host.MetricsAsync(), "mutt_ingest_requests_total"),
            s => s.ContainsKey(Labels(("key", "solarwinds-dc1"), ("reason", "ok"), ("status", "success"))), TimeSpan.FromSeconds(15), "the named key's series");
        foreach (var key in (string[])[IngestKeyValidator.LegacyKeyName, "solarwinds-dc1"])
        {
            Assert.Equal(0, fresh[Labels(("key", key), ("reason", IngestReasons.Ok), ("status", "success"))]);
            Assert.All(IngestReasons.AfterKey, reason => Assert.Equal(0, fresh[Labels(("key", key), ("reason", reason), ("status", "fail"))]));
        }
        Assert.All(IngestReasons.BeforeKey, reason => Assert.Equal(0, fresh[Labels(("key", IngestAuth.NoKey), ("reason", reason), ("status", "fail"))]));
        Assert.All(fresh.Values, value => Assert.Equal(0, value));
        var metrics = await host.MetricsAsync();
        Assert.Equal(0, Series(metrics, "mutt_auth_failures_total")[Labels(("reason", "invalid"), ("surface", "ingest"))]);
        Assert.Equal(0, Series(metrics, "mutt_auth_failures_total")[Labels(("reason", "rate_limited"), ("surface", "ingest"))]);

        // A key made after start gets its series before its first request.
        await IngestNamedKeyTests.InsertKeyAsync(db, "grafana-dc2", MuttRoles.Ingest);
        await Eventually.WaitForAsync(async () => Series(await host.MetricsAsync(), "mutt_ingest_requests_total"),
            s => s.GetValueOrDefault(Labels(("key", "grafana-dc2"), ("reason", "ok"), ("status", "success"))) is 0, TimeSpan.FromSeconds(15), "the new key's series at 0");

        // The first request and the first refusal move series that were there already.
        var before = Series(await host.MetricsAsync(), "mutt_ingest_requests_total");
        using (var accepted = await host.Http.SendAsync(host.Post("/api/v2/ingest", Event)))
        {
            Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        }
        using (var refused = await host.Http.SendAsync(host.Post("/api/v2/ingest", Event, apiKey: "not-a-key")))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }
        metrics = await host.MetricsAsync();
        var after = Series(metrics, "mutt_ingest_requests_total");
        Assert.Equal(before.Keys.Order(), after.Keys.Order());
        Assert.Equal(1, after[Labels(("key", IngestKeyValidator.LegacyKeyName), ("reason", "ok"), ("status", "success"))]);
        Assert.Equal(1, after[Labels(("key", IngestAuth.NoKey), ("reason", "auth"), ("status", "fail"))]);
        Assert.Equal(1, Series(metrics, "mutt_auth_failures_total")[Labels(("reason", "invalid"), ("surface", "ingest"))]);
    }

    [Fact]
    public async Task A_fresh_forwarder_shows_every_moogsoft_outcome_series_at_0()
    {
        await using var stack = new ForwarderTestHost(infra.RedisConnectionString);
        await stack.StartSinkAsync();
        await stack.StartForwarderAsync("moog-zero");

        var metrics = await stack.Http.GetStringAsync(stack.ForwarderUrls["moog-zero"] + "/metrics");
        var requests = Series(metrics, "mutt_moog_requests_total");
        Assert.Equal(
            ForwarderMetrics.RequestSeries.Select(s => Labels(("reason", s.Reason), ("status", s.Status))).Order(),
            requests.Keys.Order());
        // Every answer MoogClient can give, on a first and on a last attempt.
        Assert.Superset(new HashSet<string>(requests.Keys),
            new[] { "success/ok", "rate_limited/http_429", "dlq/http_4xx", "retry/http_5xx", "dlq/http_5xx", "retry/timeout", "dlq/timeout", "retry/connection", "dlq/connection" }
                .Select(s => s.Split('/')).Select(s => Labels(("reason", s[1]), ("status", s[0]))).ToHashSet());
        Assert.All(requests.Values, value => Assert.Equal(0, value));
        var alerts = Series(metrics, "mutt_moog_alerts_processed_total");
        Assert.Equal(new[] { "success", "dlq", "error" }.Select(s => Labels(("status", s))).Order(), alerts.Keys.Order());
        Assert.All(alerts.Values, value => Assert.Equal(0, value));
    }

    [Fact]
    public async Task A_fresh_dashboard_shows_its_auth_failure_series_at_0()
    {
        await using var dashboard = await DashboardProcess.StartAsync(infra, await infra.CreateDatabaseAsync(), "zero-series-key-42");
        using var http = new HttpClient { BaseAddress = new Uri(dashboard.BaseUrl) };

        var failures = Series(await http.GetStringAsync("/metrics"), "mutt_auth_failures_total");
        Assert.Equal(
            new[] { ("invalid", "dashboard_api"), ("rate_limited", "dashboard_api"), ("invalid", "sign_in"), ("rate_limited", "sign_in") }
                .Select(s => Labels(("reason", s.Item1), ("surface", s.Item2))).Order(),
            failures.Keys.Order());
        Assert.All(failures.Values, value => Assert.Equal(0, value));
    }

    /// <summary>A series' label set as the exporter writes it (names in order).</summary>
    private static string Labels(params (string Name, string Value)[] labels) =>
        string.Join(',', labels.OrderBy(l => l.Name, StringComparer.Ordinal).Select(l => $"{l.Name}=\"{l.Value}\""));

    /// <summary>The samples of <paramref name="name"/> in a Prometheus exposition: label set → value.</summary>
    private static Dictionary<string, double> Series(string exposition, string name) =>
        SampleLine().Matches(exposition).Where(m => m.Groups["name"].Value == name)
            .ToDictionary(m => m.Groups["labels"].Value, m => double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture));

    [GeneratedRegex(@"^(?<name>[a-z_:]+)\{(?<labels>[^}]*)\} (?<value>\S+)$", RegexOptions.Multiline)]
    private static partial Regex SampleLine();
}
