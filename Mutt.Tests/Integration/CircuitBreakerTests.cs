using Mutt.Forwarder.Moogsoft;
using Mutt.Core.Redis;
using Mutt.Tests.Infrastructure;

namespace Mutt.Tests.Integration;

[Collection(InfrastructureCollection.Name)]
[Trait("Category", "Integration")]
public sealed class CircuitBreakerTests(InfrastructureFixture infra)
{
    [Fact]
    public async Task Circuit_opens_after_five_failures_stays_open_half_opens_with_one_probe_and_closes()
    {
        await using var host = await ForwarderTestHost.WithSinkAsync(infra);
        await host.SetModeAsync("""{"status":500}""");
        await ForwarderTestHost.PushAlertsAsync(infra.Multiplexer, 10, "circuit");
        var env = new Dictionary<string, string?>
        {
            ["MOOG_CIRCUIT_FAILURE_THRESHOLD"] = "5", ["MOOG_CIRCUIT_OPEN_SECONDS"] = "3", ["MOOG_MAX_RETRIES"] = "1000",
        };
        await host.StartForwarderAsync("fwd-circuit-a", env);
        await host.StartForwarderAsync("fwd-circuit-b", env);
        var db = infra.Multiplexer.GetDatabase();

        // Two failed probes after the first opening: OPEN → HALF_OPEN → OPEN twice.
        await Eventually.WaitForAsync(() => host.StatAsync("requests"), n => n >= 7, TimeSpan.FromSeconds(60), "5 failures and 2 probes");
        await host.SetModeAsync("""{"status":200}""");
        await Eventually.WaitForAsync(() => host.StatAsync("events"), n => n >= 10, TimeSpan.FromSeconds(60), "10 events after closing");
        // The sink has the events before the Forwarder records the probe's success: wait for the record.
        await Eventually.WaitForAsync(async () => (string?)await db.StringGetAsync(MuttKeys.MoogCircuitState), s => s == "CLOSED",
            TimeSpan.FromSeconds(30), "the circuit CLOSED after the successful probe");
        Assert.Equal("0", (string?)await db.StringGetAsync(MuttKeys.MoogCircuitFailures));

        var failed = (await host.RequestsAsync()).Where(r => r.GetProperty("status").GetInt32() == 500)
            .Select(r => r.GetProperty("received_at").GetDateTimeOffset()).Order().ToArray();
        Assert.True(failed.Length >= 7);
        // After the fifth failure every failed request is a lone probe: none arrive while OPEN
        // (3 s), and both replicas never probe the same HALF_OPEN period.
        for (var i = 5; i < failed.Length; i++)
        {
            var gap = failed[i] - failed[i - 1];
            Assert.True(gap >= TimeSpan.FromSeconds(2.8), $"request {i} came {gap} after the previous failure while the circuit was OPEN");
        }
        Assert.Empty(ForwarderTestHost.ReadDeadLetters(infra.Multiplexer, MuttKeys.MoogDlq));
    }
}
