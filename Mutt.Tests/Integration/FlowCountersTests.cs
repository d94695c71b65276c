using Mutt.Core.Redis;
using Mutt.Tests.Infrastructure;

namespace Mutt.Tests.Integration;

/// <summary>Flow counters from several replicas: each writes its own hash, the Dashboard's sum is the total.</summary>
[Collection(InfrastructureCollection.Name)]
[Trait("Category", "Integration")]
public sealed class FlowCountersTests(InfrastructureFixture infra)
{
    [Fact]
    public async Task Every_replica_adds_to_its_own_hash_and_the_sum_is_the_total()
    {
        var db = infra.Multiplexer.GetDatabase();
        foreach (var key in infra.Multiplexer.GetServer(infra.Multiplexer.GetEndPoints()[0]).Keys(pattern: FlowCounters.PodKeyPrefix + ":*"))
        {
            await db.KeyDeleteAsync(key);
        }
        FlowCounters a = new(), b = new();
        a.Add(FlowCounterNames.AlerterHandled, 70);
        a.Add(FlowCounterNames.AlerterUnhandled, 30);
        b.Add(FlowCounterNames.AlerterHandled, 5);
        await a.FlushAsync(db, "alerter-a");
        await b.FlushAsync(db, "alerter-b");
        a.Add(FlowCounterNames.AlerterHandled, 1);
        await a.FlushAsync(db, "alerter-a");
        await a.FlushAsync(db, "alerter-a"); // nothing new: adds nothing

        var totals = await FlowCounters.SumAsync(infra.Multiplexer);
        Assert.Equal(76, totals[FlowCounterNames.AlerterHandled]);
        Assert.Equal(30, totals[FlowCounterNames.AlerterUnhandled]);
        Assert.Equal(0, totals[FlowCounterNames.MoogFailed]);
        Assert.Equal(71, (long)await db.HashGetAsync(FlowCounters.PodKey("alerter-a"), FlowCounterNames.AlerterHandled));
        var ttl = await db.KeyTimeToLiveAsync(FlowCounters.PodKey("alerter-b"));
        Assert.InRange(ttl!.Value, FlowCounters.Ttl - TimeSpan.FromMinutes(1), FlowCounters.Ttl);
    }
}
