using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;
using Mutt.Core.Configuration;
using Mutt.Core.Telemetry;

namespace Mutt.Dashboard.Metrics;

public sealed record SloComponent(
    [property: JsonPropertyName("component")] string Component,
    [property: JsonPropertyName("target")] double Target,
    [property: JsonPropertyName("error_budget")] double ErrorBudget,
    [property: JsonPropertyName("availability")] double? Availability,
    [property: JsonPropertyName("burn_rate")] double? BurnRate,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("good")] long Good,
    [property: JsonPropertyName("total")] long Total);

public sealed record SloReport(
    [property: JsonPropertyName("window_hours")] long WindowHours,
    [property: JsonPropertyName("source")] string Source,
    [property: JsonPropertyName("components")] IReadOnlyList<SloComponent> Components,
    [property: JsonPropertyName("timestamp")] DateTimeOffset Timestamp);

/// <summary>
/// Spec 004 SLOs. availability = good / total; burn rate = (1 - availability) / (1 - target);
/// ok ≤ 1.0, warning ≤ 2.0, critical &gt; 2.0. With PROMETHEUS_URL reachable, good/total are the
/// spec's PromQL over slo_window_hours; otherwise MUTT's own Redis totals
/// (mutt:metrics:ingest:success|failed, mutt:metrics:moog:success|failed).
/// </summary>
public sealed class SloService(IFlowMetrics flow, DynamicConfig config, IOptions<DashboardOptions> options, IHttpClientFactory http, ILogger<SloService> logger)
{
    public async Task<SloReport> EvaluateAsync(CancellationToken ct = default)
    {
        var window = await config.GetInt64Async(DynamicConfigKeys.SloWindowHours, 24);
        var ingestTarget = await config.GetDoubleAsync(DynamicConfigKeys.SloIngestSuccessTarget, 0.995);
        var forwardTarget = await config.GetDoubleAsync(DynamicConfigKeys.SloForwardSuccessTarget, 0.99);
        var prometheus = await FromPrometheusAsync(window, ct);
        double ingestGood, ingestTotal, moogGood, moogTotal;
        string source;
        if (prometheus is { } p)
        {
            (ingestGood, ingestTotal, moogGood, moogTotal) = p;
            source = "prometheus";
        }
        else
        {
            var c = (await flow.SnapshotAsync(ct)).Counters;
            ingestGood = c["ingest:success"];
            ingestTotal = ingestGood + c["ingest:failed"];
            moogGood = c["moog:success"];
            moogTotal = moogGood + c["moog:failed"];
            source = "redis";
        }
        return new SloReport(window, source,
            [Component("ingestor", ingestTarget, ingestGood, ingestTotal), Component("forwarder", forwardTarget, moogGood, moogTotal)],
            DateTimeOffset.UtcNow);
    }

    /// <summary>
    /// good and total are Prometheus' increase() figures (fractional: extrapolated to the window's edges) or
    /// Redis counts. Availability is their exact ratio, as the spec's rate() query gives it; only the shown
    /// counts are rounded (159.9 good of 200 shows as 160, and 7.6 of 10.9 does not become 8 of 11 = 72.7 %).
    /// </summary>
    public static SloComponent Component(string name, double target, double good, double total)
    {
        var budget = Math.Round(1 - target, 6);
        var shownGood = (long)Math.Round(good);
        var shownTotal = (long)Math.Round(total);
        if (total <= 0)
        {
            return new SloComponent(name, target, budget, null, null, "no_data", shownGood, shownTotal);
        }
        var availability = good / total;
        var burn = budget <= 0 ? (availability >= 1 ? 0 : double.PositiveInfinity) : (1 - availability) / budget;
        var status = burn <= 1.0 ? "ok" : burn <= 2.0 ? "warning" : "critical";
        return new SloComponent(name, target, budget, Math.Round(availability, 6), double.IsFinite(burn) ? Math.Round(burn, 4) : null, status, shownGood, shownTotal);
    }

    private async Task<(double, double, double, double)?> FromPrometheusAsync(long windowHours, CancellationToken ct)
    {
        var url = options.Value.PROMETHEUS_URL;
        if (string.IsNullOrWhiteSpace(url))
        {
            return null;
        }
        try
        {
            using var client = http.CreateClient();
            client.Timeout = TimeSpan.FromSeconds(2);
            async Task<double> Query(string promql)
            {
                var json = await client.GetStringAsync($"{url.TrimEnd('/')}/api/v1/query?query={Uri.EscapeDataString(promql)}", ct);
                using var doc = JsonDocument.Parse(json);
                var result = doc.RootElement.GetProperty("data").GetProperty("result");
                // increase() extrapolates to the window's edges, so counts are fractional: kept as they are (Component).
                return result.GetArrayLength() == 0 ? 0 : double.Parse(result[0].GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture);
            }
            var w = $"{windowHours}h";
            return (await Query($"sum(increase({MetricNames.IngestRequestsTotal}{{status=\"success\"}}[{w}]))"),
                await Query($"sum(increase({MetricNames.IngestRequestsTotal}[{w}]))"),
                await Query($"sum(increase({MetricNames.MoogRequestsTotal}{{status=\"success\"}}[{w}]))"),
                await Query($"sum(increase({MetricNames.MoogRequestsTotal}[{w}]))"));
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            logger.LogWarning("Prometheus at PROMETHEUS_URL is not usable ({Error}); SLOs come from MUTT's Redis counters", ex.Message);
            return null;
        }
    }
}
