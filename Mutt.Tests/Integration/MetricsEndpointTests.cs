using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Mutt.MoogSink.Sink;
using Mutt.Tests.Infrastructure;

namespace Mutt.Tests.Integration;

/// <summary>/metrics of a real host: MUTT's metrics plus the runtime's, ASP.NET Core's and Kestrel's, all Prometheus-legal.</summary>
[Trait("Category", "Integration")]
public sealed partial class MetricsEndpointTests
{
    [Fact]
    public async Task Metrics_endpoint_also_exposes_runtime_hosting_and_kestrel_metrics_with_prometheus_names()
    {
        await using var host = await InProcessServiceHost.StartAsync("Mutt.MoogSink", new Dictionary<string, string?> { ["LOG_LEVEL"] = "WARNING" },
            builder => builder.Services.AddSingleton<SinkStore>(), app => Mutt.MoogSink.Apis.MoogEventsApi.MapMoogEventsApi(app));
        (await host.Http.GetAsync("/not-found")).Dispose();

        var text = await host.Http.GetStringAsync("/metrics");

        var types = TypeLine().Matches(text).Select(m => (Name: m.Groups[1].Value, Type: m.Groups[2].Value)).ToList();
        Assert.True(types.Count == types.Select(t => t.Name).Distinct().Count(), "one TYPE line per family:\n" + text);
        Assert.All(types, t => Assert.Matches("^[a-zA-Z_:][a-zA-Z0-9_:]*$", t.Name));
        Assert.Contains(("http_server_request_duration_seconds", "histogram"), types);
        Assert.Contains(("kestrel_active_connections", "gauge"), types);
        Assert.Contains(("dotnet_gc_collections_total", "counter"), types);
        Assert.Contains(("dotnet_process_memory_working_set_bytes", "gauge"), types);
        Assert.Matches(@"http_server_request_duration_seconds_bucket\{[^}]*http_response_status_code=""404""[^}]*le=""\+Inf""\} [1-9]", text);
    }

    [GeneratedRegex(@"^# TYPE (\S+) (\S+)$", RegexOptions.Multiline)]
    private static partial Regex TypeLine();
}
