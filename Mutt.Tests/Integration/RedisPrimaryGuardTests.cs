using System.Globalization;
using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Mutt.Core.Clients;
using Mutt.Testing;
using Mutt.Tests.Infrastructure;
using StackExchange.Redis;

namespace Mutt.Tests.Integration;

/// <summary>
/// <see cref="RedisPrimaryGuard"/> against two real redis-server processes whose roles are swapped the way
/// a Sentinel failover swaps them, but without closing the client's connections: the library keeps the
/// old primary marked primary (as it did for minutes with a restarted old master in SentinelSystemTests;
/// without the guard, the first test times out on READONLY), and only the guard's READONLY hook or its
/// ROLE check makes it re-read the roles.
/// </summary>
[Collection(InfrastructureCollection.Name)]
[Trait("Category", "Integration")]
public sealed class RedisPrimaryGuardTests(InfrastructureFixture infrastructure)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Writes_move_to_the_new_primary_when_the_old_one_turns_replica_under_open_connections()
    {
        await using var pair = await SwappedPair.StartAsync(infrastructure.Root);
        using var guard = new RedisPrimaryGuard(pair.Client, NullLogger.Instance);
        await pair.SwapRolesAsync();

        await Eventually.WaitForAsync(async () =>
        {
            try
            {
                await pair.Client.GetDatabase().ListLeftPushAsync("mutt:test:guard", "event");
                return true;
            }
            catch (RedisServerException ex) when (ex.Message.StartsWith("READONLY", StringComparison.Ordinal))
            {
                return false;
            }
        }, written => written, Deadline, "a write to succeed after the swap");
        Assert.Equal(pair.Second.Port, PrimaryPort(pair.Client));
        Assert.True(await pair.SecondAdmin.GetDatabase().ListLengthAsync("mutt:test:guard") > 0, "the write is on the promoted server");
        Assert.True(guard.Reconfigurations >= 1, "the guard made the library re-read the roles");
    }

    [Fact]
    public async Task An_idle_client_learns_the_new_primary_from_the_role_check()
    {
        await using var pair = await SwappedPair.StartAsync(infrastructure.Root);
        using var guard = new RedisPrimaryGuard(pair.Client, NullLogger.Instance);
        await pair.SwapRolesAsync();

        // No write: only the periodic ROLE check can notice (what /health's redis_master reads).
        await Eventually.WaitForAsync(() => Task.FromResult(PrimaryPort(pair.Client)), port => port == pair.Second.Port, Deadline,
            "the client to route writes to the promoted server");
        Assert.True(guard.Reconfigurations >= 1);
    }

    [Fact]
    public void Only_a_setup_that_can_fail_over_is_guarded()
    {
        Assert.False(RedisPrimaryGuard.IsNeeded(ConfigurationOptions.Parse("127.0.0.1:6379")));
        Assert.True(RedisPrimaryGuard.IsNeeded(ConfigurationOptions.Parse("127.0.0.1:26379,serviceName=mymaster")));
        Assert.True(RedisPrimaryGuard.IsNeeded(ConfigurationOptions.Parse("127.0.0.1:6379,127.0.0.1:6380")));
    }

    private static int? PrimaryPort(IConnectionMultiplexer client) =>
        (client.GetDatabase().IdentifyEndpoint(flags: CommandFlags.DemandMaster) as IPEndPoint)?.Port;

    /// <summary>A primary and its replica, admin connections to each, and a client that knows both.</summary>
    private sealed class SwappedPair : IAsyncDisposable
    {
        private SwappedPair(RedisServer first, RedisServer second, ConnectionMultiplexer firstAdmin, ConnectionMultiplexer secondAdmin, ConnectionMultiplexer client)
        {
            (First, Second, FirstAdmin, SecondAdmin, Client) = (first, second, firstAdmin, secondAdmin, client);
        }

        public RedisServer First { get; }
        public RedisServer Second { get; }
        public ConnectionMultiplexer FirstAdmin { get; }
        public ConnectionMultiplexer SecondAdmin { get; }
        public ConnectionMultiplexer Client { get; }

        public static async Task<SwappedPair> StartAsync(string root)
        {
            var dir = Path.Combine(root, "guard-" + Guid.NewGuid().ToString("N")[..8]);
            var first = await RedisServer.StartAsync(Path.Combine(dir, "first"), appendOnly: false);
            var second = await RedisServer.StartAsync(Path.Combine(dir, "second"), appendOnly: false,
                extraArgs: ["--replicaof", "127.0.0.1", first.Port.ToString(CultureInfo.InvariantCulture)]);
            var firstAdmin = await ConnectionMultiplexer.ConnectAsync(first.ConnectionString);
            var secondAdmin = await ConnectionMultiplexer.ConnectAsync(second.ConnectionString);
            await Eventually.WaitForAsync(async () => ((string?)await secondAdmin.GetDatabase().ExecuteAsync("INFO", "replication"))!
                .Contains("master_link_status:up", StringComparison.Ordinal), Deadline, "the second server to replicate the first");
            var client = await ConnectionMultiplexer.ConnectAsync($"{first.ConnectionString},{second.ConnectionString},abortConnect=false");
            Assert.Equal(first.Port, PrimaryPort(client));
            return new SwappedPair(first, second, firstAdmin, secondAdmin, client);
        }

        /// <summary>The failover: the second is promoted and the first follows it. Neither closes the client's connections.</summary>
        public async Task SwapRolesAsync()
        {
            await SecondAdmin.GetDatabase().ExecuteAsync("REPLICAOF", "NO", "ONE");
            await FirstAdmin.GetDatabase().ExecuteAsync("REPLICAOF", "127.0.0.1", Second.Port.ToString(CultureInfo.InvariantCulture));
        }

        public async ValueTask DisposeAsync()
        {
            await Client.DisposeAsync();
            await FirstAdmin.DisposeAsync();
            await SecondAdmin.DisposeAsync();
            await First.DisposeAsync();
            await Second.DisposeAsync();
        }
    }
}
