using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using Mutt.Core.Redis;
using Mutt.Tests.Infrastructure;
using StackExchange.Redis;

namespace Mutt.Tests.Integration;

/// <summary>
/// The lease life cycle of <see cref="ReliableConsumer"/> against a real redis-server: what is in
/// the queue, the processing lists and the output list is the observable outcome.
/// </summary>
[Collection(InfrastructureCollection.Name)]
[Trait("Category", "Integration")]
public sealed class ReliableConsumerTests(InfrastructureFixture infra)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    private sealed class Keys
    {
        private readonly string _root = "test:consumer:" + Guid.NewGuid().ToString("N")[..8];
        public string Queue => _root + ":queue";
        public string Out => _root + ":out";
        public string ProcessingPrefix => _root + ":processing";
        public string HeartbeatPrefix => _root + ":heartbeat";
        public string Block => _root + ":block";
        public ReliableQueue QueueFor(IConnectionMultiplexer redis, string pod) => new(redis, Queue, ProcessingPrefix, HeartbeatPrefix, pod);
    }

    /// <summary>Commits every batch by pushing its items to the output list; each step can be overridden.</summary>
    private sealed class Handler(string outKey) : IReliableBatchHandler<RedisValue[]>
    {
        public int BatchSize { get; init; } = 100;
        /// <summary>Completions allowed to run at once (TakeDecision.MaxCompletions).</summary>
        public int MaxCompletions { get; init; } = 1;
        public ConcurrentQueue<RedisValue[]> Taken { get; } = new();
        public Func<LeasedBatch, CancellationToken, Task>? BeforeCommit { get; set; }
        public Action<ITransaction>? AlsoInTransaction { get; set; }
        /// <summary>Batches handed back with <see cref="LeasedBatch.ReturnToQueue"/>: not committed.</summary>
        public ConcurrentDictionary<LeasedBatch, bool> Returned { get; } = new();
        public int Commits;

        public ValueTask<TakeDecision> BeforeTakeAsync(CancellationToken stoppingToken) => ValueTask.FromResult(TakeDecision.Take(BatchSize, MaxCompletions));

        public RedisValue[] Plan(LeasedBatch batch)
        {
            Taken.Enqueue(batch.Items);
            return batch.Items;
        }

        public async Task CompleteAsync(LeasedBatch batch, RedisValue[] plan, CancellationToken stoppingToken)
        {
            if (BeforeCommit is { } before)
            {
                await before(batch, stoppingToken);
            }
            if (Returned.ContainsKey(batch))
            {
                return;
            }
            await batch.CommitAsync(tx =>
            {
                _ = tx.ListLeftPushAsync(outKey, plan);
                AlsoInTransaction?.Invoke(tx);
            });
            Interlocked.Increment(ref Commits);
        }
    }

    private sealed class Running(ReliableConsumer consumer, Task run, CancellationTokenSource stop) : IAsyncDisposable
    {
        public ReliableConsumer Consumer => consumer;

        public async Task StopAsync()
        {
            await stop.CancelAsync();
            await run.WaitAsync(Deadline);
        }

        public async ValueTask DisposeAsync()
        {
            await StopAsync();
            stop.Dispose();
        }
    }

    private Running Start(Keys keys, string pod, Handler handler, int inFlight = 1, TimeSpan? heartbeatTtl = null)
    {
        var consumer = new ReliableConsumer(keys.QueueFor(infra.Multiplexer, pod), new ReliableConsumerOptions
        {
            HeartbeatInterval = TimeSpan.FromMilliseconds(200),
            HeartbeatTtl = heartbeatTtl ?? TimeSpan.FromSeconds(2),
            IdleMax = TimeSpan.FromMilliseconds(20),
            MaxBatchesInFlight = inFlight,
            RedisRetryDelay = TimeSpan.FromMilliseconds(50),
        }, NullLogger.Instance);
        var stop = new CancellationTokenSource();
        return new Running(consumer, Task.Run(() => consumer.RunAsync(handler, stop.Token)), stop);
    }

    private IDatabase Db => infra.Multiplexer.GetDatabase();

    private async Task PushAsync(Keys keys, int count)
    {
        // LPUSH at the producer end: item-0 is the oldest, taken first from the consumer (right) end.
        await Db.ListLeftPushAsync(keys.Queue, Enumerable.Range(0, count).Select(i => (RedisValue)$"item-{i}").ToArray());
    }

    private async Task<string[]> OutAsync(Keys keys) => (await Db.ListRangeAsync(keys.Out)).Select(v => (string)v!).ToArray();

    [Fact]
    public async Task A_completion_whose_exec_does_not_commit_acks_nothing_and_the_batch_is_taken_again()
    {
        var keys = new Keys();
        await Db.StringSetAsync(keys.Block, "1");
        await PushAsync(keys, 5);
        // A WATCH-style condition that fails while the block key exists: EXEC answers nil, nothing runs.
        var handler = new Handler(keys.Out) { AlsoInTransaction = tx => tx.AddCondition(Condition.KeyNotExists(keys.Block)) };
        await using var running = Start(keys, "pod-a", handler);

        await Eventually.WaitForAsync(() => Task.FromResult(running.Consumer.NotCommitted), n => n >= 3, Deadline, "three uncommitted completions");
        Assert.Equal(0, Volatile.Read(ref handler.Commits));
        Assert.Empty(await OutAsync(keys));
        Assert.True(handler.Taken.Count >= 3, "each uncommitted batch went back to the queue and was taken again");
        Assert.All(handler.Taken, items => Assert.Equal(5, items.Length));

        await Db.KeyDeleteAsync(keys.Block);
        await Eventually.WaitForAsync(async () => (await OutAsync(keys)).Length, n => n == 5, Deadline, "the batch committed once unblocked");
        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"item-{i}").Order(), (await OutAsync(keys)).Order());
        Assert.Equal(0, await Db.ListLengthAsync(keys.Queue));
        Assert.Equal(0, await Db.ListLengthAsync(running.Consumer.Queue.ProcessingKey));
    }

    [Fact]
    public async Task An_aborted_exec_acks_nothing_and_outputs_nothing()
    {
        var keys = new Keys();
        await PushAsync(keys, 4);
        var abort = 1;
        // A command Redis refuses while queuing (wrong arity): EXECABORT discards the whole transaction, ack included.
        var handler = new Handler(keys.Out)
        {
            AlsoInTransaction = tx =>
            {
                if (Volatile.Read(ref abort) == 1)
                {
                    _ = tx.ExecuteAsync("LPUSH", keys.Out);
                }
            },
        };
        await using var running = Start(keys, "pod-abort", handler);

        await Eventually.WaitForAsync(() => Task.FromResult(running.Consumer.NotCommitted), n => n >= 2, Deadline, "two aborted completions");
        Assert.Equal(0, Volatile.Read(ref handler.Commits));
        Assert.Empty(await OutAsync(keys));
        Assert.Equal(4, await RedisLists.TotalLengthAsync(Db, keys.Queue, running.Consumer.Queue.ProcessingKey));

        Volatile.Write(ref abort, 0);
        await Eventually.WaitForAsync(async () => (await OutAsync(keys)).Length, n => n == 4, Deadline, "the batch committed once EXEC is valid");
        Assert.Equal(0, await Db.ListLengthAsync(running.Consumer.Queue.ProcessingKey));
    }

    [Fact]
    public async Task A_dead_consumers_processing_list_is_reclaimed_by_the_janitor_and_a_live_ones_is_not()
    {
        var keys = new Keys();
        var dead = keys.QueueFor(infra.Multiplexer, "pod-dead");
        var alive = keys.QueueFor(infra.Multiplexer, "pod-alive");
        await Db.ListRightPushAsync(dead.ProcessingKey, ["dead-1", "dead-2", "dead-3"]); // no heartbeat: its pod died
        await Db.ListRightPushAsync(alive.ProcessingKey, ["alive-1"]);
        await alive.HeartbeatAsync(TimeSpan.FromMinutes(1));
        var handler = new Handler(keys.Out);
        await using var running = Start(keys, "pod-janitor", handler);

        await Eventually.WaitForAsync(async () => (await OutAsync(keys)).Length, n => n == 3, Deadline, "the dead pod's items delivered");
        Assert.Equal(["dead-1", "dead-2", "dead-3"], (await OutAsync(keys)).Order());
        Assert.Equal(0, await Db.ListLengthAsync(dead.ProcessingKey));
        Assert.Equal(["alive-1"], (await Db.ListRangeAsync(alive.ProcessingKey)).Select(v => (string)v!));
    }

    [Fact]
    public async Task The_janitor_finds_a_dead_pods_list_through_the_registry_the_take_keeps_without_scanning_the_keyspace()
    {
        // A server of its own: its command statistics count this test's commands only.
        await using var server = await Mutt.Testing.RedisServer.StartAsync(Path.Combine(infra.Root, "registry-" + Guid.NewGuid().ToString("N")[..8]), appendOnly: false);
        await using var redis = await ConnectionMultiplexer.ConnectAsync(server.ConnectionString + ",allowAdmin=true");
        var db = redis.GetDatabase();
        var keys = new Keys();
        var janitor = keys.QueueFor(redis, "pod-janitor");
        var alive = keys.QueueFor(redis, "pod-alive");
        var dead = keys.QueueFor(redis, "pod-dead");
        await janitor.ReclaimOrphansAsync(); // its first pass SCANs (lists of older versions); nothing there yet

        await db.ListLeftPushAsync(keys.Queue, ["e1", "e2", "e3", "e4"]);
        await alive.HeartbeatAsync(TimeSpan.FromMinutes(1));
        Assert.Single(await alive.TakeBatchAsync(1));
        Assert.Equal(3, (await dead.TakeBatchAsync(3)).Length); // and dies: no heartbeat
        Assert.Equal(["pod-alive", "pod-dead"], (await db.SetMembersAsync(janitor.RegistryKey)).Select(v => (string)v!).Order());

        await redis.GetServer(redis.GetEndPoints()[0]).ConfigResetStatisticsAsync();
        var reclaimed = await janitor.ReclaimOrphansAsync();

        Assert.Equal(new Dictionary<string, long> { ["pod-dead"] = 3 }, reclaimed);
        Assert.Equal(3, await db.ListLengthAsync(keys.Queue));
        Assert.Equal(["pod-alive"], (await db.SetMembersAsync(janitor.RegistryKey)).Select(v => (string)v!));
        Assert.Equal(1, await db.ListLengthAsync(alive.ProcessingKey));
        var commands = (string?)await db.ExecuteAsync("INFO", "commandstats");
        Assert.DoesNotContain("cmdstat_scan", commands, StringComparison.Ordinal);
        Assert.DoesNotContain("cmdstat_keys", commands, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_batch_completing_longer_than_the_heartbeat_ttl_is_not_reclaimed_by_another_pods_janitor()
    {
        var keys = new Keys();
        await PushAsync(keys, 3);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var slow = new Handler(keys.Out) { BeforeCommit = (_, ct) => release.Task.WaitAsync(ct) };
        // A 4 s TTL renewed every 200 ms: a full test suite on 2 cores has starved a heartbeat loop for
        // over 2 s, and a lapsed heartbeat rightly gets the batch reclaimed (then delivered twice).
        var ttl = TimeSpan.FromSeconds(4);
        await using var owner = Start(keys, "pod-slow", slow, heartbeatTtl: ttl);
        var processing = owner.Consumer.Queue.ProcessingKey;
        await Eventually.WaitForAsync(async () => await Db.ListLengthAsync(processing), n => n == 3, Deadline, "the slow batch leased");

        var other = new Handler(keys.Out + ":other");
        await using var janitor = Start(keys, "pod-other", other, heartbeatTtl: ttl);
        // Three heartbeat TTLs with the other pod's janitor passing every 200 ms.
        var until = DateTime.UtcNow + 3 * ttl;
        await Eventually.WaitForAsync(async () => (Len: await Db.ListLengthAsync(processing), Late: DateTime.UtcNow > until),
            r => r.Len != 3 || r.Late, 3 * ttl + TimeSpan.FromSeconds(10), "the lease to outlive its TTL");
        Assert.Equal(3, await Db.ListLengthAsync(processing));
        Assert.Equal(0, await Db.ListLengthAsync(keys.Out + ":other"));

        release.SetResult();
        await Eventually.WaitForAsync(async () => (await OutAsync(keys)).Length, n => n == 3, Deadline, "the slow batch committed by its owner");
        Assert.Equal(0, await Db.ListLengthAsync(processing));
    }

    [Fact]
    public async Task Shutdown_returns_in_flight_items_to_the_queue_in_order_and_removes_the_heartbeat()
    {
        var keys = new Keys();
        await PushAsync(keys, 3);
        var handler = new Handler(keys.Out) { BeforeCommit = (_, ct) => Task.Delay(Timeout.Infinite, ct) };
        var running = Start(keys, "pod-stop", handler);
        var queue = running.Consumer.Queue;

        await Eventually.WaitForAsync(async () => await Db.ListLengthAsync(queue.ProcessingKey), n => n == 3, Deadline, "the batch in flight");
        Assert.True(await Db.KeyExistsAsync(queue.HeartbeatKey));
        await running.DisposeAsync();

        Assert.Equal(0, await Db.ListLengthAsync(queue.ProcessingKey));
        Assert.False(await Db.KeyExistsAsync(queue.HeartbeatKey));
        // Back at the consumer end, oldest last-in: taken next, in the original order.
        Assert.Equal(["item-2", "item-1", "item-0"], (await Db.ListRangeAsync(keys.Queue)).Select(v => (string)v!));
        Assert.Empty(await OutAsync(keys));
    }

    [Fact]
    public async Task A_previous_runs_processing_list_is_returned_before_the_first_take()
    {
        var keys = new Keys();
        var queue = keys.QueueFor(infra.Multiplexer, "pod-restart");
        await Db.ListRightPushAsync(queue.ProcessingKey, ["old-1", "old-2"]);
        await PushAsync(keys, 2);
        var handler = new Handler(keys.Out) { BatchSize = 2 };
        await using var running = Start(keys, "pod-restart", handler);

        await Eventually.WaitForAsync(async () => (await OutAsync(keys)).Length, n => n == 4, Deadline, "all four items");
        Assert.True(handler.Taken.TryPeek(out var first));
        Assert.Equal(["old-1", "old-2"], first!.Select(v => (string)v!));
        Assert.Equal(0, await Db.ListLengthAsync(queue.ProcessingKey));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task After_a_redis_error_nothing_new_is_taken_until_the_processing_list_is_back_in_the_queue(int inFlight)
    {
        var keys = new Keys();
        await PushAsync(keys, 6);
        var failed = 0;
        var handler = new Handler(keys.Out)
        {
            BatchSize = 2,
            // The first completion loses its Redis reply (as a dropped connection would).
            BeforeCommit = (_, _) => Interlocked.Exchange(ref failed, 1) == 0
                ? Task.FromException(new RedisConnectionException(ConnectionFailureType.SocketFailure, "simulated lost reply"))
                : Task.CompletedTask,
        };
        await using var running = Start(keys, "pod-error", handler, inFlight);

        await Eventually.WaitForAsync(async () => (await OutAsync(keys)).Length, n => n >= 6, Deadline, "all six items delivered");
        var taken = handler.Taken.ToArray();
        Assert.Equal(["item-0", "item-1"], taken[0].Select(v => (string)v!));
        // The failed batch went back to the consumer end first, so the next completed batch starts with it again.
        var afterError = taken.Skip(1).SkipWhile(b => (string)b[0]! != "item-0").ToArray();
        Assert.NotEmpty(afterError);
        Assert.Equal(Enumerable.Range(0, 6).Select(i => $"item-{i}"), (await OutAsync(keys)).Distinct().Order());
        Assert.Equal(0, await Db.ListLengthAsync(running.Consumer.Queue.ProcessingKey));
        Assert.Equal(0, await Db.ListLengthAsync(keys.Queue));
    }

    [Fact]
    public async Task With_two_batches_in_flight_each_commit_acks_exactly_the_oldest_batch()
    {
        var keys = new Keys();
        await PushAsync(keys, 4);
        var processing = keys.QueueFor(infra.Multiplexer, "pod-pipe").ProcessingKey;
        var checkedFirstAck = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = 0;
        var handler = new Handler(keys.Out) { BatchSize = 2 };
        handler.BeforeCommit = async (batch, ct) =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                // Batch 1 commits only once batch 2 sits behind it in the same processing list.
                await Eventually.WaitForAsync(async () => await Db.ListLengthAsync(processing), n => n == 4, Deadline, "batch 2 taken");
            }
            else
            {
                await checkedFirstAck.Task.WaitAsync(ct);
            }
        };
        await using var running = Start(keys, "pod-pipe", handler, inFlight: 2);

        await Eventually.WaitForAsync(async () => (await OutAsync(keys)).Length, n => n == 2, Deadline, "batch 1 committed");
        // Batch 1's ack took exactly its own two items off the head; batch 2 is still leased.
        Assert.Equal(["item-2", "item-3"], (await Db.ListRangeAsync(processing)).Select(v => (string)v!));
        Assert.Equal(["item-0", "item-1"], (await OutAsync(keys)).Order());
        checkedFirstAck.SetResult();

        await Eventually.WaitForAsync(async () => (await OutAsync(keys)).Length, n => n == 4, Deadline, "batch 2 committed");
        Assert.Equal(0, await Db.ListLengthAsync(processing));
        Assert.Equal(2, handler.Taken.Count);
    }

    [Fact]
    public async Task Several_completions_run_at_once_and_commit_in_the_order_taken()
    {
        var keys = new Keys();
        await PushAsync(keys, 6);
        var entered = 0;
        var allIn = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var handler = new Handler(keys.Out) { BatchSize = 2, MaxCompletions = 3 };
        handler.BeforeCommit = async (batch, ct) =>
        {
            if (Interlocked.Increment(ref entered) == 3)
            {
                allIn.SetResult();
            }
            // Every batch waits until all three are in flight at once (one at a time would never get here).
            await allIn.Task.WaitAsync(ct);
            if ((string)batch.Items[0]! == "item-0")
            {
                // The oldest commits last-ready: the two behind it reach their commit first and wait for it.
                await Eventually.WaitForAsync(() => Db.ListLengthAsync(keys.Queue), n => n == 0, Deadline, "all items leased");
            }
        };
        await using var running = Start(keys, "pod-many", handler, inFlight: 2);

        await Eventually.WaitForAsync(async () => (await OutAsync(keys)).Length, n => n == 6, Deadline, "all three batches committed");
        Assert.Equal(3, Volatile.Read(ref entered));
        // LPUSH per commit: read from the right, the commits are in the order the batches were taken.
        Assert.Equal(Enumerable.Range(0, 6).Select(i => $"item-{i}"), (await OutAsync(keys)).Reverse());
        Assert.Equal(0, await Db.ListLengthAsync(running.Consumer.Queue.ProcessingKey));
        Assert.Equal(0, await Db.ListLengthAsync(keys.Queue));
        Assert.Equal(0, running.Consumer.NotCommitted);
    }

    [Theory]
    [InlineData("redis error")]
    [InlineData("returned")]
    [InlineData("exec not committed")]
    public async Task A_batch_failing_while_others_are_in_flight_loses_nothing_and_duplicates_nothing(string failure)
    {
        var keys = new Keys();
        await PushAsync(keys, 6);
        var entered = 0;
        var failed = 0;
        var allIn = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var middleFailed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var handler = new Handler(keys.Out)
        {
            BatchSize = 2,
            MaxCompletions = 3,
            AlsoInTransaction = tx => tx.AddCondition(Condition.KeyNotExists(keys.Block)),
        };
        Running? running = null;
        handler.BeforeCommit = async (batch, ct) =>
        {
            if (Interlocked.Increment(ref entered) == 3)
            {
                allIn.TrySetResult();
            }
            // The three batches are in flight at once before any of them goes on.
            await allIn.Task.WaitAsync(ct);
            var first = (string)batch.Items[0]!;
            if (first == "item-2" && Interlocked.Exchange(ref failed, 1) == 0)
            {
                // The middle batch fails; the batch behind it is in flight (waiting for its turn to commit).
                switch (failure)
                {
                    case "redis error":
                        middleFailed.SetResult();
                        throw new RedisConnectionException(ConnectionFailureType.SocketFailure, "simulated lost reply");
                    case "returned":
                        batch.ReturnToQueue(TimeSpan.Zero);
                        handler.Returned[batch] = true;
                        middleFailed.SetResult();
                        return;
                    default:
                        // Its EXEC is refused (after the batch ahead committed); the block lifts once it was.
                        await Eventually.WaitForAsync(async () => (await OutAsync(keys)).Length, n => n == 2, Deadline, "the batch ahead committed");
                        await Db.StringSetAsync(keys.Block, "1");
                        _ = Task.Run(async () =>
                        {
                            await Eventually.WaitForAsync(() => Task.FromResult(running!.Consumer.NotCommitted), n => n >= 1, Deadline, "the EXEC refused");
                            await Db.KeyDeleteAsync(keys.Block);
                        }, CancellationToken.None);
                        return;
                }
            }
            if (first == "item-0" && failure != "exec not committed")
            {
                // The oldest commits after the batch behind it failed: its commit stands.
                await middleFailed.Task.WaitAsync(ct);
            }
        };
        running = Start(keys, "pod-fail-" + failure.Replace(' ', '-'), handler, inFlight: 2);
        await using var stop = running;

        await Eventually.WaitForAsync(async () => (await OutAsync(keys)).Length, n => n >= 6, Deadline, "all six items committed");
        // Each item committed exactly once: the batch behind the failed one never committed; it went
        // back to the queue with the failed one and was taken again.
        Assert.Equal(Enumerable.Range(0, 6).Select(i => $"item-{i}"), (await OutAsync(keys)).Order());
        Assert.Equal(0, await Db.ListLengthAsync(running.Consumer.Queue.ProcessingKey));
        Assert.Equal(0, await Db.ListLengthAsync(keys.Queue));
        Assert.True(handler.Taken.Count >= 5, "the failed batch and the one behind it were taken again");
        Assert.Equal(failure == "exec not committed", running.Consumer.NotCommitted >= 1);
    }
}
