using Mutt.Forwarder.Moogsoft;
using Mutt.Core.Redis;
using Mutt.Tests.Infrastructure;

namespace Mutt.Tests.Integration;

/// <summary>
/// The circuit breaker's transitions, run by circuit_acquire.lua / circuit_record.lua in a real Redis
/// (the scripts are the only copy of the rules): two <see cref="CircuitBreaker"/>s are two replicas.
/// </summary>
[Collection(InfrastructureCollection.Name)]
[Trait("Category", "Integration")]
public sealed class CircuitBreakerScriptTests(InfrastructureFixture infra)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    private async Task<CircuitBreaker> FreshAsync(int threshold, TimeSpan open)
    {
        await infra.Multiplexer.GetDatabase().KeyDeleteAsync(
            [MuttKeys.MoogCircuitState, MuttKeys.MoogCircuitFailures, MuttKeys.MoogCircuitOpenedAt, MuttKeys.MoogCircuitProbe]);
        return Replica(threshold, open);
    }

    private CircuitBreaker Replica(int threshold, TimeSpan open) => new(infra.Multiplexer, threshold, open, probeLease: TimeSpan.FromSeconds(30));

    [Fact]
    public async Task Opens_after_threshold_consecutive_failures_only()
    {
        var breaker = await FreshAsync(5, TimeSpan.FromSeconds(60));
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(CircuitState.Closed, await breaker.RecordAsync(success: false));
        }
        Assert.Equal(CircuitState.Closed, await breaker.RecordAsync(success: true));
        for (var i = 0; i < 4; i++)
        {
            await breaker.RecordAsync(success: false);
        }
        Assert.Equal(CircuitDecision.Send, (await breaker.AcquireAsync()).Decision);

        Assert.Equal(CircuitState.Open, await breaker.RecordAsync(success: false));
        Assert.Equal((CircuitDecision.Blocked, CircuitState.Open), Head(await breaker.AcquireAsync()));
        Assert.True(await breaker.IsHeldOpenAsync());
    }

    [Fact]
    public async Task Half_open_lets_one_probe_through_and_its_outcome_decides()
    {
        var open = TimeSpan.FromMilliseconds(400);
        var a = await FreshAsync(1, open);
        var b = Replica(1, open);
        Assert.Equal(CircuitState.Open, await a.RecordAsync(success: false));
        Assert.Equal(CircuitDecision.Blocked, (await a.AcquireAsync()).Decision);

        // After the open period exactly one replica gets the probe; the other stays blocked.
        var first = await Eventually.WaitForAsync(() => a.AcquireAsync(), r => r.Decision != CircuitDecision.Blocked, Deadline, "the open period ending");
        Assert.Equal((CircuitDecision.Probe, CircuitState.HalfOpen), Head(first));
        Assert.Equal((CircuitDecision.Blocked, CircuitState.HalfOpen), Head(await b.AcquireAsync()));
        Assert.Equal((CircuitDecision.Blocked, CircuitState.HalfOpen), Head(await a.AcquireAsync()));

        // A failed probe reopens the circuit for another full period.
        Assert.Equal(CircuitState.Open, await a.RecordAsync(success: false));
        Assert.Equal(CircuitDecision.Blocked, (await b.AcquireAsync()).Decision);
        var probe = await Eventually.WaitForAsync(() => b.AcquireAsync(), r => r.Decision != CircuitDecision.Blocked, Deadline, "the second open period ending");
        Assert.Equal(CircuitDecision.Probe, probe.Decision);

        // A successful probe closes it: everyone sends, the failure count starts again.
        Assert.Equal(CircuitState.Closed, await b.RecordAsync(success: true));
        Assert.Equal((CircuitDecision.Send, CircuitState.Closed), Head(await a.AcquireAsync()));
        Assert.Equal(0, (await b.AcquireAsync()).Failures);
    }

    [Fact]
    public async Task A_late_success_does_not_cut_the_open_period_short()
    {
        var breaker = await FreshAsync(1, TimeSpan.FromSeconds(60));
        await breaker.RecordAsync(success: false);
        Assert.Equal(CircuitState.Open, await breaker.RecordAsync(success: true));
        Assert.Equal(CircuitDecision.Blocked, (await breaker.AcquireAsync()).Decision);
    }

    private static (CircuitDecision, CircuitState) Head((CircuitDecision Decision, CircuitState State, long Failures) result) => (result.Decision, result.State);
}
