using System.Collections.Concurrent;
using System.Net;
using Mutt.AppHost.Hosting;
using Mutt.Core.Redis;
using Mutt.Tests.Infrastructure;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace Mutt.Tests.Integration;

/// <summary>
/// Real redis-server master + replica and three redis-sentinel processes; the master is killed with
/// SIGKILL while a writer pushes numbered items, each counted as acknowledged only after WAIT 1.
/// </summary>
public sealed class SentinelFailoverTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Manager_follows_the_new_master_after_kill_9_and_keeps_every_replica_acknowledged_write()
    {
        await using var cluster = await SentinelCluster.StartAsync(downAfterMilliseconds: 1000, failoverTimeoutMilliseconds: 5000, quorum: 2);
        output.WriteLine($"master {cluster.Master.Port}, replica {cluster.Replica.Port}, sentinels {string.Join(',', cluster.SentinelPorts)}");
        await using var manager = await SentinelConnectionManager.ConnectAsync(cluster.ConnectionString);
        Assert.Equal(cluster.Master.Port, ((IPEndPoint)manager.MasterEndPoint).Port);
        var changes = new ConcurrentQueue<SentinelMasterChangedEventArgs>();
        manager.MasterChanged += (_, e) => changes.Enqueue(e);

        const string key = "mutt:test:sentinel:items";
        var acknowledged = new ConcurrentQueue<long>();
        long writtenWithoutReplica = 0, failedWrites = 0;
        using var stop = new CancellationTokenSource();
        var writer = Task.Run(async () =>
        {
            for (long i = 0; !stop.IsCancellationRequested; i++)
            {
                try
                {
                    // A fresh IDatabase each time: the manager may have swapped the multiplexer.
                    var db = manager.GetDatabase();
                    await db.ListLeftPushAsync(key, i);
                    if (await SentinelConnectionManager.WaitForReplicasAsync(db, 1, TimeSpan.FromMilliseconds(500)) >= 1)
                    {
                        acknowledged.Enqueue(i);
                    }
                    else
                    {
                        Interlocked.Increment(ref writtenWithoutReplica);
                    }
                }
                catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
                {
                    // Not acknowledged, so not promised: the writer moves on, as a client that got an error would.
                    Interlocked.Increment(ref failedWrites);
                    await Task.Delay(10); // retry pacing while there is no master, not a wait for an outcome
                }
            }
        });

        await Eventually.WaitForAsync(() => Task.FromResult(acknowledged.Count), n => n >= 300, Deadline, "300 acknowledged writes before the kill");
        var acknowledgedBeforeKill = acknowledged.Count;
        cluster.KillMaster();
        output.WriteLine($"killed master pid {cluster.Master.Pid} after {acknowledgedBeforeKill} acknowledged writes");

        await Eventually.WaitForAsync(() => Task.FromResult(((IPEndPoint)manager.MasterEndPoint).Port),
            port => port == cluster.Replica.Port, Deadline, "the manager to follow the promoted replica");
        // Writes resume on the new master (it has no replica now, so WAIT 1 answers 0: written, not acknowledged).
        await Eventually.WaitForAsync(() => Task.FromResult(Interlocked.Read(ref writtenWithoutReplica)), n => n >= 3,
            Deadline, "writes to resume on the new master");
        await stop.CancelAsync();
        await writer;

        Assert.Equal(cluster.Replica.Port, await cluster.CurrentMasterPortAsync());
        Assert.Equal(1, manager.Failovers);
        Assert.Contains(changes, c => ((IPEndPoint)c.Current).Port == cluster.Replica.Port);
        var present = (await manager.GetDatabase().ListRangeAsync(key)).Select(v => (long)v).ToHashSet();
        var lost = acknowledged.Where(i => !present.Contains(i)).ToList();
        output.WriteLine($"acknowledged {acknowledged.Count}, present {present.Count}, failed writes {failedWrites}, lost {lost.Count}");
        Assert.Empty(lost);
    }

    [Fact]
    public async Task Manager_follows_a_manual_failover_and_loses_no_acknowledged_write_to_the_demoted_master()
    {
        await using var cluster = await SentinelCluster.StartAsync();
        await using var manager = await SentinelConnectionManager.ConnectAsync(cluster.ConnectionString);
        const string key = "mutt:test:sentinel:manual";
        var received = new ConcurrentQueue<string>();
        await manager.SubscribeAsync("mutt:config:updates", (_, message) => received.Enqueue((string?)message ?? ""));
        var acknowledged = new ConcurrentQueue<long>();
        using var stop = new CancellationTokenSource();
        var writer = Task.Run(async () =>
        {
            for (long i = 0; !stop.IsCancellationRequested; i++)
            {
                try
                {
                    var db = manager.GetDatabase();
                    await db.ListLeftPushAsync(key, i);
                    if (await SentinelConnectionManager.WaitForReplicasAsync(db, 1, TimeSpan.FromMilliseconds(500)) >= 1)
                    {
                        acknowledged.Enqueue(i);
                    }
                }
                catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
                {
                    await Task.Delay(10); // retry pacing during the switch, not a wait for an outcome
                }
            }
        });
        await Eventually.WaitForAsync(() => Task.FromResult(acknowledged.Count), n => n >= 200, Deadline, "200 acknowledged writes before the failover");

        await cluster.FailoverAsync();

        await Eventually.WaitForAsync(() => Task.FromResult(((IPEndPoint)manager.MasterEndPoint).Port),
            port => port == cluster.Replica.Port, Deadline, "the manager to follow the manual failover");
        // The demoted master becomes the new master's replica, so WAIT 1 acknowledges again.
        var afterSwitch = acknowledged.Count;
        await Eventually.WaitForAsync(() => Task.FromResult(acknowledged.Count), n => n >= afterSwitch + 200, Deadline,
            "acknowledged writes to resume with the old master as replica");
        await stop.CancelAsync();
        await writer;

        var present = (await manager.GetDatabase().ListRangeAsync(key)).Select(v => (long)v).ToHashSet();
        var lost = acknowledged.Where(i => !present.Contains(i)).ToList();
        output.WriteLine($"acknowledged {acknowledged.Count}, present {present.Count}, lost {lost.Count}");
        Assert.Empty(lost);
        // The subscription followed the master: a publish on the new master reaches the handler.
        await Eventually.WaitForAsync(async () =>
        {
            await manager.GetDatabase().PublishAsync("mutt:config:updates", "after-failover");
            return received.Contains("after-failover");
        }, Deadline, "the subscription to be renewed on the new master");
    }

    [Fact]
    public async Task Wait_reports_the_replica_that_has_the_write()
    {
        await using var cluster = await SentinelCluster.StartAsync();
        await using var manager = await SentinelConnectionManager.ConnectAsync(cluster.ConnectionString);
        var db = manager.GetDatabase();
        await db.StringSetAsync("mutt:test:sentinel:wait", "v");

        Assert.Equal(1, await SentinelConnectionManager.WaitForReplicasAsync(db, 1, TimeSpan.FromSeconds(5)));
        using var replica = await ConnectionMultiplexer.ConnectAsync(cluster.Replica.ConnectionString);
        Assert.Equal("v", (string?)await replica.GetDatabase().StringGetAsync("mutt:test:sentinel:wait"));
    }
}
