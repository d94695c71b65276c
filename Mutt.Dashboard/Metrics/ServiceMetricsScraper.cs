using System.Globalization;
using System.Text.RegularExpressions;

namespace Mutt.Dashboard.Metrics;

/// <summary>
/// Optional: reads the services' own Prometheus counters from their /metrics when the AppHost
/// (or Aspire) injected their addresses (<c>services:ingestor|alerter|forwarder:http:N</c>). Every
/// replica is summed. A service that does not answer within a second is skipped.
/// </summary>
public sealed partial class ServiceMetricsScraper(IConfiguration configuration, IHttpClientFactory http, ILogger<ServiceMetricsScraper> logger)
{
    public static readonly string[] Services = ["ingestor", "alerter", "forwarder"];

    public bool IsConfigured => Services.Any(s => Urls(s).Any());

    /// <summary>MUTT counter name (as in mutt:metrics:{name}) → value, only for the services that answered.</summary>
    public async Task<Dictionary<string, long>> ScrapeAsync(CancellationToken ct)
    {
        var counters = new Dictionary<string, long>();
        using var client = http.CreateClient();
        client.Timeout = TimeSpan.FromSeconds(1);
        foreach (var service in Services)
        {
            var samples = new List<Sample>();
            var answered = false;
            foreach (var url in Urls(service))
            {
                try
                {
                    samples.AddRange(Parse(await client.GetStringAsync(url.TrimEnd('/') + "/metrics", ct)));
                    answered = true;
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                {
                    logger.LogDebug("Metrics of {Service} at {Url} not available: {Error}", service, url, ex.Message);
                }
            }
            if (!answered)
            {
                continue;
            }
            switch (service)
            {
                case "ingestor":
                    Split(samples, "mutt_ingest_requests_total", "ingest:success", "ingest:failed", counters);
                    break;
                case "alerter":
                    counters["alerter:handled"] = Sum(samples, "mutt_alerter_events_processed_total", s => s == "handled");
                    counters["alerter:unhandled"] = Sum(samples, "mutt_alerter_events_processed_total", s => s == "unhandled");
                    counters["alerter:deduplicated"] = Sum(samples, "mutt_alerter_events_processed_total", s => s == "deduplicated");
                    counters["alerter:flapping"] = Sum(samples, "mutt_alerter_events_processed_total", s => s == "flapping");
                    counters["alerter:suppressed_maintenance"] = Sum(samples, "mutt_alerter_events_processed_total", s => s == "suppressed_maintenance");
                    break;
                case "forwarder":
                    Split(samples, "mutt_moog_requests_total", "moog:success", "moog:failed", counters);
                    counters["alerter:forwarded"] = Sum(samples, "mutt_moog_alerts_processed_total", s => s == "success");
                    break;
            }
        }
        return counters;
    }

    private IEnumerable<string> Urls(string service)
    {
        for (var i = 0; configuration[$"services:{service}:http:{i}"] is { Length: > 0 } url; i++)
        {
            yield return url;
        }
    }

    private static void Split(List<Sample> samples, string metric, string good, string bad, Dictionary<string, long> into)
    {
        into[good] = Sum(samples, metric, s => s == "success");
        into[bad] = Sum(samples, metric, s => s != "success");
    }

    private static long Sum(List<Sample> samples, string metric, Func<string?, bool> status) =>
        (long)samples.Where(s => s.Name == metric && status(s.Status)).Sum(s => s.Value);

    public sealed record Sample(string Name, string? Status, double Value);

    /// <summary>Prometheus text format: <c>name{label="v",...} value</c>; comments and other lines are ignored.</summary>
    public static IEnumerable<Sample> Parse(string text)
    {
        foreach (var line in text.Split('\n'))
        {
            var m = SampleLine().Match(line.Trim());
            if (!m.Success || !double.TryParse(m.Groups["value"].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                continue;
            }
            var status = StatusLabel().Match(m.Groups["labels"].Value);
            yield return new Sample(m.Groups["name"].Value, status.Success ? status.Groups[1].Value : null, value);
        }
    }

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>[^}]*)\})?\s+(?<value>\S+)")]
    private static partial Regex SampleLine();

    [GeneratedRegex("(?:^|,)\\s*status=\"([^\"]*)\"")]
    private static partial Regex StatusLabel();
}
