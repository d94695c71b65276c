using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Mutt.Core.Redis;

/// <summary>
/// The one lease life cycle of a reliable queue, for every consumer of one (Alerter, Forwarder).
/// Invariant: an item is always in exactly one list, and it leaves this pod's processing list
/// only in the transaction that commits its outputs. Everything here serves that invariant:
/// <list type="bullet">
/// <item>the take is the atomic Lua batch move (queue → processing list);</item>
/// <item>the heartbeat has its own loop, so a long batch or an outage downstream never lets it
/// lapse (another pod's janitor would hand this pod's batch to someone else); the same loop is the
/// janitor, at start and periodically;</item>
/// <item>the ack is an LTRIM of exactly the batch's count off the head of the processing list,
/// inside the handler's completion MULTI/EXEC, whose result is always checked;</item>
/// <item>batches are appended at the tail and committed strictly in order, which is what makes the
/// head the committing batch: up to <see cref="TakeDecision.MaxCompletions"/> completions may run at
/// once (e.g. several Moogsoft requests in flight), but each one's commit waits for its
/// predecessor's, and a batch whose predecessor did not commit never commits (its completion is
/// cancelled; the whole list goes back to the queue);</item>
/// <item>after a Redis error, an uncommitted EXEC, or a batch that ended without commit, nothing new
/// is taken until the whole processing list is back in the queue: this pod keeps its heartbeat
/// alive, so no janitor would ever return it, and a later LTRIM would ack the wrong items;</item>
/// <item>at start (a restart under the same pod name) and at shutdown the list goes back to the queue.</item>
/// </list>
/// </summary>
public sealed class ReliableConsumer(ReliableQueue queue, ReliableConsumerOptions options, ILogger logger)
{
    /// <summary>Completions running, oldest first (their batches sit in the processing list in this order).</summary>
    private readonly Queue<Task<TimeSpan?>> _pending = new();
    private LeasedBatch? _last;
    private long _notCommitted;
    /// <summary>Set once this pod's heartbeat is in Redis: nothing is taken before (a janitor would take it back).</summary>
    private readonly TaskCompletionSource _firstBeat = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ReliableQueue Queue => queue;

    /// <summary>Completion transactions whose EXEC did not commit (nothing was acked).</summary>
    public long NotCommitted => Interlocked.Read(ref _notCommitted);

    /// <summary>Consumes until <paramref name="stoppingToken"/> is cancelled, then returns this pod's in-flight items and removes its heartbeat.</summary>
    public async Task RunAsync<TPlan>(IReliableBatchHandler<TPlan> handler, CancellationToken stoppingToken)
    {
        using var heartbeatStop = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var heartbeat = Task.Run(() => HeartbeatLoopAsync(handler, heartbeatStop.Token), CancellationToken.None);
        try
        {
            await handler.WhenReadyAsync(stoppingToken).ConfigureAwait(false);
            // A batch taken before the first heartbeat could be handed back by another pod's janitor
            // while this pod works on it, and its ack would then trim the batch taken after it.
            await _firstBeat.Task.WaitAsync(stoppingToken).ConfigureAwait(false);
            await ConsumeLoopAsync(handler, stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            // The batches in flight have finished (or given up, leaving their items in the list)
            // before this, so no ack races the return.
            await ReturnOwnAsync("at shutdown").ConfigureAwait(false);
            await heartbeatStop.CancelAsync().ConfigureAwait(false);
            await heartbeat.ConfigureAwait(false);
            try
            {
                await queue.RemoveHeartbeatAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (RedisFaults.IsTransient(ex))
            {
                logger.LogWarning(ex, "Could not delete the heartbeat; it expires by itself");
            }
        }
    }

    private async Task ConsumeLoopAsync<TPlan>(IReliableBatchHandler<TPlan> handler, CancellationToken stoppingToken)
    {
        var idle = new IdleBackoff(options.IdleMax);
        // True at start: a previous run under this pod name may have left a batch in the list,
        // and the first LTRIM would otherwise ack those items instead of its own.
        var mustReturnInFlight = true;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    if (mustReturnInFlight)
                    {
                        if (!await ReturnOwnAsync("before taking more").ConfigureAwait(false))
                        {
                            await DelayQuietlyAsync(options.RedisRetryDelay, stoppingToken).ConfigureAwait(false);
                            continue;
                        }
                        mustReturnInFlight = false;
                    }
                    var decision = await handler.BeforeTakeAsync(stoppingToken).ConfigureAwait(false);
                    if (decision.MaxItems <= 0)
                    {
                        mustReturnInFlight = await DrainAsync(stoppingToken).ConfigureAwait(false) == Drained.MustReturn;
                        await DelayQuietlyAsync(decision.Pause, stoppingToken).ConfigureAwait(false);
                        continue;
                    }
                    var items = await queue.TakeBatchAsync(decision.MaxItems).ConfigureAwait(false);
                    if (items.Length == 0)
                    {
                        mustReturnInFlight = await DrainAsync(stoppingToken).ConfigureAwait(false) == Drained.MustReturn;
                        await IdleAsync(idle.Next(), stoppingToken).ConfigureAwait(false);
                        continue;
                    }
                    idle.Reset();
                    var batch = new LeasedBatch(queue, items, _last);
                    // Planned while the previous batches' completions still run (the pipeline).
                    var plan = handler.Plan(batch);
                    var drained = await DrainAsync(stoppingToken, keep: Math.Max(1, decision.MaxCompletions) - 1).ConfigureAwait(false);
                    if (drained != Drained.Committed)
                    {
                        // A previous batch did not commit: the processing list, this batch with it,
                        // went back to the queue (or must, before any take). This plan is void.
                        mustReturnInFlight = drained == Drained.MustReturn;
                        continue;
                    }
                    _pending.Enqueue(CompleteAsync(handler, batch, plan, stoppingToken));
                    _last = batch;
                    if (options.MaxBatchesInFlight <= 1)
                    {
                        mustReturnInFlight = await DrainAsync(stoppingToken).ConfigureAwait(false) == Drained.MustReturn;
                    }
                    if (items.Length < decision.MaxItems && options.PartialBatchLinger > TimeSpan.Zero)
                    {
                        await DelayQuietlyAsync(options.PartialBatchLinger, stoppingToken).ConfigureAwait(false);
                    }
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception ex) when (RedisFaults.IsTransient(ex) || ex is CompletionNotCommittedException)
                {
                    // The reply may be lost while the command ran: whatever sits in the processing list
                    // goes back to the queue before the next take. The batch in flight must have
                    // finished first, or its late ack could trim items taken after the return.
                    logger.LogError(ex, "Redis error in the consume loop; returning in-flight items and retrying");
                    await DrainQuietlyAsync().ConfigureAwait(false);
                    await DelayQuietlyAsync(options.RedisRetryDelay, stoppingToken).ConfigureAwait(false);
                    mustReturnInFlight = true;
                }
            }
        }
        finally
        {
            await DrainQuietlyAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Runs the handler's completion. Returns null when the batch committed; otherwise the pause to
    /// take after the processing list went back to the queue (the consume loop does the return,
    /// never this task: a take may be running beside it, and its items must go back too).
    /// The handler's token is also cancelled when the batch ahead of this one ends without commit:
    /// none behind it may commit, so their work stops at once (their items go back to the queue).
    /// </summary>
    private async Task<TimeSpan?> CompleteAsync<TPlan>(IReliableBatchHandler<TPlan> handler, LeasedBatch batch, TPlan plan, CancellationToken stoppingToken)
    {
        using var abandon = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        batch.CancelWhenPredecessorFails(abandon);
        try
        {
            await handler.CompleteAsync(batch, plan, abandon.Token).ConfigureAwait(false);
        }
        catch (CompletionNotCommittedException ex)
        {
            Interlocked.Increment(ref _notCommitted);
            options.OnNotCommitted?.Invoke();
            logger.LogError(ex, "The completion transaction of a batch of {Count} item(s) did not commit; nothing was acked, and {ProcessingList} goes back to {Queue}",
                batch.Items.Length, queue.ProcessingKey, queue.SourceQueue);
            throw;
        }
        catch (Exception ex) when (ex is PredecessorNotCommittedException || (ex is OperationCanceledException && abandon.IsCancellationRequested && !stoppingToken.IsCancellationRequested))
        {
            // A batch ahead of this one did not commit; the loop returns the whole list.
            logger.LogDebug("A batch of {Count} item(s) stopped: a batch ahead of it did not commit", batch.Items.Length);
            return TimeSpan.Zero;
        }
        finally
        {
            batch.Finish();
        }
        if (batch.Committed)
        {
            return null;
        }
        if (batch.ReturnRequested is { } pause)
        {
            return pause;
        }
        if (!stoppingToken.IsCancellationRequested && !abandon.IsCancellationRequested)
        {
            logger.LogWarning("A batch of {Count} item(s) ended without being committed; returning the processing list before taking more", batch.Items.Length);
        }
        // Stopping: the items stay in the list and the shutdown returns them.
        return TimeSpan.Zero;
    }

    /// <summary>Waits for the oldest completions in flight until at most <paramref name="keep"/> run (see <see cref="DrainOldestAsync"/>).</summary>
    private async Task<Drained> DrainAsync(CancellationToken stoppingToken, int keep = 0)
    {
        var drained = Drained.Committed;
        while (_pending.Count > keep && drained == Drained.Committed)
        {
            drained = await DrainOldestAsync(stoppingToken).ConfigureAwait(false);
        }
        return drained;
    }

    /// <summary>
    /// Waits for the oldest completion in flight (rethrowing its failure). When it did not commit,
    /// waits for all the others (they cannot commit after it), returns the processing list to the
    /// queue (a batch taken beside them goes too) and pauses as asked.
    /// </summary>
    private async Task<Drained> DrainOldestAsync(CancellationToken stoppingToken)
    {
        if (!_pending.TryDequeue(out var oldest))
        {
            return Drained.Committed;
        }
        TimeSpan? pause;
        try
        {
            pause = await oldest.ConfigureAwait(false);
        }
        catch
        {
            await AbandonRestAsync().ConfigureAwait(false);
            throw;
        }
        if (pause is null)
        {
            if (_pending.Count == 0)
            {
                _last = null;
            }
            return Drained.Committed;
        }
        await AbandonRestAsync().ConfigureAwait(false);
        if (!await ReturnOwnAsync("after a batch that did not commit").ConfigureAwait(false))
        {
            return Drained.MustReturn;
        }
        await DelayQuietlyAsync(pause.Value, stoppingToken).ConfigureAwait(false);
        return Drained.Returned;
    }

    /// <summary>After a batch that did not commit: the completions behind it end (cancelled, never committing).</summary>
    private async Task AbandonRestAsync()
    {
        while (_pending.TryDequeue(out var behind))
        {
            try
            {
                await behind.ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                logger.LogDebug(ex, "A batch behind one that did not commit failed too; its items stay in the processing list");
            }
        }
        _last = null;
    }

    private enum Drained
    {
        /// <summary>Nothing in flight, or it committed.</summary>
        Committed,
        /// <summary>It did not commit and the whole processing list went back to the queue.</summary>
        Returned,
        /// <summary>It did not commit and returning the list failed: return it before any take.</summary>
        MustReturn,
    }

    private async Task DrainQuietlyAsync()
    {
        try
        {
            await DrainAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            logger.LogDebug(ex, "The batch in flight failed while stopping or recovering; its items stay in the processing list");
        }
    }

    /// <summary>Returns this pod's processing list to the queue; false when Redis did not answer (the caller retries).</summary>
    private async Task<bool> ReturnOwnAsync(string when)
    {
        try
        {
            var returned = await queue.ReturnInFlightAsync().ConfigureAwait(false);
            if (returned > 0)
            {
                logger.LogWarning("Returned {Count} in-flight item(s) of {ProcessingList} to {Queue} {When}", returned, queue.ProcessingKey, queue.SourceQueue, when);
            }
            return true;
        }
        catch (Exception ex) when (RedisFaults.IsTransient(ex))
        {
            logger.LogError(ex, "Could not return in-flight items {When} yet; retrying (at shutdown: the janitor returns them once this pod's heartbeat expires)", when);
            return false;
        }
    }

    private async Task HeartbeatLoopAsync<TPlan>(IReliableBatchHandler<TPlan> handler, CancellationToken cancellationToken)
    {
        var interval = options.HeartbeatInterval;
        var tick = interval < TimeSpan.FromSeconds(1) ? interval : TimeSpan.FromSeconds(1);
        var nextBeat = DateTime.MinValue;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (DateTime.UtcNow >= nextBeat)
                {
                    // Until the first heartbeat is written (nothing is taken before), a failed one is retried at the next tick.
                    nextBeat = _firstBeat.Task.IsCompleted ? DateTime.UtcNow + interval : DateTime.MinValue;
                    await queue.HeartbeatAsync(options.HeartbeatTtl).ConfigureAwait(false);
                    nextBeat = DateTime.UtcNow + interval;
                    _firstBeat.TrySetResult();
                    foreach (var (pod, count) in await queue.ReclaimOrphansAsync().ConfigureAwait(false))
                    {
                        logger.LogWarning("Janitor returned {Count} orphaned item(s) of dead pod {Pod} to {Queue}", count, pod, queue.SourceQueue);
                    }
                }
                await handler.SampleAsync().ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                // Any failure, not only Redis's: this loop ending would let the heartbeat lapse.
                if (!cancellationToken.IsCancellationRequested)
                {
                    logger.LogError(ex, "Heartbeat/janitor pass failed; retrying");
                }
            }
            await DelayQuietlyAsync(tick, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task IdleAsync(TimeSpan wait, CancellationToken stoppingToken)
    {
        try
        {
            await Task.Delay(wait, stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private static async Task DelayQuietlyAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        if (delay <= TimeSpan.Zero)
        {
            return;
        }
        try
        {
            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }
}

public sealed class ReliableConsumerOptions
{
    /// <summary>Time between heartbeats and janitor passes.</summary>
    public required TimeSpan HeartbeatInterval { get; init; }
    /// <summary>Heartbeat TTL: a pod silent this long is dead and its processing list is reclaimed.</summary>
    public required TimeSpan HeartbeatTtl { get; init; }
    /// <summary>Longest wait between polls of an empty queue (<see cref="IdleBackoff"/>).</summary>
    public TimeSpan IdleMax { get; init; } = TimeSpan.FromMilliseconds(200);
    /// <summary>
    /// 1: each batch completes before the next is taken. 2 or more: the next batch is taken and
    /// planned while the previous completions run (how many completions may run at once is
    /// <see cref="TakeDecision.MaxCompletions"/>; commits stay strictly in order).
    /// </summary>
    public int MaxBatchesInFlight { get; init; } = 1;
    /// <summary>
    /// After a batch that was not full, how long to wait before the next take, so that under a
    /// moderate flow batches fill up instead of each costing a round of I/O (a Moogsoft request, a
    /// transaction) for a handful of items. Zero: take again at once. A full batch never waits.
    /// </summary>
    public TimeSpan PartialBatchLinger { get; init; } = TimeSpan.Zero;
    public TimeSpan RedisRetryDelay { get; init; } = TimeSpan.FromMilliseconds(500);
    /// <summary>Called for each completion transaction that did not commit (the worker's counter).</summary>
    public Action? OnNotCommitted { get; init; }
}

/// <summary>What a worker plugs into <see cref="ReliableConsumer"/>: when to take, how to plan, how to complete.</summary>
public interface IReliableBatchHandler<TPlan>
{
    /// <summary>Waited for once before anything is taken (e.g. the rule cache's first load).</summary>
    Task WhenReadyAsync(CancellationToken stoppingToken) => Task.CompletedTask;

    /// <summary>Asked before every take: how many items to take now, or how long to pause (backpressure, an open circuit).</summary>
    ValueTask<TakeDecision> BeforeTakeAsync(CancellationToken stoppingToken);

    /// <summary>CPU only, no I/O: runs while the previous batch may still be completing.</summary>
    TPlan Plan(LeasedBatch batch);

    /// <summary>
    /// The I/O of the batch (audit write, delivery) and then exactly one of:
    /// <see cref="LeasedBatch.CommitAsync"/> (outputs + ack), <see cref="LeasedBatch.ReturnToQueue"/>,
    /// or nothing (only when stopping: the items stay in the list and the shutdown returns them).
    /// </summary>
    Task CompleteAsync(LeasedBatch batch, TPlan plan, CancellationToken stoppingToken);

    /// <summary>Called on each heartbeat tick (≤ 1 s): sample gauges. Failures are logged, never fatal.</summary>
    Task SampleAsync() => Task.CompletedTask;
}

/// <summary>
/// Take up to <see cref="MaxItems"/> with at most <see cref="MaxCompletions"/> completions running
/// at once (this batch's included; 1: one completion at a time), or (when <see cref="MaxItems"/> is 0)
/// wait <see cref="Pause"/> after the batches in flight finished.
/// </summary>
public readonly record struct TakeDecision(int MaxItems, TimeSpan Pause, int MaxCompletions = 1)
{
    public static TakeDecision Take(int maxItems, int maxCompletions = 1) => new(Math.Max(1, maxItems), TimeSpan.Zero, Math.Max(1, maxCompletions));
    public static TakeDecision PauseFor(TimeSpan pause) => new(0, pause);
}

/// <summary>A batch leased into this pod's processing list, appended at its tail.</summary>
public sealed class LeasedBatch
{
    private readonly ReliableQueue _queue;
    /// <summary>The completion of the batch ahead of this one (true: it committed); only its task, so batches never chain in memory.</summary>
    private readonly Task<bool>? _previous;
    private readonly TaskCompletionSource<bool> _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal LeasedBatch(ReliableQueue queue, RedisValue[] items, LeasedBatch? previous = null)
    {
        _queue = queue;
        Items = items;
        _previous = previous?._finished.Task;
    }

    public RedisValue[] Items { get; }
    public bool Committed { get; private set; }
    internal TimeSpan? ReturnRequested { get; private set; }

    /// <summary>
    /// ONE MULTI/EXEC: whatever <paramref name="write"/> queues (outputs), then the ack, an LTRIM of
    /// this batch's count off the head of the processing list (it is the oldest there: batches are
    /// appended at the tail and completed in order). Outputs and ack land together or not at all,
    /// so a crash can cause a replay, never a loss. When EXEC does not commit (a failed condition,
    /// an aborted transaction) nothing is acked and <see cref="CompletionNotCommittedException"/>
    /// is thrown: the consumer returns the processing list before taking more.
    /// </summary>
    public async Task CommitAsync(Action<ITransaction> write)
    {
        if (Committed)
        {
            throw new InvalidOperationException("The batch was already committed.");
        }
        // Committed in the order taken: the LTRIM below acks the head, which must be this batch.
        if (_previous is not null && !await _previous.ConfigureAwait(false))
        {
            throw new PredecessorNotCommittedException();
        }
        var transaction = _queue.BeginCompletion();
        write(transaction);
        var ack = transaction.ListTrimAsync(_queue.ProcessingKey, Items.Length, -1);
        bool committed;
        try
        {
            committed = await transaction.ExecuteAsync().ConfigureAwait(false);
        }
        catch (RedisServerException ex)
        {
            // EXECABORT: a command was refused while queuing and Redis discarded the whole transaction.
            throw new CompletionNotCommittedException("The completion transaction was aborted: " + ex.Message, ex);
        }
        if (!committed)
        {
            throw new CompletionNotCommittedException("The completion transaction was not committed.");
        }
        await ack.ConfigureAwait(false);
        Committed = true;
    }

    /// <summary>Not processed, not failed (e.g. the circuit refused it): the consumer returns the processing list to the queue, then pauses.</summary>
    public void ReturnToQueue(TimeSpan pauseAfter) => ReturnRequested = pauseAfter;

    /// <summary>The completion ended: the batch behind this one may commit (when this one did) or must not.</summary>
    internal void Finish() => _finished.TrySetResult(Committed);

    /// <summary>Cancels <paramref name="abandon"/> when the batch ahead of this one ends without commit.</summary>
    internal void CancelWhenPredecessorFails(CancellationTokenSource abandon)
    {
        _previous?.ContinueWith(static (finished, state) =>
        {
            if (!finished.Result)
            {
                try
                {
                    ((CancellationTokenSource)state!).Cancel();
                }
                catch (ObjectDisposedException)
                {
                    // This batch's completion already ended.
                }
            }
        }, abandon, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }
}

/// <summary>The batch ahead of this one in the processing list ended without commit: this one must not commit either.</summary>
public sealed class PredecessorNotCommittedException() : Exception("A batch ahead of this one in the processing list did not commit.");

/// <summary>A Redis MULTI/EXEC that did not commit; the batch is still in the processing list.</summary>
public sealed class CompletionNotCommittedException(string message, Exception? inner = null) : Exception(message, inner);
