using System.Diagnostics;
using Microsoft.Extensions.Options;
using Mutt.Alerter.Processing;
using Mutt.Alerter.Rules;
using Mutt.Core.Audit;
using Mutt.Core.Configuration;
using Mutt.Core.Events;
using Mutt.Core.Redis;
using Mutt.Core.Telemetry;
using StackExchange.Redis;

namespace Mutt.Alerter.Services;

/// <summary>What /health reports about the worker.</summary>
public sealed class AlerterState
{
    public volatile bool DatabaseAvailable = true;
    public volatile bool Consuming;
    public string? LastDatabaseError { get; set; }
}

/// <summary>
/// The rules engine loop: take a batch into this pod's processing list, match it, write its audit
/// rows, then in ONE Redis transaction push its alerts, requeue its retries, dead-letter its
/// poison, count its unhandled events (firing meta-alerts) and ack it. Until that transaction
/// runs the batch stays in the processing list, so a crash anywhere before it replays the batch
/// (idempotent audit) and a crash after it has nothing left to do.
/// The loop is a two-stage pipeline: while batch N's audit write and completion run, batch N+1
/// is taken (appended to the same processing list) and matched. At most two batches are in the
/// list; each ack trims exactly its own batch off the head, so whatever is still in the list at
/// a crash is replayed (ReturnInFlight at restart, or the janitor once the heartbeat expires).
/// </summary>
public sealed class AlerterWorker(
    IConnectionMultiplexer redis,
    ReliableQueue queue,
    AuditWriter auditWriter,
    RuleCache rules,
    DynamicConfig config,
    AlerterMetrics metrics,
    AlerterState state,
    IOptions<AlerterOptions> options,
    ILogger<AlerterWorker> logger) : BackgroundService
{
    private static readonly KeyValuePair<string, object?> Handled = new("status", "handled");
    private static readonly KeyValuePair<string, object?> Unhandled = new("status", "unhandled");
    private static readonly KeyValuePair<string, object?> Poison = new("status", "poison");
    private static readonly KeyValuePair<string, object?> Error = new("status", "error");

    private readonly AlerterOptions _options = options.Value;
    private readonly SemaphoreSlim _nudge = new(0, 1);
    private BatchPlanner _planner = null!;
    private UnhandledCounter _unhandled = null!;
    private DateTime _lastAlertDepthSample = DateTime.MinValue;
    private DateTime _lastBackpressureLog = DateTime.MinValue;
    private DateTime _lastDbErrorLog = DateTime.MinValue;

    private IDatabase Db => redis.GetDatabase();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _planner = new BatchPlanner(_options.PodName, _options.IngestQueueName, _options.MaxRetries);
        _unhandled = new UnhandledCounter(_options.UnhandledPrefix, _options.UnhandledThreshold,
            TimeSpan.FromSeconds(_options.UnhandledExpirySeconds), _options.AlertQueueName);
        redis.GetSubscriber().Subscribe(RedisChannel.Literal(MuttKeys.QueueNudgeChannel), (_, _) => Nudge(), CommandFlags.FireAndForget);

        logger.LogInformation("Alerter {Pod} consuming {Queue} into {ProcessingList}", _options.PodName, queue.SourceQueue, queue.ProcessingKey);
        // Own loop: a long batch or a PostgreSQL outage must never let the heartbeat expire,
        // or the janitor of another pod would hand this pod's batch to someone else.
        using var heartbeatStop = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var heartbeat = Task.Run(() => HeartbeatLoopAsync(heartbeatStop.Token), CancellationToken.None);
        try
        {
            await rules.WhenLoadedAsync(stoppingToken);
            await RecoverOwnInFlightAsync();
            state.Consuming = true;
            await ConsumeLoopAsync(stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            state.Consuming = false;
            await ShutdownAsync();
            await heartbeatStop.CancelAsync();
            await heartbeat;
        }
    }

    private async Task ConsumeLoopAsync(CancellationToken stoppingToken)
    {
        var idle = new IdleBackoff(TimeSpan.FromMilliseconds(_options.IdleMaxMs));
        var mustReturnInFlight = false;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    // After a Redis error nothing new is taken until the processing list is back in the
                    // queue: this pod keeps its heartbeat alive, so no janitor would ever return it.
                    if (mustReturnInFlight)
                    {
                        if (!await RecoverOwnInFlightAsync())
                        {
                            await DelayQuietlyAsync(TimeSpan.FromMilliseconds(500), stoppingToken);
                            continue;
                        }
                        mustReturnInFlight = false;
                    }
                    if (await ApplyBackpressureAsync(stoppingToken))
                    {
                        continue;
                    }
                    var items = await queue.TakeBatchAsync(_options.BatchSize);
                    if (items.Length == 0)
                    {
                        await DrainPendingAsync();
                        await IdleAsync(idle.Next(), stoppingToken);
                        continue;
                    }
                    idle.Reset();
                    // Pipelined: batch N+1 is taken and matched while batch N's audit write runs in
                    // PostgreSQL. Completions stay strictly in order (N is acked before N+1's starts),
                    // which is what lets the ack trim the oldest batch off the head of the processing list.
                    var started = Stopwatch.GetTimestamp();
                    var trace = BatchTrace.Start(queue.SourceQueue, items.Length);
                    var plan = PlanBatch(items, trace);
                    await DrainPendingAsync();
                    _pending = CompleteBatchAsync(plan, items.Length, started, trace, stoppingToken);
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception ex) when (ex is RedisException or TimeoutException or CompletionNotCommittedException)
                {
                    // The reply may be lost while the script ran: whatever sits in the processing list
                    // goes back to the queue before the next take, so the next ack cannot delete it.
                    // The batch in flight must have finished first, or its late ack could trim items
                    // taken after the return.
                    logger.LogError(ex, "Redis error in the consume loop; returning in-flight items and retrying");
                    await DrainPendingQuietlyAsync();
                    await DelayQuietlyAsync(TimeSpan.FromMilliseconds(500), stoppingToken);
                    mustReturnInFlight = true;
                }
            }
        }
        finally
        {
            // Shutdown returns the processing list to the queue: the batch in flight finishes (or
            // gives up, leaving its items there) before that, so no ack races the return.
            await DrainPendingQuietlyAsync();
        }
    }

    private Task? _pending;

    /// <summary>Waits for the previous batch's audit write and completion transaction; rethrows its failure.</summary>
    private async Task DrainPendingAsync()
    {
        var pending = _pending;
        if (pending is null)
        {
            return;
        }
        _pending = null;
        await pending;
    }

    private async Task DrainPendingQuietlyAsync()
    {
        try
        {
            await DrainPendingAsync();
        }
        catch (Exception ex)
        {
            logger.LogDebug(ex, "The batch in flight failed while stopping or recovering; its items stay in the processing list");
        }
    }

    /// <summary>Takes nothing from Redis: parse and match (CPU only).</summary>
    private BatchPlan PlanBatch(RedisValue[] items, BatchTrace? trace)
    {
        var raw = new byte[items.Length][];
        for (var i = 0; i < items.Length; i++)
        {
            raw[i] = (byte[])items[i]! ?? [];
        }
        return _planner.Plan(raw, rules.Current, trace);
    }

    /// <summary>Processes one batch start to end (no pipelining); the batch must be the only one in the processing list.</summary>
    public async Task ProcessBatchAsync(RedisValue[] items, CancellationToken stoppingToken)
    {
        var started = Stopwatch.GetTimestamp();
        var trace = BatchTrace.Start(queue.SourceQueue, items.Length);
        await CompleteBatchAsync(PlanBatch(items, trace), items.Length, started, trace, stoppingToken);
    }

    /// <summary>Completes a batch under its batch span (the audit COPY and the Redis transaction become its children), ending its spans whatever happens.</summary>
    private async Task CompleteBatchAsync(BatchPlan plan, int taken, long started, BatchTrace? trace, CancellationToken stoppingToken)
    {
        if (trace is null)
        {
            await CompleteBatchCoreAsync(plan, taken, started, null, stoppingToken);
            return;
        }
        // Local to this async method: the consume loop's own Activity.Current is untouched.
        Activity.Current = trace.Batch;
        var committed = false;
        Exception? error = null;
        try
        {
            committed = await CompleteBatchCoreAsync(plan, taken, started, trace, stoppingToken);
        }
        catch (Exception ex)
        {
            error = ex;
            throw;
        }
        finally
        {
            trace.End(plan, committed, error);
        }
    }

    /// <summary>
    /// Audit write, then ONE transaction with the batch's outputs and its ack. The ack trims the
    /// batch's <paramref name="taken"/> items off the head of the processing list (LTRIM): they are
    /// the oldest there, because batches are appended at the tail and completed in order. A batch
    /// taken meanwhile stays in the list until its own completion.
    /// </summary>
    /// <returns>False when stopping during a PostgreSQL outage: nothing was committed.</returns>
    private async Task<bool> CompleteBatchCoreAsync(BatchPlan plan, int taken, long started, BatchTrace? trace, CancellationToken stoppingToken)
    {
        var auditStarted = trace is null ? default : DateTimeOffset.UtcNow;
        if (!await WriteAuditAsync(plan, stoppingToken))
        {
            return false; // stopping during a PostgreSQL outage: the batch stays in the processing list and is returned at shutdown
        }
        trace?.Audited(plan, auditStarted, DateTimeOffset.UtcNow);

        var transaction = queue.BeginCompletion();
        var alerts = plan.Alerts.Select(a => (RedisValue)a).ToArray();
        if (alerts.Length > 0)
        {
            _ = transaction.ListLeftPushAsync(_options.AlertQueueName, alerts);
        }
        if (plan.Retries.Count > 0)
        {
            // The consumer end of the queue: a retried event is taken again next, not after the backlog.
            _ = transaction.ListRightPushAsync(queue.SourceQueue, plan.Retries.Select(r => (RedisValue)r).ToArray());
        }
        if (plan.DeadLetters.Count > 0)
        {
            _ = transaction.ListLeftPushAsync(_options.DlqName, plan.DeadLetters.Select(d => (RedisValue)d).ToArray());
        }
        Task<RedisResult>? fired = null;
        List<(string Hostname, int Count, string MetaAlertJson)>? unhandled = null;
        if (plan.Unhandled > 0)
        {
            var now = DateTime.UtcNow;
            var window = TimeSpan.FromSeconds(_options.UnhandledExpirySeconds);
            unhandled = plan.Items.Where(i => i.UnhandledHost is not null)
                .GroupBy(i => i.UnhandledHost!, StringComparer.Ordinal)
                .Select(g => (g.Key, g.Count(), BatchPlanner.MetaAlertJson(g.Key, _options.UnhandledThreshold, window, _options.UnhandledDefaultTeam, now,
                    MuttTracing.TraceParentOf(trace?.Batch))))
                .ToList();
            fired = _unhandled.AddAsync(transaction, unhandled);
        }
        _ = transaction.ListTrimAsync(queue.ProcessingKey, taken, -1);
        if (!await transaction.ExecuteAsync())
        {
            throw new CompletionNotCommittedException("The completion transaction was not committed.");
        }
        if (fired is not null && unhandled is not null)
        {
            var flags = (RedisValue[])(await fired)!;
            for (var i = 0; i < flags.Length; i++)
            {
                if ((long)flags[i] == 1)
                {
                    metrics.MetaAlerts.Add(1);
                    logger.LogWarning("Unhandled-event threshold {Threshold} reached for host {Hostname}: meta-alert sent to team {Team}",
                        _options.UnhandledThreshold, unhandled[i].Hostname, _options.UnhandledDefaultTeam);
                }
            }
        }

        if (plan.Handled > 0) { metrics.EventsProcessed.Add(plan.Handled, Handled); }
        if (plan.Unhandled > 0) { metrics.EventsProcessed.Add(plan.Unhandled, Unhandled); }
        if (plan.Poison > 0)
        {
            metrics.EventsProcessed.Add(plan.Poison, Poison);
            logger.LogWarning("{Count} unparseable item(s) sent to {Dlq}", plan.Poison, _options.DlqName);
        }
        if (plan.Errors > 0)
        {
            metrics.EventsProcessed.Add(plan.Errors, Error);
            logger.LogWarning("{Count} item(s) failed processing: {Retries} requeued, the rest dead-lettered", plan.Errors, plan.Retries.Count);
        }
        if (plan.RegexTimeouts > 0)
        {
            metrics.RegexTimeouts.Add(plan.RegexTimeouts);
        }
        metrics.ProcessingLatency.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
        return true;
    }

    /// <summary>
    /// Writes the batch's audit rows. An unreachable PostgreSQL is not the events' fault: the
    /// batch waits in the processing list and the write is retried with backoff until it works
    /// (or the worker stops). A row PostgreSQL refuses is retried alone so only its event fails.
    /// </summary>
    private async Task<bool> WriteAuditAsync(BatchPlan plan, CancellationToken stoppingToken)
    {
        var delay = TimeSpan.FromMilliseconds(100);
        while (true)
        {
            try
            {
                var rows = plan.AuditRows.ToList();
                var started = Stopwatch.GetTimestamp();
                try
                {
                    await auditWriter.WriteAsync(rows);
                }
                catch (Exception ex) when (!AuditWriter.IsTransient(ex))
                {
                    logger.LogWarning(ex, "PostgreSQL refused the audit batch; writing its {Count} rows one by one", rows.Count);
                    await WriteRowsOneByOneAsync(plan);
                }
                metrics.DbWriteLatency.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                if (!state.DatabaseAvailable)
                {
                    logger.LogInformation("PostgreSQL is reachable again; resuming consumption");
                }
                state.DatabaseAvailable = true;
                return true;
            }
            catch (Exception ex) when (AuditWriter.IsTransient(ex))
            {
                state.DatabaseAvailable = false;
                state.LastDatabaseError = ex.GetType().Name;
                if (DateTime.UtcNow - _lastDbErrorLog > TimeSpan.FromSeconds(10))
                {
                    _lastDbErrorLog = DateTime.UtcNow;
                    logger.LogError(ex, "PostgreSQL unavailable; consumption paused with {Count} items kept in {ProcessingList}", plan.Items.Count, queue.ProcessingKey);
                }
                if (!await DelayQuietlyAsync(delay, stoppingToken))
                {
                    return false;
                }
                delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, _options.DbRetryMaxMs));
            }
        }
    }

    private async Task WriteRowsOneByOneAsync(BatchPlan plan)
    {
        foreach (var item in plan.Items)
        {
            if (item.Audit is null)
            {
                continue;
            }
            try
            {
                await auditWriter.WriteAsync([item.Audit]);
            }
            catch (Exception ex) when (!AuditWriter.IsTransient(ex))
            {
                logger.LogWarning("Audit row refused for correlation id {CorrelationId}: {Error}", item.Audit.CorrelationId, ex.Message);
                if (item.UnhandledHost is not null) { plan.Unhandled--; } else { plan.Handled--; }
                item.Audit = null;
                item.AlertJson = null;
                item.UnhandledHost = null;
                _planner.Fail(plan, item.Raw, item.Event, "audit write refused: " + ex.Message);
            }
        }
    }

    /// <summary>Spec 004 backpressure on the alert queue. Returns true when this turn was spent shedding or deferring.</summary>
    private async Task<bool> ApplyBackpressureAsync(CancellationToken stoppingToken)
    {
        if (DateTime.UtcNow - _lastAlertDepthSample < TimeSpan.FromMilliseconds(100))
        {
            return false;
        }
        _lastAlertDepthSample = DateTime.UtcNow;
        var depth = await Db.ListLengthAsync(_options.AlertQueueName);
        metrics.AlertQueueDepth = depth;
        var warn = await config.GetInt64Async(DynamicConfigKeys.AlerterQueueWarnThreshold, 1000);
        var shed = await config.GetInt64Async(DynamicConfigKeys.AlerterQueueShedThreshold, 2000);
        if (depth < warn)
        {
            return false;
        }
        var logNow = DateTime.UtcNow - _lastBackpressureLog > TimeSpan.FromSeconds(10);
        if (depth < shed)
        {
            if (logNow)
            {
                _lastBackpressureLog = DateTime.UtcNow;
                logger.LogWarning("Alert queue depth {Depth} is at or above the warning threshold {Warn}", depth, warn);
            }
            return false;
        }
        var mode = await config.GetStringAsync(DynamicConfigKeys.AlerterShedMode) ?? "dlq";
        if (logNow)
        {
            _lastBackpressureLog = DateTime.UtcNow;
            logger.LogWarning("Alert queue depth {Depth} is at or above the shed threshold {Shed}: shedding in mode {Mode}", depth, shed, mode);
        }
        // Shedding takes its own batch into the processing list and acks it by DEL: the batch in
        // flight must be acked first (and deferring should not leave it waiting either).
        await DrainPendingAsync();
        if (mode == "defer")
        {
            metrics.ShedEvents.Add(1, new KeyValuePair<string, object?>("mode", "defer"));
            var sleep = await config.GetInt64Async(DynamicConfigKeys.AlerterDeferSleepMs, 250);
            await Task.Delay(TimeSpan.FromMilliseconds(sleep), stoppingToken);
            _lastAlertDepthSample = DateTime.MinValue;
            return true;
        }
        // dlq: move a batch from the ingest queue to the DLQ, reliably (through the processing list).
        var items = await queue.TakeBatchAsync(_options.BatchSize);
        if (items.Length == 0)
        {
            return false;
        }
        var transaction = queue.BeginCompletion();
        _ = transaction.ListLeftPushAsync(_options.DlqName,
            items.Select(i => (RedisValue)_planner.DeadLetterJson(i!, Mutt.Core.DeadLetters.DeadLetterPolicy.ShedReason, $"alert queue depth {depth} >= alerter_queue_shed_threshold {shed}")).ToArray());
        _ = queue.AckIn(transaction);
        if (!await transaction.ExecuteAsync())
        {
            throw new CompletionNotCommittedException("The shed transaction was not committed.");
        }
        metrics.ShedEvents.Add(items.Length, new KeyValuePair<string, object?>("mode", "dlq"));
        logger.LogWarning("Shed {Count} events to {Dlq} (alert queue depth {Depth})", items.Length, _options.DlqName, depth);
        _lastAlertDepthSample = DateTime.MinValue;
        return true;
    }

    private async Task HeartbeatLoopAsync(CancellationToken cancellationToken)
    {
        var ttl = TimeSpan.FromSeconds(_options.JanitorTimeout);
        var interval = TimeSpan.FromSeconds(_options.HeartbeatInterval);
        var tick = interval < TimeSpan.FromSeconds(1) ? interval : TimeSpan.FromSeconds(1);
        var nextBeat = DateTime.MinValue;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (DateTime.UtcNow >= nextBeat)
                {
                    nextBeat = DateTime.UtcNow + interval;
                    await queue.HeartbeatAsync(ttl);
                    var reclaimed = await queue.ReclaimOrphansAsync();
                    foreach (var (pod, count) in reclaimed)
                    {
                        logger.LogWarning("Janitor returned {Count} orphaned item(s) of dead pod {Pod} to {Queue}", count, pod, queue.SourceQueue);
                    }
                }
                metrics.IngestQueueDepth = await queue.DepthAsync();
                metrics.ProcessingListDepth = await queue.InFlightAsync();
                metrics.DlqDepth = await Db.ListLengthAsync(_options.DlqName);
                metrics.AlertQueueDepth = await Db.ListLengthAsync(_options.AlertQueueName);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                logger.LogError(ex, "Heartbeat/janitor pass failed; retrying");
            }
            await DelayQuietlyAsync(tick, cancellationToken);
        }
    }

    /// <summary>Returns this pod's processing list to the queue; false when Redis did not answer (the caller retries).</summary>
    private async Task<bool> RecoverOwnInFlightAsync()
    {
        try
        {
            var returned = await queue.ReturnInFlightAsync();
            if (returned > 0)
            {
                logger.LogWarning("Returned {Count} in-flight item(s) of {ProcessingList} to {Queue}", returned, queue.ProcessingKey, queue.SourceQueue);
            }
            return true;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            logger.LogError(ex, "Could not return in-flight items yet; retrying (at shutdown: the janitor returns them once this pod's heartbeat expires)");
            return false;
        }
    }

    private async Task ShutdownAsync()
    {
        await RecoverOwnInFlightAsync();
        try
        {
            await queue.RemoveHeartbeatAsync();
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            logger.LogWarning(ex, "Could not delete the heartbeat; it expires by itself");
        }
        logger.LogInformation("Alerter {Pod} stopped", _options.PodName);
    }

    private void Nudge()
    {
        try
        {
            _nudge.Release();
        }
        catch (SemaphoreFullException)
        {
        }
    }

    private async Task IdleAsync(TimeSpan wait, CancellationToken stoppingToken)
    {
        try
        {
            await _nudge.WaitAsync(wait, stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private static async Task<bool> DelayQuietlyAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, cancellationToken);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}

/// <summary>A Redis MULTI/EXEC that did not commit; the batch is still in the processing list.</summary>
public sealed class CompletionNotCommittedException(string message) : Exception(message);
