using Microsoft.Extensions.Diagnostics.HealthChecks;
using Mutt.Forwarder.Moogsoft;

namespace Mutt.Forwarder.Services;

/// <summary>
/// Is the Moogsoft endpoint reachable (TCP connect, result cached 15 s so /health polling does not
/// hammer Moogsoft)? Unreachable is Degraded, not Unhealthy: alerts wait safely in Redis and
/// restarting the forwarder would not bring Moogsoft back.
/// </summary>
public sealed class MoogReachableHealthCheck(MoogClient client) : IHealthCheck
{
    private static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(15);
    private (bool Reachable, DateTime At)? _last;

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var last = _last;
        if (last is null || DateTime.UtcNow - last.Value.At > CacheFor)
        {
            last = (await client.IsReachableAsync(TimeSpan.FromSeconds(2)), DateTime.UtcNow);
            _last = last;
        }
        return last.Value.Reachable
            ? HealthCheckResult.Healthy()
            : HealthCheckResult.Degraded($"{client.Url.Host}:{client.Url.Port} is not reachable");
    }
}
