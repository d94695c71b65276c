using System.Diagnostics;
using Microsoft.Extensions.Options;
using Mutt.Alerter.Processing;
using Mutt.Alerter.Rules;
using Mutt.Alerter.Audit;
using Mutt.Core.Configuration;
using Mutt.Core.DeadLetters;
using Mutt.Core.Events;
using Mutt.Core.Redis;
using Mutt.Core.Rules;
using Mutt.Core.Telemetry;
using StackExchange.Redis;

namespace Mutt.Alerter.Services;

/// <summary>
/// The rules engine on <see cref="ReliableConsumer"/> (which owns the lease: take, heartbeat,
/// janitor, returns, the ack): plan a batch (match it), write its audit rows, then in ONE Redis
/// transaction push its alerts, requeue its retries, dead-letter its poison and count its unhandled
/// events (firing meta-alerts) together with its ack. A crash before that transaction replays the
/// batch (idempotent audit); after it there is nothing left to do. Two batches in flight: batch N+1
/// is taken and matched while batch N's audit write and completion run.
/// </summary>
public sealed class AlerterWorker(
    IConnectionMultiplexer redis,
    ReliableQueue queue,
    AuditWriter auditWriter,
    RuleCache rules,
    AlertQueueBackpressure backpressure,
    AlerterMetrics metrics,
    AlerterState state,
    NoiseDecisions noise,
    DynamicConfig config,
    QueueNames queues,
    IOptions<AlerterOptions> options,
    IOptions<EventLimits> eventLimits,
    ILogger<AlerterWorker> logger) : BackgroundService, IReliableBatchHandler<AlerterWorker.Batch>
{
    private readonly AlerterOptions _options = options.Value;
    private readonly BatchPlanner _planner = new(options.Value.PodName, queues.IngestQueue, options.Value.MaxRetries, eventLimits.Value);
    private readonly UnhandledCounter _unhandled = new(options.Value.UnhandledPrefix, options.Value.UnhandledThreshold,
        TimeSpan.FromSeconds(options.Value.UnhandledExpirySeconds), queues.AlertQueue);
    private readonly AuditBatchWriter _audit = new(auditWriter, metrics, state, options.Value.DbRetryMaxMs, logger);
    private BackpressureDecision? _shedNext;
    private int _dedupWindowSeconds;

    /// <summary>A taken batch: matched (<see cref="Plan"/>) or, when the alert queue is over its shed threshold, to be shed (<see cref="Shed"/>).</summary>
    /// <param name="Noise">The batch's dedup/flapping decisions, asked of Redis when it was planned (null: none needed).</param>
    public sealed record Batch(BatchPlan? Plan, BackpressureDecision? Shed, BatchTrace? Trace, long Started, Task<Action>? Noise = null);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var consumer = new ReliableConsumer(queue, new ReliableConsumerOptions
        {
            HeartbeatInterval = TimeSpan.FromSeconds(_options.HeartbeatInterval),
            HeartbeatTtl = TimeSpan.FromSeconds(_options.JanitorTimeout),
            IdleMax = TimeSpan.FromMilliseconds(_options.IdleMaxMs),
            MaxBatchesInFlight = 2,
            OnNotCommitted = () => metrics.CompletionsNotCommitted.Add(1),
        }, logger);
        logger.LogInformation("Alerter {Pod} consuming {Queue} into {ProcessingList}", _options.PodName, queue.SourceQueue, queue.ProcessingKey);
        state.Consuming = true;
        try
        {
            await consumer.RunAsync(this, stoppingToken);
        }
        finally
        {
            state.Consuming = false;
            logger.LogInformation("Alerter {Pod} stopped", _options.PodName);
        }
    }

    public Task WhenReadyAsync(CancellationToken stoppingToken) => rules.WhenLoadedAsync(stoppingToken);

    /// <summary>Spec 004 backpressure on the alert queue: consume, shed the next batch to the DLQ, or defer.</summary>
    public async ValueTask<TakeDecision> BeforeTakeAsync(CancellationToken stoppingToken)
    {
        var decision = await backpressure.CheckAsync();
        if (decision.Defers)
        {
            metrics.ShedEvents.Add(1, new KeyValuePair<string, object?>("mode", "defer"));
            var sleep = await backpressure.DeferSleepMsAsync();
            backpressure.Resample();
            return TakeDecision.PauseFor(TimeSpan.FromMilliseconds(sleep));
        }
        _shedNext = decision.Sheds ? decision : null;
        // Cached locally (DynamicConfig), dropped at once by a change on mutt:config:updates.
        _dedupWindowSeconds = (int)Math.Clamp(await config.GetInt64Async(DynamicConfigKeys.DedupWindowSeconds, 0), 0, DynamicConfigKeys.MaxDedupWindowSeconds);
        // Up to ALERTER_WRITES_IN_FLIGHT audit writes at once; the consumer commits the batches in the order taken.
        return TakeDecision.Take(_options.BatchSize, _options.WritesInFlight);
    }

    /// <summary>CPU only: parse and match (or mark for shedding).</summary>
    public Batch Plan(LeasedBatch leased)
    {
        var started = Stopwatch.GetTimestamp();
        if (_shedNext is { } shed)
        {
            _shedNext = null;
            return new Batch(null, shed, null, started);
        }
        var trace = BatchTrace.Start(queue.SourceQueue, leased.Items.Length);
        var raw = new byte[leased.Items.Length][];
        for (var i = 0; i < raw.Length; i++)
        {
            raw[i] = (byte[])leased.Items[i]! ?? [];
        }
        var current = rules.Current;
        var plan = _planner.Plan(raw, current, trace, new NoiseContext(rules.Noise, _dedupWindowSeconds, DateTimeOffset.UtcNow));
        return new Batch(plan, null, trace, started, noise.Ask(plan, current));
    }

    public Task CompleteAsync(LeasedBatch leased, Batch batch, CancellationToken stoppingToken) => batch.Shed is { } shed
        ? ShedAsync(leased, shed)
        : BatchTrace.RunAsync(batch.Trace, batch.Plan,
            () => CompleteMatchedAsync(leased, batch.Plan!, batch.Noise, batch.Started, batch.Trace, stoppingToken), () => leased.Committed);

    private async Task CompleteMatchedAsync(LeasedBatch leased, BatchPlan plan, Task<Action>? noise, long started, BatchTrace? trace, CancellationToken stoppingToken)
    {
        if (noise is not null)
        {
            (await noise)();
        }
        var auditStarted = trace is null ? default : DateTimeOffset.UtcNow;
        if (!await _audit.WriteAsync(plan, _planner, queue.ProcessingKey, stoppingToken))
        {
            return; // stopping during a PostgreSQL outage: the batch stays in the processing list and is returned at shutdown
        }
        trace?.Audited(plan, auditStarted, DateTimeOffset.UtcNow);

        var unhandled = plan.Unhandled == 0 ? null : BatchPlanner.UnhandledByHost(plan);
        var metaAlert = unhandled is null ? null : BatchPlanner.MetaAlertTemplate(_options.UnhandledThreshold,
            TimeSpan.FromSeconds(_options.UnhandledExpirySeconds), _options.UnhandledDefaultTeam, DateTime.UtcNow, MuttTracing.TraceParentOf(trace?.Batch));
        Task<RedisResult>? fired = null;
        await leased.CommitAsync(transaction =>
        {
            PlanOutputs.Stage(transaction, plan, queues.AlertQueue, queue.SourceQueue, queues.AlerterDlq);
            if (unhandled is not null)
            {
                fired = _unhandled.AddAsync(transaction, unhandled, metaAlert!);
            }
        });
        if (fired is not null)
        {
            var flags = (RedisValue[])(await fired)!;
            for (var i = 0; i < flags.Length; i++)
            {
                if ((long)flags[i] == 1)
                {
                    metrics.MetaAlerts.Add(1);
                    AlerterLog.MetaAlert(logger, _options.UnhandledThreshold, unhandled![i].Hostname, _options.UnhandledDefaultTeam);
                }
            }
        }
        metrics.RecordBatch(plan, Stopwatch.GetElapsedTime(started).TotalSeconds);
        AlerterLog.BatchOutcome(logger, plan, queues.AlerterDlq);
    }

    /// <summary>Shedding is reliable too: the batch goes from the processing list to the DLQ in its completion transaction.</summary>
    private async Task ShedAsync(LeasedBatch leased, BackpressureDecision shed)
    {
        var error = $"alert queue depth {shed.Depth} >= alerter_queue_shed_threshold {shed.Threshold}";
        await leased.CommitAsync(transaction => _ = transaction.ListLeftPushAsync(queues.AlerterDlq,
            leased.Items.Select(i => (RedisValue)_planner.DeadLetterJson(i!, DeadLetterPolicy.ShedReason, error)).ToArray()));
        metrics.ShedEvents.Add(leased.Items.Length, new KeyValuePair<string, object?>("mode", "dlq"));
        AlerterLog.Shed(logger, leased.Items.Length, queues.AlerterDlq, shed.Depth);
        backpressure.Resample();
    }

    public async Task SampleAsync()
    {
        var db = redis.GetDatabase();
        metrics.IngestQueueDepth = await queue.DepthAsync();
        metrics.ProcessingListDepth = await queue.InFlightAsync();
        metrics.DlqDepth = await db.ListLengthAsync(queues.AlerterDlq);
        metrics.AlertQueueDepth = await db.ListLengthAsync(queues.AlertQueue);
    }
}
