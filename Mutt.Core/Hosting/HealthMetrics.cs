using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Mutt.Core.Hosting;

/// <summary>
/// The dependencies /health reports (<c>redis</c>, <c>postgres</c>), as a gauge Prometheus can
/// alert on: <c>mutt_health_dependency_up{dependency}</c> is 1 while the check passes (healthy or
/// degraded) and 0 while /health says "disconnected". Not a spec 004 name: the spec's alerts only
/// see a process being down (<c>up</c>), never a process that is up but cut off from Redis or
/// PostgreSQL, which is the failure operators page on. Fed by the health-check publisher, so a
/// scrape never waits on a Redis or PostgreSQL round trip.
/// </summary>
public sealed class HealthMetrics : IHealthCheckPublisher
{
    public const string MeterName = "Mutt.Health";

    private readonly ConcurrentDictionary<string, int> _up = new(StringComparer.Ordinal);

    public HealthMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        meter.CreateObservableGauge("mutt_health_dependency_up",
            () => _up.Select(kv => new Measurement<int>(kv.Value, new KeyValuePair<string, object?>("dependency", kv.Key))),
            description: "1 while /health reports the dependency connected (or degraded), 0 while disconnected");
    }

    public Task PublishAsync(HealthReport report, CancellationToken cancellationToken)
    {
        foreach (var (name, entry) in report.Entries)
        {
            if (!entry.Tags.Contains(Microsoft.Extensions.Hosting.Extensions.LiveTag) && !entry.Tags.Contains(MuttHealthResponse.InfoTag))
            {
                _up[MuttHealthResponse.SpecName(name)] = entry.Status == HealthStatus.Unhealthy ? 0 : 1;
            }
        }
        return Task.CompletedTask;
    }
}
