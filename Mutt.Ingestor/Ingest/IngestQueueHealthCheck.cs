using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Mutt.Ingestor.Ingest;

/// <summary>Reports the sampled ingest queue depth in /health (spec 004 "queue_depth"); degraded while backpressure is on.</summary>
public sealed class IngestQueueHealthCheck(QueueDepthSampler sampler) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var full = await sampler.IsFullAsync();
        var data = new Dictionary<string, object> { ["queue_depth"] = sampler.LastDepth, ["max_ingest_queue_size"] = sampler.Cap };
        return full
            ? HealthCheckResult.Degraded("ingest queue at its cap; new events are refused with 503", data: data)
            : HealthCheckResult.Healthy(data: data);
    }
}
