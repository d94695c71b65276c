using Mutt.Core.Redis;

namespace Mutt.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class CircuitBreakerPolicyTests
{
    private static readonly DateTimeOffset T0 = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Opens_after_threshold_consecutive_failures_only()
    {
        var policy = new CircuitBreakerPolicy(5, TimeSpan.FromSeconds(60));
        for (var i = 0; i < 4; i++)
        {
            policy.RecordFailure(T0);
        }
        policy.RecordSuccess();
        for (var i = 0; i < 4; i++)
        {
            policy.RecordFailure(T0);
        }
        Assert.Equal(CircuitState.Closed, policy.State);
        policy.RecordFailure(T0);
        Assert.Equal(CircuitState.Open, policy.State);
        Assert.Equal(CircuitDecision.Blocked, policy.Acquire(T0.AddSeconds(59)));
    }

    [Fact]
    public void Half_open_lets_one_probe_through_and_its_outcome_decides()
    {
        var policy = new CircuitBreakerPolicy(1, TimeSpan.FromSeconds(60));
        policy.RecordFailure(T0);
        Assert.Equal(CircuitDecision.Probe, policy.Acquire(T0.AddSeconds(60)));
        Assert.Equal(CircuitState.HalfOpen, policy.State);
        Assert.Equal(CircuitDecision.Blocked, policy.Acquire(T0.AddSeconds(61)));

        policy.RecordFailure(T0.AddSeconds(62));
        Assert.Equal(CircuitState.Open, policy.State);
        Assert.Equal(CircuitDecision.Blocked, policy.Acquire(T0.AddSeconds(100)));

        Assert.Equal(CircuitDecision.Probe, policy.Acquire(T0.AddSeconds(122)));
        policy.RecordSuccess();
        Assert.Equal(CircuitState.Closed, policy.State);
        Assert.Equal(0, policy.Failures);
        Assert.Equal(CircuitDecision.Send, policy.Acquire(T0.AddSeconds(123)));
    }

    [Fact]
    public void A_late_success_does_not_cut_the_open_period_short()
    {
        var policy = new CircuitBreakerPolicy(1, TimeSpan.FromSeconds(60));
        policy.RecordFailure(T0);
        policy.RecordSuccess();
        Assert.Equal(CircuitState.Open, policy.State);
    }
}
