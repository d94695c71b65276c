using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Mutt.Core.Configuration;
using Mutt.Core.Events;
using Mutt.Core.Moogsoft;
using Mutt.Core.Redis;
using Mutt.Core.Telemetry;
using Mutt.Forwarder.Moogsoft;
using StackExchange.Redis;

namespace Mutt.Forwarder.Services;

/// <summary>
/// Delivers alerts from <c>mutt:alert_queue</c> to Moogsoft in batches. A batch lives in this
/// pod's processing list from the moment it is taken until Moogsoft accepted it (ack), it was
/// dead-lettered (in the same transaction as the ack), or it was handed back to the queue (circuit
/// OPEN, shutdown). A crash leaves it in the processing list, where another replica's janitor
/// finds it once this pod's heartbeat has expired. Heartbeat and janitor run in their own loop,
/// so a batch waiting out a long backoff never lets the heartbeat lapse.
/// </summary>
public sealed class ForwarderWorker(
    IConnectionMultiplexer redis,
    MoogClient client,
    DynamicConfig config,
    ForwarderMetrics metrics,
    IOptions<ForwarderOptions> options,
    ILogger<ForwarderWorker> logger) : BackgroundService
{
    private static readonly TimeSpan CircuitPoll = TimeSpan.FromMilliseconds(250);
    private readonly ForwarderOptions _o = options.Value;
    private readonly string _agentLocation = Environment.MachineName;
    private ReliableQueue _queue = null!;
    private RateLimiter _limiter = null!;
    private CircuitBreaker _circuit = null!;
    private BackoffSchedule _backoff = null!;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _queue = new ReliableQueue(redis, _o.AlertQueue, _o.ProcessingPrefix, _o.HeartbeatPrefix, _o.PodName);
        _limiter = new RateLimiter(redis, _o.RateLimitKey, _o.PodName);
        _circuit = new CircuitBreaker(redis, _o.CircuitFailureThreshold, TimeSpan.FromSeconds(_o.CircuitOpenSeconds),
            probeLease: TimeSpan.FromSeconds(_o.WebhookTimeoutSeconds + 10));
        _backoff = new BackoffSchedule(TimeSpan.FromSeconds(_o.RetryBaseDelaySeconds), TimeSpan.FromSeconds(_o.RetryMaxDelaySeconds));

        await _queue.HeartbeatAsync(TimeSpan.FromSeconds(_o.JanitorTimeoutSeconds));
        // A restart under the same pod name (StatefulSet) finds its own unfinished batch first.
        var recovered = await _queue.ReturnInFlightAsync();
        if (recovered > 0)
        {
            logger.LogWarning("Returned {Count} in-flight alerts of a previous run of {Pod} to {Queue}", recovered, _o.PodName, _o.AlertQueue);
        }
        logger.LogInformation("Forwarder {Pod} delivering {Queue} to {Url}", _o.PodName, _o.AlertQueue, client.Url);

        using var heartbeatStop = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var heartbeat = HeartbeatLoopAsync(heartbeatStop.Token);
        try
        {
            await ConsumeLoopAsync(stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            var returned = await _queue.ReturnInFlightAsync();
            if (returned > 0)
            {
                logger.LogInformation("Shutdown: returned {Count} undelivered alerts to {Queue}", returned, _o.AlertQueue);
            }
            await heartbeatStop.CancelAsync();
            await heartbeat;
            await _queue.RemoveHeartbeatAsync();
        }
    }

    private async Task ConsumeLoopAsync(CancellationToken ct)
    {
        var idle = new IdleBackoff(TimeSpan.FromMilliseconds(200));
        var mustReturnInFlight = false;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                // After a Redis error nothing new is taken until the processing list is back in the queue
                // (the reply of a take or an ack may have been lost): this pod's heartbeat stays alive, so
                // no janitor would return it. Alerts already POSTed may be sent again: at-least-once.
                if (mustReturnInFlight)
                {
                    if (!await ReturnInFlightAfterErrorAsync())
                    {
                        await Task.Delay(RedisRetryDelay, ct);
                        continue;
                    }
                    mustReturnInFlight = false;
                }
                // While the circuit is OPEN nothing is taken: the alerts wait in mutt:alert_queue.
                if (await _circuit.ReadStateAsync() == CircuitState.Open && !await OpenPeriodOverAsync())
                {
                    await Task.Delay(CircuitPoll, ct);
                    continue;
                }
                var batchSize = (int)Math.Clamp(await config.GetInt64Async(DynamicConfigKeys.MoogBatchSize, _o.BatchSize), 1, 1000);
                var items = await _queue.TakeBatchAsync(batchSize);
                if (items.Length == 0)
                {
                    await Task.Delay(idle.Next(), ct);
                    continue;
                }
                idle.Reset();
                if (!await DeliverAsync(items, ct))
                {
                    // Another replica holds the HALF_OPEN probe (or the circuit just opened): do not spin.
                    await Task.Delay(CircuitPoll, ct);
                }
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException && !ct.IsCancellationRequested)
            {
                logger.LogError(ex, "Redis error in the consume loop; returning in-flight alerts and retrying");
                await Task.Delay(RedisRetryDelay, ct);
                mustReturnInFlight = true;
            }
        }
    }

    private static readonly TimeSpan RedisRetryDelay = TimeSpan.FromMilliseconds(500);

    private async Task<bool> ReturnInFlightAfterErrorAsync()
    {
        try
        {
            var returned = await _queue.ReturnInFlightAsync();
            if (returned > 0)
            {
                logger.LogWarning("Returned {Count} in-flight alert(s) to {Queue} after a Redis error", returned, _o.AlertQueue);
            }
            return true;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            logger.LogError(ex, "Could not return in-flight alerts yet; retrying");
            return false;
        }
    }

    /// <summary>Has the OPEN period ended (so a HALF_OPEN probe may be tried)? Read-only; the probe itself is claimed atomically later.</summary>
    private async Task<bool> OpenPeriodOverAsync()
    {
        var openedAt = (string?)await redis.GetDatabase().StringGetAsync(MuttKeys.MoogCircuitOpenedAt);
        if (!double.TryParse(openedAt, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var seconds))
        {
            return true;
        }
        var time = (await redis.GetServer(redis.GetEndPoints()[0]).TimeAsync()).ToUniversalTime();
        return (time - DateTime.UnixEpoch).TotalSeconds - seconds >= _o.CircuitOpenSeconds;
    }

    /// <summary>Delivers or dead-letters a batch; false when the circuit refused it and it went back to the queue.</summary>
    private async Task<bool> DeliverAsync(RedisValue[] items, CancellationToken ct)
    {
        var events = new List<MoogEvent>(items.Length);
        var rejects = new List<DeadLetter>();
        var traced = MuttTracing.Forwarder.HasListeners() ? new List<ActivityContext>() : null;
        foreach (var item in items)
        {
            AlertMessage? alert = null;
            string? error = null;
            try
            {
                alert = JsonSerializer.Deserialize((string)item!, MuttJsonContext.Default.AlertMessage);
            }
            catch (JsonException ex)
            {
                error = ex.Message;
            }
            if (alert is null || string.IsNullOrEmpty(alert.CorrelationId))
            {
                rejects.Add(NewDeadLetter(item!, "invalid_json", error ?? "not an alert message (no correlation_id)"));
                continue;
            }
            events.Add(MoogEventBuilder.Build(alert, _agentLocation));
            if (traced is not null && MuttTracing.TryGetSampledContext(alert.TraceParent, out var context))
            {
                traced.Add(context);
            }
        }
        using var activity = traced is null ? null : StartBatchActivity(traced, items.Length);
        if (events.Count == 0)
        {
            await CompleteAsync(rejects, ok: 0);
            return true;
        }
        var body = JsonSerializer.SerializeToUtf8Bytes(new MoogRequest { Events = events }, MoogJsonContext.Default.MoogRequest);

        var retry = 0;
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            var (decision, _, failures) = await _circuit.AcquireAsync();
            metrics.CircuitState = (int)_circuit.LastSeen;
            if (decision == CircuitDecision.Blocked)
            {
                // Not sent, not dead-lettered: back to the queue until the circuit lets traffic through.
                await _queue.ReturnInFlightAsync();
                activity?.SetTag(MuttTracing.Tags.Outcome, "returned");
                return false;
            }
            await WaitForRateSlotAsync(ct);
            var outcome = await client.SendAsync(body, ct);
            var needsRecord = failures > 0 || decision == CircuitDecision.Probe;
            switch (outcome.Result)
            {
                case SendResult.Success:
                    if (needsRecord)
                    {
                        await RecordCircuitAsync(success: true);
                    }
                    metrics.Request("success", outcome.Reason);
                    await CompleteAsync(rejects, events.Count);
                    activity?.SetTag(MuttTracing.Tags.Outcome, "delivered");
                    return true;

                case SendResult.Throttled:
                    // Moogsoft is up and asked us to slow down: wait as told; this costs no retry.
                    if (needsRecord)
                    {
                        await RecordCircuitAsync(success: true);
                    }
                    metrics.Request("rate_limited", outcome.Reason);
                    metrics.RateLimitHits.Add(1);
                    var wait = outcome.RetryAfter ?? TimeSpan.FromSeconds(1);
                    logger.LogWarning("Moogsoft answered 429; waiting {Wait} before resending {Count} alerts", wait, events.Count);
                    await Task.Delay(wait, ct);
                    continue;

                case SendResult.Rejected:
                    if (needsRecord)
                    {
                        await RecordCircuitAsync(success: true);
                    }
                    metrics.Request("dlq", outcome.Reason);
                    logger.LogError("Moogsoft rejected a batch of {Count} alerts with HTTP {Status}: {Excerpt}; dead-lettering to {Dlq}",
                        events.Count, outcome.HttpStatus, outcome.BodyExcerpt, _o.DlqName);
                    await DeadLetterBatchAsync(items, rejects, outcome, "http_4xx");
                    activity?.SetTag(MuttTracing.Tags.Outcome, "dlq").SetStatus(ActivityStatusCode.Error, "http_4xx");
                    return true;

                default:
                    var state = await RecordCircuitAsync(success: false);
                    retry++;
                    if (retry > _o.MaxRetries)
                    {
                        metrics.Request("dlq", outcome.Reason);
                        logger.LogError("Delivery of {Count} alerts failed {Attempts} times ({Reason} {Status}); dead-lettering to {Dlq}",
                            events.Count, retry, outcome.Reason, outcome.HttpStatus, _o.DlqName);
                        await DeadLetterBatchAsync(items, rejects, outcome, "max_retries");
                        activity?.SetTag(MuttTracing.Tags.Outcome, "dlq").SetStatus(ActivityStatusCode.Error, "max_retries");
                        return true;
                    }
                    metrics.Request("retry", outcome.Reason);
                    var delay = _backoff.Delay(retry);
                    logger.LogWarning("Delivery failed ({Reason} {Status} {Error}); retry {Retry}/{Max} in {Delay}, circuit {State}",
                        outcome.Reason, outcome.HttpStatus, outcome.Error, retry, _o.MaxRetries, delay, CircuitBreaker.Name(state));
                    await Task.Delay(delay, ct);
                    continue;
            }
        }
    }

    /// <summary>
    /// The batch's span, current while it is delivered, so each Moogsoft POST (HttpClient
    /// instrumentation) is its child. One POST carries many events' alerts but can have one
    /// parent: the first traced alert's context (the Alerter's event span); every other alert's
    /// trace is linked. A one-alert batch is thus entirely inside its event's trace.
    /// </summary>
    private Activity? StartBatchActivity(List<ActivityContext> traced, int count)
    {
        var parent = traced.Count > 0 ? traced[0] : default;
        Activity.Current = null; // no ambient parent: the batch continues its first alert's trace or starts its own
        var activity = MuttTracing.Forwarder.StartActivity(MuttTracing.Spans.ForwarderBatch, ActivityKind.Consumer, parent,
            links: traced.Count > 1 ? traced.Skip(1).Select(c => new ActivityLink(c)) : null);
        activity?.SetTag(MuttTracing.Tags.MessagingSystem, "redis")
            .SetTag(MuttTracing.Tags.MessagingDestination, _o.AlertQueue)
            .SetTag(MuttTracing.Tags.MessagingBatchCount, count);
        return activity;
    }

    private async Task<CircuitState> RecordCircuitAsync(bool success)
    {
        var before = _circuit.LastSeen;
        var state = await _circuit.RecordAsync(success);
        metrics.CircuitState = (int)state;
        if (state != before)
        {
            logger.LogWarning("Moogsoft circuit {Before} -> {After}", CircuitBreaker.Name(before), CircuitBreaker.Name(state));
        }
        return state;
    }

    private async Task WaitForRateSlotAsync(CancellationToken ct)
    {
        var limit = await config.GetInt64Async(DynamicConfigKeys.MoogRateLimit, _o.RateLimit);
        var period = TimeSpan.FromSeconds(_o.RatePeriodSeconds);
        while (true)
        {
            var wait = await _limiter.TryAcquireAsync(Math.Max(1, limit), period);
            if (wait == TimeSpan.Zero)
            {
                return;
            }
            metrics.RateLimitHits.Add(1);
            await Task.Delay(wait, ct);
        }
    }

    private Task DeadLetterBatchAsync(RedisValue[] items, List<DeadLetter> rejects, SendOutcome outcome, string reason)
    {
        var invalid = rejects.Select(r => r.Payload).ToHashSet(StringComparer.Ordinal);
        foreach (var item in items)
        {
            var payload = (string)item!;
            if (invalid.Contains(payload))
            {
                continue;
            }
            var letter = NewDeadLetter(payload, reason, outcome.Error);
            letter.HttpStatus = outcome.HttpStatus;
            letter.BodyExcerpt = outcome.BodyExcerpt;
            rejects.Add(letter);
        }
        metrics.Alerts("dlq", items.Length - invalid.Count);
        return CompleteAsync(rejects, ok: 0);
    }

    /// <summary>Dead letters and the ack of the batch in one MULTI/EXEC: a crash can replay the batch, never lose part of it.</summary>
    private async Task CompleteAsync(List<DeadLetter> deadLetters, int ok)
    {
        var tx = _queue.BeginCompletion();
        if (deadLetters.Count > 0)
        {
            var values = deadLetters.Select(d => (RedisValue)JsonSerializer.Serialize(d, MuttJsonContext.Default.DeadLetter)).ToArray();
            _ = tx.ListLeftPushAsync(_o.DlqName, values);
        }
        _ = _queue.AckIn(tx);
        await tx.ExecuteAsync();
        if (ok > 0)
        {
            metrics.Alerts("success", ok);
        }
        var invalid = deadLetters.Count(d => d.Reason == "invalid_json");
        if (invalid > 0)
        {
            metrics.Alerts("error", invalid);
            logger.LogError("Dead-lettered {Count} unreadable alert-queue items to {Dlq}", invalid, _o.DlqName);
        }
    }

    private DeadLetter NewDeadLetter(string payload, string reason, string? error) => new()
    {
        Payload = payload,
        SourceQueue = _o.AlertQueue,
        Service = "forwarder",
        Pod = _o.PodName,
        Reason = reason,
        Error = error,
        FailedAt = DateTimeOffset.UtcNow,
    };

    private async Task HeartbeatLoopAsync(CancellationToken ct)
    {
        var ttl = TimeSpan.FromSeconds(_o.JanitorTimeoutSeconds);
        var interval = TimeSpan.FromSeconds(_o.HeartbeatIntervalSeconds);
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await _queue.HeartbeatAsync(ttl);
                foreach (var (pod, count) in await _queue.ReclaimOrphansAsync())
                {
                    logger.LogWarning("Janitor: returned {Count} alerts of dead forwarder {Pod} to {Queue}", count, pod, _o.AlertQueue);
                }
                var db = redis.GetDatabase();
                Volatile.Write(ref metrics.DlqDepth, await db.ListLengthAsync(_o.DlqName));
                Volatile.Write(ref metrics.ProcessingDepth, await _queue.InFlightAsync());
                metrics.CircuitState = (int)await _circuit.ReadStateAsync();
            }
            catch (RedisException ex)
            {
                logger.LogWarning(ex, "Heartbeat/janitor round failed; retrying");
            }
            try
            {
                await Task.Delay(interval, ct);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
