using System.Text.Json;
using Mutt.Alerter.Processing;
using Mutt.Core.Events;
using Mutt.Tests.Infrastructure;
using StackExchange.Redis;

namespace Mutt.Tests.Integration;

/// <summary>
/// unhandled.lua in a real Redis with a batch from 1,200 hosts (a syslog batch from a large network):
/// hosts that already fired are neither counted nor fired again, the others are counted, and exactly
/// the host that crosses the threshold fires its meta-alert.
/// </summary>
[Collection(InfrastructureCollection.Name)]
[Trait("Category", "Integration")]
public sealed class UnhandledCounterScriptTests(InfrastructureFixture infra)
{
    [Fact]
    public async Task A_batch_from_1200_hosts_counts_the_untriggered_and_fires_only_the_one_that_crosses()
    {
        var prefix = "mutt:test-unhandled:" + Guid.NewGuid().ToString("N")[..8];
        var queue = prefix + ":alerts";
        var counter = new UnhandledCounter(prefix, threshold: 10, TimeSpan.FromHours(1), queue);
        var db = infra.Multiplexer.GetDatabase();
        var hosts = Enumerable.Range(0, 1200).Select(i => $"h-{i}").ToList();
        // Already fired in this window: neither counted nor fired again.
        string[] triggered = ["h-3", "h-700", "h-1150"];
        foreach (var host in triggered)
        {
            await db.StringSetAsync(counter.TriggeredKey(host), 10, TimeSpan.FromHours(1));
        }
        // One event short of the threshold, in the last chunk: this batch's 2 events cross it.
        await db.StringSetAsync(counter.CounterKey("h-1100"), 9, TimeSpan.FromHours(1));

        var counts = hosts.Select(h => (h, h == "h-1100" ? 2 : 1)).ToList();
        var template = BatchPlanner.MetaAlertTemplate(10, TimeSpan.FromHours(1), "NETO", DateTime.UtcNow);
        var flags = (RedisValue[])(await counter.AddAsync(db, counts, template))!;

        Assert.Equal(1200, flags.Length);
        Assert.Equal([1100], flags.Select((f, i) => ((long)f, i)).Where(f => f.Item1 == 1).Select(f => f.i));
        var alert = JsonSerializer.Deserialize((string)(await db.ListGetByIndexAsync(queue, 0))!, MuttJsonContext.Default.AlertMessage)!;
        Assert.Equal(("h-1100", true), (alert.Hostname, alert.MetaAlert));
        Assert.Equal(1, await db.ListLengthAsync(queue));
        Assert.Equal(11, (long)await db.StringGetAsync(counter.TriggeredKey("h-1100")));
        Assert.False(await db.KeyExistsAsync(counter.CounterKey("h-1100")));
        foreach (var host in triggered)
        {
            Assert.False(await db.KeyExistsAsync(counter.CounterKey(host)), $"{host} fired already: not counted");
        }
        Assert.Equal(1, (long)await db.StringGetAsync(counter.CounterKey("h-0")));
        Assert.Equal(1, (long)await db.StringGetAsync(counter.CounterKey("h-1199")));
        Assert.True(await db.KeyTimeToLiveAsync(counter.CounterKey("h-600")) > TimeSpan.Zero);
    }
}
