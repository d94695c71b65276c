using Mutt.Core.Configuration;
using Mutt.Core.Redis;
using Mutt.Forwarder.Services;

namespace Mutt.Forwarder.Moogsoft;

/// <summary>
/// What every replica must pass before a POST to Moogsoft: the shared circuit breaker and the
/// cluster-wide rate limit (both in Redis), with the circuit gauge and its transitions logged.
/// </summary>
public sealed class MoogGate(CircuitBreaker circuit, RateLimiter limiter, DynamicConfig config, ForwarderOptions options, ForwarderMetrics metrics, ILogger logger)
{
    public CircuitState LastSeen => circuit.LastSeen;

    /// <summary>OPEN and its open period still running: take nothing, the alerts wait in the queue.</summary>
    public Task<bool> IsHeldOpenAsync() => circuit.IsHeldOpenAsync();

    public async Task<(CircuitDecision Decision, long Failures)> AcquireAsync()
    {
        var (decision, _, failures) = await circuit.AcquireAsync();
        metrics.CircuitState = (int)circuit.LastSeen;
        return (decision, failures);
    }

    public async Task<CircuitState> RecordAsync(bool success)
    {
        var before = circuit.LastSeen;
        var state = await circuit.RecordAsync(success);
        metrics.CircuitState = (int)state;
        if (state != before)
        {
            logger.LogWarning("Moogsoft circuit {Before} -> {After}", CircuitBreaker.Name(before), CircuitBreaker.Name(state));
        }
        return state;
    }

    public async Task WaitForRateSlotAsync(CancellationToken ct)
    {
        var limit = await config.GetInt64Async(DynamicConfigKeys.MoogRateLimit, options.RateLimit);
        var period = TimeSpan.FromSeconds(options.RatePeriodSeconds);
        while (true)
        {
            var wait = await limiter.TryAcquireAsync(Math.Max(1, limit), period);
            if (wait == TimeSpan.Zero)
            {
                return;
            }
            metrics.RateLimitHits.Add(1);
            await Task.Delay(wait, ct);
        }
    }

    public async Task SampleAsync() => metrics.CircuitState = (int)await circuit.ReadStateAsync();
}
