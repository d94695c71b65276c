using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Mutt.Testing;
using Mutt.Ingestor.Ingest;
using Mutt.Core.Clients;
using Mutt.Core.Redis;
using Mutt.Tests.Infrastructure;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace Mutt.Tests.Integration;

/// <summary>
/// The Redis client every service gets (<c>AddMuttRedisClient</c>: Aspire's integration, StackExchange.Redis's
/// own Sentinel support) against a real master + replica + three redis-sentinel processes. Writes are counted
/// as acknowledged only when the Ingestor's durable push (LPUSH + WAIT 1 on one connection) says so.
/// </summary>
[Trait("Category", "Integration")]
public sealed class SentinelClientTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Client_follows_the_new_master_after_kill_9_and_keeps_every_acknowledged_write()
    {
        await using var cluster = await SentinelCluster.StartAsync(downAfterMilliseconds: 1000, failoverTimeoutMilliseconds: 5000, quorum: 2);
        output.WriteLine($"master {cluster.Master.Port}, replica {cluster.Replica.Port}, sentinels {string.Join(',', cluster.SentinelPorts)}");
        await using var client = await RedisClientHost.StartAsync(cluster.ConnectionString);
        Assert.Equal($"127.0.0.1:{cluster.Master.Port}", await MasterFromHealthAsync(client));

        var (acknowledged, unconfirmed, writer, stop) = StartDurableWriter(client.Multiplexer, "mutt:test:sentinel:items");
        await Eventually.WaitForAsync(() => Task.FromResult(acknowledged.Count), n => n >= 300, Deadline, "300 acknowledged writes before the kill");
        cluster.KillMaster();
        output.WriteLine($"killed master pid {cluster.Master.Pid} after {acknowledged.Count} acknowledged writes");

        await Eventually.WaitForAsync(() => MasterFromHealthAsync(client), m => m == $"127.0.0.1:{cluster.Replica.Port}", Deadline,
            "the client to follow the promoted replica");
        // Writes resume on the new master (it has no replica now, so WAIT 1 answers 0: written, not acknowledged).
        var before = unconfirmed.Count;
        await Eventually.WaitForAsync(() => Task.FromResult(unconfirmed.Count), n => n >= before + 3, Deadline, "writes to resume on the new master");
        await stop.CancelAsync();
        await writer;

        Assert.Equal(cluster.Replica.Port, await cluster.CurrentMasterPortAsync());
        var present = (await client.Multiplexer.GetDatabase().ListRangeAsync("mutt:test:sentinel:items")).Select(v => (long)v).ToHashSet();
        var lost = acknowledged.Where(i => !present.Contains(i)).ToList();
        output.WriteLine($"acknowledged {acknowledged.Count}, present {present.Count}, unconfirmed {unconfirmed.Count}, lost {lost.Count}");
        Assert.Empty(lost);
    }

    [Fact]
    public async Task Client_follows_a_manual_failover_with_its_subscription_and_loses_no_acknowledged_write()
    {
        await using var cluster = await SentinelCluster.StartAsync();
        await using var client = await RedisClientHost.StartAsync(cluster.ConnectionString);
        var received = new ConcurrentQueue<string>();
        await client.Multiplexer.GetSubscriber().SubscribeAsync(RedisChannel.Literal("mutt:config:updates"), (_, message) => received.Enqueue((string?)message ?? ""));
        // The Ingestor's WAIT path uses a dedicated multiplexer: it must follow the same master.
        var dedicated = client.Services.GetRequiredService<RedisConnectionFactory>().CreateDedicated("mutt-test-dedicated", TimeSpan.FromSeconds(2));
        var (acknowledged, _, writer, stop) = StartDurableWriter(dedicated, "mutt:test:sentinel:manual");
        await Eventually.WaitForAsync(() => Task.FromResult(acknowledged.Count), n => n >= 200, Deadline, "200 acknowledged writes before the failover");

        await cluster.FailoverAsync();

        await Eventually.WaitForAsync(() => MasterFromHealthAsync(client), m => m == $"127.0.0.1:{cluster.Replica.Port}", Deadline,
            "the client to follow the manual failover");
        // The demoted master becomes the new master's replica, so WAIT 1 acknowledges again.
        var afterSwitch = acknowledged.Count;
        await Eventually.WaitForAsync(() => Task.FromResult(acknowledged.Count), n => n >= afterSwitch + 200, Deadline,
            "acknowledged writes to resume with the old master as replica");
        await stop.CancelAsync();
        await writer;

        using var direct = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{cluster.Replica.Port},abortConnect=false");
        var present = (await direct.GetDatabase().ListRangeAsync("mutt:test:sentinel:manual")).Select(v => (long)v).ToHashSet();
        var lost = acknowledged.Where(i => !present.Contains(i)).ToList();
        output.WriteLine($"acknowledged {acknowledged.Count}, present {present.Count}, lost {lost.Count}");
        Assert.Empty(lost);
        // The subscription made before the failover hears a message published on the new master.
        await Eventually.WaitForAsync(async () =>
        {
            await direct.GetSubscriber().PublishAsync(RedisChannel.Literal("mutt:config:updates"), "after-failover");
            return received.Contains("after-failover");
        }, Deadline, "the subscription to be renewed on the new master");
    }

    /// <summary>
    /// WAIT counts only the writes of its own connection: sent on a fresh connection it answers at once with
    /// the number of replicas, even one that never got the LPUSH. The durable push must never confirm then.
    /// The replica is frozen (SIGSTOP) so it cannot acknowledge anything, and the master kills every client
    /// connection again and again, so some LPUSHes and WAITs are split across connections.
    /// </summary>
    [Fact]
    public async Task Durable_push_never_confirms_a_write_the_replica_cannot_have_even_when_connections_break_between_lpush_and_wait()
    {
        await using var cluster = await SentinelCluster.StartAsync(downAfterMilliseconds: 60000);
        await using var client = await RedisClientHost.StartAsync(cluster.Master.ConnectionString);
        var dedicated = client.Services.GetRequiredService<RedisConnectionFactory>().CreateDedicated("mutt-test-durable", TimeSpan.FromSeconds(2));
        Assert.Equal(PushOutcome.Pushed, await IngestWriter.DurablePushAsync(dedicated, "mutt:test:durable", ["warm"], 1, TimeSpan.FromSeconds(5)));

        // The hazard itself: WAIT on a connection with no writes confirms immediately while the replica is frozen.
        Assert.True(NativeProcess.Signal(cluster.Replica.Pid, 19 /* SIGSTOP */));
        try
        {
            using (var fresh = await ConnectionMultiplexer.ConnectAsync(cluster.Master.ConnectionString))
            {
                await fresh.GetDatabase().ListLeftPushAsync("mutt:test:durable:other", "x");
                Assert.Equal(":1", await RawCommandAsync(cluster.Master.Port, "WAIT 1 200"));
            }

            using var admin = await ConnectionMultiplexer.ConnectAsync(cluster.Master.ConnectionString + ",allowAdmin=true");
            using var stop = new CancellationTokenSource();
            var kills = 0;
            var chaos = Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    try
                    {
                        await admin.GetServer(admin.GetEndPoints()[0]).ExecuteAsync("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes");
                        Interlocked.Increment(ref kills);
                    }
                    catch (Exception ex) when (ex is RedisException or TimeoutException)
                    {
                        // The admin connection itself was caught in a kill: it reconnects.
                    }
                    await Task.Delay(100); // pacing of the fault injection, not a wait for an outcome
                }
            });
            var outcomes = new ConcurrentBag<string>();
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(6);
            var pushers = Enumerable.Range(0, 4).Select(p => Task.Run(async () =>
            {
                for (var i = 0; DateTime.UtcNow < deadline; i++)
                {
                    try
                    {
                        var outcome = await IngestWriter.DurablePushAsync(dedicated, "mutt:test:durable", [$"{p}-{i}"], 1, TimeSpan.FromMilliseconds(50));
                        outcomes.Add(outcome.ToString());
                    }
                    catch (Exception ex) when (RedisFaults.IsTransient(ex) || ex is InvalidOperationException)
                    {
                        outcomes.Add("error");
                        await Task.Delay(20); // pacing while the connection is re-established, not a wait for an outcome
                    }
                }
            })).ToArray();
            await Task.WhenAll(pushers);
            await stop.CancelAsync();
            await chaos;
            output.WriteLine($"kills {kills}; outcomes: {string.Join(", ", outcomes.GroupBy(o => o).Select(g => $"{g.Key}={g.Count()}"))}");
            Assert.True(kills > 10, "the fault injection ran");
            Assert.Contains(nameof(PushOutcome.ReplicaTimeout), outcomes); // writes did reach the master
            Assert.Contains("error", outcomes); // and connections did break under them
            Assert.DoesNotContain(nameof(PushOutcome.Pushed), outcomes);
        }
        finally
        {
            NativeProcess.Signal(cluster.Replica.Pid, 18 /* SIGCONT */);
        }
        // With the replica back, pushes are confirmed again.
        await Eventually.WaitForAsync(() => IngestWriter.DurablePushAsync(dedicated, "mutt:test:durable", ["after"], 1, TimeSpan.FromSeconds(1)),
            o => o == PushOutcome.Pushed, Deadline, "a confirmed push once the replica runs again");
    }

    private static (ConcurrentQueue<long> Acknowledged, ConcurrentQueue<long> Unconfirmed, Task Writer, CancellationTokenSource Stop)
        StartDurableWriter(IConnectionMultiplexer multiplexer, string key)
    {
        var acknowledged = new ConcurrentQueue<long>();
        var unconfirmed = new ConcurrentQueue<long>();
        var stop = new CancellationTokenSource();
        var writer = Task.Run(async () =>
        {
            for (long i = 0; !stop.IsCancellationRequested; i++)
            {
                try
                {
                    var outcome = await IngestWriter.DurablePushAsync(multiplexer, key, [i], 1, TimeSpan.FromMilliseconds(500));
                    (outcome == PushOutcome.Pushed ? acknowledged : unconfirmed).Enqueue(i);
                }
                catch (Exception ex) when (ex is RedisException or TimeoutException)
                {
                    // Not acknowledged, so not promised: the writer moves on, as a client that got an error would.
                    await Task.Delay(10); // retry pacing while there is no master, not a wait for an outcome
                }
            }
        });
        return (acknowledged, unconfirmed, writer, stop);
    }

    /// <summary>One inline command on a brand-new plain TCP connection; the first reply line.</summary>
    private static async Task<string> RawCommandAsync(int port, string command)
    {
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync("127.0.0.1", port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(command + "\r\n"));
        using var reader = new StreamReader(stream, System.Text.Encoding.ASCII);
        return await reader.ReadLineAsync() ?? "";
    }

    private static async Task<string?> MasterFromHealthAsync(RedisClientHost client)
    {
        var report = await client.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
        return report.Entries.TryGetValue("redis_topology", out var entry) && entry.Data.TryGetValue("redis_master", out var master) ? (string)master : null;
    }
}
