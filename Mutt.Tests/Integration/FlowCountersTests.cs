using Mutt.Core.Redis;
using Mutt.Tests.Infrastructure;
using StackExchange.Redis;

namespace Mutt.Tests.Integration;

/// <summary>Flow counters from several replicas: each writes its own hash, the Dashboard's sum is the total.</summary>
[Collection(InfrastructureCollection.Name)]
[Trait("Category", "Integration")]
public sealed class FlowCountersTests(InfrastructureFixture infra)
{
    [Fact]
    public async Task Every_replica_adds_to_its_own_hash_and_the_sum_is_the_total()
    {
        var db = await ClearAsync();
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
        Assert.Equal(["alerter-a", "alerter-b"], (await db.SetMembersAsync(FlowCounters.PodRegistryKey)).Select(v => (string)v!).Order());
    }

    [Fact]
    public async Task The_sum_finds_pods_through_the_registry_once_seeded_and_drops_a_pod_whose_hash_expired()
    {
        var db = await ClearAsync();
        // A pod of a version before the registry: its hash only. A new client's first sum finds it by one SCAN.
        await db.HashIncrementAsync(FlowCounters.PodKey("old-pod"), FlowCounterNames.IngestSuccess, 4);
        await using var dashboard = await ConnectionMultiplexer.ConnectAsync(infra.RedisConnectionString);
        Assert.Equal(4, (await FlowCounters.SumAsync(dashboard))[FlowCounterNames.IngestSuccess]);
        Assert.True(await db.SetContainsAsync(FlowCounters.PodRegistryKey, "old-pod"));

        // Later sums read the registry only: a hash the registry does not name is not counted...
        await db.HashIncrementAsync(FlowCounters.PodKey("unregistered"), FlowCounterNames.IngestSuccess, 100);
        await DashboardApiTests.WriteFlowCountsAsync(db, "new-pod", (FlowCounterNames.IngestSuccess, 2));
        Assert.Equal(6, (await FlowCounters.SumAsync(dashboard))[FlowCounterNames.IngestSuccess]);

        // ...and a pod silent for the TTL (its hash gone) leaves the registry.
        await db.KeyDeleteAsync(FlowCounters.PodKey("old-pod"));
        Assert.Equal(2, (await FlowCounters.SumAsync(dashboard))[FlowCounterNames.IngestSuccess]);
        Assert.Equal(["new-pod"], (await db.SetMembersAsync(FlowCounters.PodRegistryKey)).Select(v => (string)v!));
    }

    private async Task<IDatabase> ClearAsync()
    {
        var db = infra.Multiplexer.GetDatabase();
        await foreach (var key in infra.Multiplexer.GetServer(infra.Multiplexer.GetEndPoints()[0]).KeysAsync(pattern: FlowCounters.PodKeyPrefix + "*"))
        {
            await db.KeyDeleteAsync(key);
        }
        return db;
    }
}
