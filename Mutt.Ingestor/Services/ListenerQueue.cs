using System.Threading.Channels;
using Mutt.Core.Redis;
using Mutt.Ingestor.Ingest;
using StackExchange.Redis;

namespace Mutt.Ingestor.Services;

/// <summary>
/// The bounded buffer between the datagram listeners (syslog UDP, SNMP traps) and Redis; the
/// pusher below drains it in batches (one variadic LPUSH per batch). Only datagrams use it: a
/// UDP sender cannot be slowed down, so while Redis is slow the choice is between this buffer and
/// the kernel's receive buffer overflowing; the buffer rides out short Redis stalls and, when
/// full, drops are counted (<c>mutt_syslog_dropped_total{reason="buffer_full"}</c>) instead of
/// being invisible kernel drops. Nothing here was acknowledged to anyone, so a crash loses at
/// most this buffer's content, which UDP senders never expected to be delivered. Stream
/// listeners (TCP, TLS, RELP) and SNMP informs push directly and are never behind it.
/// </summary>
public sealed class ListenerQueue
{
    public const int Capacity = 100_000;

    private readonly Channel<byte[]> _channel = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(Capacity)
    {
        SingleReader = true,
        FullMode = BoundedChannelFullMode.Wait,
    });

    public ChannelReader<byte[]> Reader => _channel.Reader;

    /// <summary>For datagram listeners: false when the buffer is full (the caller counts the drop).</summary>
    public bool TryEnqueue(byte[] item) => _channel.Writer.TryWrite(item);

    public void Complete() => _channel.Writer.TryComplete();
}

public sealed class ListenerPushWorker(ListenerQueue queue, IConnectionMultiplexer redis, QueueNames names,
    ThroughputCounters counters, IngestMetrics metrics, ILogger<ListenerPushWorker> logger) : BackgroundService
{
    private const int MaxBatch = 2_000;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var key = (RedisKey)names.IngestQueue;
        var batch = new List<RedisValue>(MaxBatch);
        var reader = queue.Reader;
        try
        {
            while (await reader.WaitToReadAsync(stoppingToken))
            {
                while (batch.Count < MaxBatch && reader.TryRead(out var item))
                {
                    batch.Add(item);
                }
                await PushWithRetryAsync(key, batch, stoppingToken);
                batch.Clear();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        // Drain what the listeners already accepted: they have stopped by now (hosted services stop in reverse order).
        while (reader.TryRead(out var item))
        {
            batch.Add(item);
        }
        if (batch.Count > 0)
        {
            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try
            {
                await PushWithRetryAsync(key, batch, grace.Token);
            }
            catch (OperationCanceledException)
            {
                logger.LogError("Shutdown: {Count} received events could not be pushed to Redis and are lost", batch.Count);
            }
        }
    }

    private async Task PushWithRetryAsync(RedisKey key, List<RedisValue> batch, CancellationToken cancellationToken)
    {
        var delay = TimeSpan.FromMilliseconds(100);
        var values = batch.ToArray();
        while (true)
        {
            try
            {
                await redis.GetDatabase().ListLeftPushAsync(key, values);
                counters.Add(values.Length);
                return;
            }
            catch (Exception ex) when (RedisFaults.IsTransient(ex))
            {
                metrics.PushFailures.Add(1);
                logger.LogWarning("Push of {Count} listener events failed ({Error}); retrying in {Delay} ms", values.Length, ex.GetType().Name, delay.TotalMilliseconds);
                await Task.Delay(delay, cancellationToken);
                delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 2_000));
            }
        }
    }
}
