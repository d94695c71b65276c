using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Routing;
using Mutt.Core.Telemetry;

namespace Mutt.Dashboard.Metrics;

/// <summary>Spec 004 Web UI metrics.</summary>
public sealed class DashboardMetrics
{
    private readonly Meter _meter;

    /// <param name="meterFactory">The host's factory: the meter belongs to this host (several hosts in one process each expose only their own).</param>
    public DashboardMetrics(IMeterFactory meterFactory)
    {
        _meter = meterFactory.Create("Mutt.Dashboard");
        ApiRequests = _meter.CreateCounter<long>(MetricNames.WebuiApiRequestsTotal, description: "API requests");
        ApiLatency = _meter.CreateHistogram<double>(MetricNames.WebuiApiLatencySeconds, "s", "API latency");
        DbQueryLatency = _meter.CreateHistogram<double>(MetricNames.WebuiDbQueryLatencyMs, "ms", "DB query latency");
        RedisScanLatency = _meter.CreateHistogram<double>(MetricNames.WebuiRedisScanLatencySeconds, "s", "Time to read the processing lists' lengths for a flow snapshot (registry lookup; a keyspace SCAN before)");
    }

    public Counter<long> ApiRequests { get; }
    public Histogram<double> ApiLatency { get; }
    public Histogram<double> DbQueryLatency { get; }
    public Histogram<double> RedisScanLatency { get; }

    public async Task<T> TimeDbAsync<T>(string operation, Func<Task<T>> query)
    {
        var start = Stopwatch.GetTimestamp();
        try
        {
            return await query();
        }
        finally
        {
            DbQueryLatency.Record(Stopwatch.GetElapsedTime(start).TotalMilliseconds, new KeyValuePair<string, object?>("operation", operation));
        }
    }
}

/// <summary>Counts and times /api requests by route pattern (never the raw URL, which could hold a key).</summary>
public sealed class RequestMetricsMiddleware(RequestDelegate next, DashboardMetrics metrics)
{
    public async Task InvokeAsync(HttpContext context)
    {
        if (!context.Request.Path.StartsWithSegments("/api"))
        {
            await next(context);
            return;
        }
        var start = Stopwatch.GetTimestamp();
        try
        {
            await next(context);
        }
        finally
        {
            var endpoint = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "unmatched";
            metrics.ApiRequests.Add(1, new("endpoint", endpoint), new("status", context.Response.StatusCode.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            metrics.ApiLatency.Record(Stopwatch.GetElapsedTime(start).TotalSeconds, new KeyValuePair<string, object?>("endpoint", endpoint));
        }
    }
}
