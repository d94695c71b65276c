using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Mutt.AppHost.Hosting;
using Mutt.Core.Redis;
using Mutt.Tests.Infrastructure;
using StackExchange.Redis;

namespace Mutt.Tests.Integration;

/// <summary>
/// The forwarding <see cref="SentinelMultiplexer"/> that AddRedisClient hands out for a sentinel connection
/// string: one reference held across a failover keeps reaching the master, and its pub/sub follows.
/// </summary>
public sealed class SentinelMultiplexerTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task One_multiplexer_reference_follows_a_manual_failover_with_its_subscriptions()
    {
        await using var cluster = await SentinelCluster.StartAsync();
        await using var redis = SentinelMultiplexer.Connect(SentinelOptions.Parse(cluster.ConnectionString));
        IConnectionMultiplexer held = redis; // as a service holds its singleton
        var received = new ConcurrentQueue<string>();
        held.GetSubscriber().Subscribe("mutt:test:sentinel:ch", (_, value) => received.Enqueue((string)value!));
        var db = held.GetDatabase();
        await db.StringSetAsync("mutt:test:sentinel:before", "1");
        // Replication is asynchronous: only a write the replica confirmed is promised to survive.
        Assert.Equal(1, await SentinelConnectionManager.WaitForReplicasAsync(db, 1, TimeSpan.FromSeconds(10)));
        var changed = 0;
        redis.Manager.MasterChanged += (_, _) => Interlocked.Increment(ref changed);

        await cluster.FailoverAsync();
        await Eventually.WaitForAsync(() => Task.FromResult(((IPEndPoint)redis.MasterEndPoint).Port), p => p == cluster.Replica.Port, Deadline,
            "the multiplexer on the promoted replica");
        Assert.Equal(1, Volatile.Read(ref changed));
        Assert.Equal($"127.0.0.1:{cluster.Replica.Port}", redis.MasterAddress);

        // Writes through the same reference land on the new master.
        await Eventually.WaitForAsync(async () =>
        {
            try
            {
                await held.GetDatabase().StringSetAsync("mutt:test:sentinel:after", "2");
                return true;
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                return false;
            }
        }, Deadline, "a write through the held reference");
        using var direct = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{cluster.Replica.Port},abortConnect=false");
        Assert.Equal("2", (string?)await direct.GetDatabase().StringGetAsync("mutt:test:sentinel:after"));
        Assert.Equal("1", (string?)await direct.GetDatabase().StringGetAsync("mutt:test:sentinel:before"));
        Assert.Equal(cluster.Replica.Port, ((IPEndPoint)held.GetEndPoints()[0]).Port);

        // The subscription made before the failover hears a message published on the new master.
        await Eventually.WaitForAsync(async () =>
        {
            await direct.GetSubscriber().PublishAsync("mutt:test:sentinel:ch", "hello");
            return received.Contains("hello");
        }, Deadline, "the subscription renewed on the new master");

        // Unsubscribing through the wrapper stops the renewal and the subscription.
        await held.GetSubscriber().UnsubscribeAsync("mutt:test:sentinel:ch");
        var numsub = (RedisResult[])(await direct.GetDatabase().ExecuteAsync("PUBSUB", "NUMSUB", "mutt:test:sentinel:ch"))!;
        Assert.Equal(0, (long)numsub[1]);
    }

    [Fact]
    public async Task AddRedisClient_with_a_sentinel_string_serves_the_forwarding_multiplexer_and_health_names_the_master()
    {
        await using var cluster = await SentinelCluster.StartAsync();
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["ConnectionStrings:redis"] = cluster.ConnectionString });
        builder.AddRedisClient("redis");
        using var host = builder.Build();

        var redis = Assert.IsType<SentinelMultiplexer>(host.Services.GetRequiredService<IConnectionMultiplexer>());
        Assert.Equal(cluster.Master.Port, ((IPEndPoint)redis.MasterEndPoint).Port);
        var report = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
        var entry = report.Entries["redis"];
        Assert.Equal(HealthStatus.Healthy, entry.Status);
        Assert.Equal($"127.0.0.1:{cluster.Master.Port}", entry.Data["redis_master"]);

        // A dedicated multiplexer (the Ingestor's WAIT path) follows the same master.
        var dedicated = host.Services.GetRequiredService<RedisConnectionFactory>().CreateDedicated("mutt-test-dedicated", TimeSpan.FromSeconds(2));
        Assert.IsType<SentinelMultiplexer>(dedicated);
        await dedicated.GetDatabase().StringSetAsync("mutt:test:sentinel:dedicated", "x");
        Assert.Equal(1, await SentinelConnectionManager.WaitForReplicasAsync(dedicated.GetDatabase(), 1, TimeSpan.FromSeconds(5)));
    }
}
