using Microsoft.AspNetCore.Http.HttpResults;
using Mutt.Dashboard.Metrics;

namespace Mutt.Dashboard.Apis;

/// <summary>The flow figures of the overview and the SLO report, as JSON.</summary>
public static class MetricsApi
{
    public static IEndpointRouteBuilder MapMetricsApi(this IEndpointRouteBuilder app)
    {
        app.MapVersioned("Metrics", (g, v2) =>
        {
            g.MapGet("/metrics", FlowMetrics).Named(v2, "FlowMetrics").WithSummary("Event rates, queue and DLQ depths, and service counters");
            g.MapGet("/slo", Slo).Named(v2, "Slo").WithSummary("SLO compliance per component over the configured window");
        });
        return app;
    }

    public static async Task<Ok<FlowSnapshot>> FlowMetrics(IFlowMetrics flow, CancellationToken ct) => TypedResults.Ok(await flow.SnapshotAsync(ct));

    public static async Task<Ok<SloReport>> Slo(SloService slo, CancellationToken ct) => TypedResults.Ok(await slo.EvaluateAsync(ct));
}
