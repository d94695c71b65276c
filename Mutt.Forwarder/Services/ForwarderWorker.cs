using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Mutt.Core.Configuration;
using Mutt.Core.Events;
using Mutt.Forwarder.Moogsoft;
using Mutt.Core.Redis;
using Mutt.Core.Telemetry;
using StackExchange.Redis;

namespace Mutt.Forwarder.Services;

/// <summary>
/// Delivers alerts from <c>mutt:alert_queue</c> to Moogsoft in batches, on <see cref="ReliableConsumer"/>
/// (which owns the lease: take, heartbeat, janitor, returns, the ack). A batch stays in this pod's
/// processing list until Moogsoft accepted it (ack), it was dead-lettered (in the same transaction
/// as the ack), or it was handed back to the queue (circuit refused it, shutdown). While the circuit
/// is OPEN nothing is taken: the alerts wait in the queue. Up to MOOG_MAX_IN_FLIGHT batches are
/// delivered at once (the core commits them in the order taken; a batch behind one that did not
/// commit never commits, and the whole processing list goes back to the queue).
/// </summary>
public sealed class ForwarderWorker(
    IConnectionMultiplexer redis,
    MoogClient client,
    DynamicConfig config,
    ForwarderMetrics metrics,
    QueueNames queues,
    IOptions<ForwarderOptions> options,
    ILogger<ForwarderWorker> logger) : BackgroundService, IReliableBatchHandler<AlertBatch>
{
    private static readonly TimeSpan CircuitPoll = TimeSpan.FromMilliseconds(250);
    private readonly ForwarderOptions _o = options.Value;
    private readonly string _agentLocation = Environment.MachineName;
    private readonly ReliableQueue _queue = new(redis, queues.AlertQueue, queues.MoogProcessingPrefix, queues.MoogHeartbeatPrefix, options.Value.PodName);
    private readonly MoogGate _gate = new(
        new CircuitBreaker(redis, options.Value.CircuitFailureThreshold, TimeSpan.FromSeconds(options.Value.CircuitOpenSeconds),
            probeLease: TimeSpan.FromSeconds(options.Value.WebhookTimeoutSeconds + 10)),
        new RateLimiter(redis, options.Value.RateLimitKey, options.Value.PodName), config, options.Value, metrics, logger);
    private readonly BackoffSchedule _backoff = new(TimeSpan.FromSeconds(options.Value.RetryBaseDelaySeconds), TimeSpan.FromSeconds(options.Value.RetryMaxDelaySeconds));

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        logger.LogInformation("Forwarder {Pod} delivering {Queue} to {Url}", _o.PodName, queues.AlertQueue, client.Url);
        var consumer = new ReliableConsumer(_queue, new ReliableConsumerOptions
        {
            HeartbeatInterval = TimeSpan.FromSeconds(_o.HeartbeatIntervalSeconds),
            HeartbeatTtl = TimeSpan.FromSeconds(_o.JanitorTimeoutSeconds),
            IdleMax = TimeSpan.FromMilliseconds(200),
            // The next batch is taken and parsed while requests are in flight (BeforeTakeAsync says how many).
            MaxBatchesInFlight = 2,
            PartialBatchLinger = TimeSpan.FromMilliseconds(_o.BatchLingerMs),
            OnNotCommitted = () => metrics.CompletionsNotCommitted.Add(1),
        }, logger);
        return consumer.RunAsync(this, stoppingToken);
    }

    public async ValueTask<TakeDecision> BeforeTakeAsync(CancellationToken stoppingToken)
    {
        if (await _gate.IsHeldOpenAsync())
        {
            return TakeDecision.PauseFor(CircuitPoll);
        }
        // Several Moogsoft requests in flight while the circuit is CLOSED (each still passes the shared
        // rate limit and circuit scripts); one at a time otherwise, so a HALF_OPEN probe is alone.
        var inFlight = _gate.LastSeen == CircuitState.Closed ? _o.MaxInFlight : 1;
        return TakeDecision.Take((int)Math.Clamp(await config.GetInt64Async(DynamicConfigKeys.MoogBatchSize, _o.BatchSize), 1, 1000), inFlight);
    }

    public AlertBatch Plan(LeasedBatch leased) =>
        AlertBatch.Parse(leased.Items, _agentLocation, queues.AlertQueue, _o.PodName, MuttTracing.Forwarder.HasListeners());

    /// <summary>Delivers the batch (or dead-letters it) and acks it; hands it back when the circuit refuses it.</summary>
    public async Task CompleteAsync(LeasedBatch leased, AlertBatch batch, CancellationToken ct)
    {
        using var activity = batch.StartActivity();
        if (batch.Events.Count == 0)
        {
            await CommitAsync(leased, batch, ok: 0);
            return;
        }
        var body = JsonSerializer.SerializeToUtf8Bytes(new MoogRequest { Events = batch.Events }, MoogJsonContext.Default.MoogRequest);
        var retries = 0;
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            var (decision, failures) = await _gate.AcquireAsync();
            if (decision == CircuitDecision.Blocked)
            {
                // Not sent, not dead-lettered: back to the queue until the circuit lets traffic through
                // (and no spinning meanwhile: another replica may hold the HALF_OPEN probe).
                leased.ReturnToQueue(CircuitPoll);
                activity?.SetTag(MuttTracing.Tags.Outcome, "returned");
                return;
            }
            await _gate.WaitForRateSlotAsync(ct);
            var outcome = await client.SendAsync(body, ct);
            var step = DeliveryPolicy.Decide(outcome.Result, retries, _o.MaxRetries, failures > 0 || decision == CircuitDecision.Probe);
            retries = step.Retries;
            var state = step.CircuitSuccess is { } success ? await _gate.RecordAsync(success) : _gate.LastSeen;
            metrics.Request(step.Status, outcome.Reason);
            switch (step.Action)
            {
                case DeliveryAction.Ack:
                    await CommitAsync(leased, batch, batch.Events.Count);
                    activity?.SetTag(MuttTracing.Tags.Outcome, "delivered");
                    return;

                case DeliveryAction.WaitAndResend:
                    metrics.RateLimitHits.Add(1);
                    var wait = outcome.RetryAfter ?? TimeSpan.FromSeconds(1);
                    logger.LogWarning("Moogsoft answered 429; waiting {Wait} before resending {Count} alerts", wait, batch.Events.Count);
                    await Task.Delay(wait, ct);
                    continue;

                case DeliveryAction.DeadLetter:
                    if (step.DlqReason == "http_4xx")
                    {
                        logger.LogError("Moogsoft rejected a batch of {Count} alerts with HTTP {Status}: {Excerpt}; dead-lettering to {Dlq}",
                            batch.Events.Count, outcome.HttpStatus, outcome.BodyExcerpt, queues.MoogDlq);
                    }
                    else
                    {
                        logger.LogError("Delivery of {Count} alerts failed {Attempts} times ({Reason} {Status}); dead-lettering to {Dlq}",
                            batch.Events.Count, retries, outcome.Reason, outcome.HttpStatus, queues.MoogDlq);
                    }
                    var dead = batch.DeadLetterAll(step.DlqReason!, outcome);
                    await CommitAsync(leased, batch, ok: 0);
                    metrics.Alerts("dlq", dead);
                    activity?.SetTag(MuttTracing.Tags.Outcome, "dlq").SetStatus(ActivityStatusCode.Error, step.DlqReason);
                    return;

                default:
                    var delay = _backoff.Delay(retries);
                    logger.LogWarning("Delivery failed ({Reason} {Status} {Error}); retry {Retry}/{Max} in {Delay}, circuit {State}",
                        outcome.Reason, outcome.HttpStatus, outcome.Error, retries, _o.MaxRetries, delay, CircuitBreaker.Name(state));
                    await Task.Delay(delay, ct);
                    continue;
            }
        }
    }

    /// <summary>The batch's dead letters and its ack in one MULTI/EXEC (checked by the core): a crash can replay the batch, never lose part of it.</summary>
    private async Task CommitAsync(LeasedBatch leased, AlertBatch batch, int ok)
    {
        await leased.CommitAsync(tx =>
        {
            if (batch.DeadLetters.Count > 0)
            {
                _ = tx.ListLeftPushAsync(queues.MoogDlq, batch.DeadLetters.Select(d => (RedisValue)JsonSerializer.Serialize(d, MuttJsonContext.Default.DeadLetter)).ToArray());
            }
        });
        if (ok > 0)
        {
            metrics.Alerts("success", ok);
        }
        var invalid = batch.DeadLetters.Count(d => d.Reason == "invalid_json");
        if (invalid > 0)
        {
            metrics.Alerts("error", invalid);
            logger.LogError("Dead-lettered {Count} unreadable alert-queue items to {Dlq}", invalid, queues.MoogDlq);
        }
    }

    public async Task SampleAsync()
    {
        Volatile.Write(ref metrics.DlqDepth, await redis.GetDatabase().ListLengthAsync(queues.MoogDlq));
        Volatile.Write(ref metrics.ProcessingDepth, await _queue.InFlightAsync());
        await _gate.SampleAsync();
    }
}
