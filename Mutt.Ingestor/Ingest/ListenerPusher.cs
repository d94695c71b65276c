using Mutt.Core.Redis;
using StackExchange.Redis;

namespace Mutt.Ingestor.Ingest;

/// <summary>
/// The native listeners' way into <c>mutt:ingest_queue</c>: a batch is pushed with one variadic
/// LPUSH and the call returns only once Redis holds it. Callers acknowledge their sender
/// (RELP <c>rsp 200</c>, SNMP inform Response) or read more from the socket only after it
/// returned, so what a sender was told is "received" is in Redis (invariant of issue 14).
/// <para>
/// Redis errors are retried here with backoff (the connection reader waits meanwhile, so TCP
/// flow control holds the sender). A failed LPUSH may still have been applied; the retry then
/// duplicates the batch, which the idempotent audit absorbs where the correlation id is
/// derived from the frame (RELP, SNMP informs).
/// </para>
/// </summary>
public sealed class ListenerPusher(IngestWriter writer, ThroughputCounters counters, IngestMetrics metrics, ILogger<ListenerPusher> logger)
{
    private static readonly TimeSpan FirstDelay = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(2);

    /// <summary>
    /// LPUSH (and, with <paramref name="durable"/> and INGEST_WAIT_REPLICAS &gt; 0, the WAIT) until it
    /// succeeds. Returns <see cref="PushOutcome.ReplicaTimeout"/> when the events are on the primary but
    /// not confirmed by enough replicas: the caller must not acknowledge them. Throws
    /// <see cref="OperationCanceledException"/> when <paramref name="cancellationToken"/> fires first.
    /// </summary>
    public async Task<PushOutcome> PushAsync(RedisValue[] values, string source, bool durable, CancellationToken cancellationToken)
    {
        var delay = FirstDelay;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                var outcome = durable ? await writer.PushAsync(values).ConfigureAwait(false) : await writer.PushUnconfirmedAsync(values).ConfigureAwait(false);
                if (outcome == PushOutcome.Pushed)
                {
                    counters.Add(values.Length);
                    metrics.Events.Add(values.Length, new KeyValuePair<string, object?>("source", source));
                }
                else
                {
                    metrics.PushFailures.Add(1);
                    logger.LogWarning("{Count} {Source} events are on the Redis primary but not confirmed by {Replicas} replica(s); not acknowledged",
                        values.Length, source, writer.Replicas);
                }
                return outcome;
            }
            catch (Exception ex) when (RedisFaults.IsTransient(ex))
            {
                metrics.PushFailures.Add(1);
                logger.LogWarning("Push of {Count} {Source} events failed ({Error}); retrying in {Delay} ms", values.Length, source, ex.GetType().Name, delay.TotalMilliseconds);
            }
            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, MaxDelay.TotalMilliseconds));
        }
    }

    /// <summary>One attempt, no retry: for senders that retransmit themselves (SNMP informs). False when Redis did not take it.</summary>
    public async Task<bool> TryPushOnceAsync(RedisValue[] values, string source)
    {
        try
        {
            if (await writer.PushAsync(values).ConfigureAwait(false) == PushOutcome.Pushed)
            {
                counters.Add(values.Length);
                metrics.Events.Add(values.Length, new KeyValuePair<string, object?>("source", source));
                return true;
            }
        }
        catch (Exception ex) when (RedisFaults.IsTransient(ex))
        {
            logger.LogWarning("Push of {Count} {Source} events failed ({Error}); not acknowledged", values.Length, source, ex.GetType().Name);
        }
        metrics.PushFailures.Add(1);
        return false;
    }
}
