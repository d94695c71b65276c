using Microsoft.Extensions.Options;
using Mutt.Core.Configuration;
using Mutt.Core.Redis;
using StackExchange.Redis;

namespace Mutt.Ingestor.Ingest;

/// <summary>
/// The ingest queue's depth and cap, sampled rather than read per request: at tens of thousands of
/// requests a second an LLEN each would double the Redis load for a number that only needs to be
/// roughly right. A stale sample triggers one background refresh; callers never wait for it
/// (except for the very first sample).
/// </summary>
public sealed class QueueDepthSampler(IConnectionMultiplexer redis, DynamicConfig config, QueueNames names, IOptions<IngestOptions> options)
{
    private readonly IngestOptions _options = options.Value;
    private long _depth;
    private long _cap = options.Value.MAX_INGEST_QUEUE_SIZE;
    private long _sampledAtTicks;
    private int _refreshing;
    private Task? _first;

    public long LastDepth => Interlocked.Read(ref _depth);
    public long Cap => Interlocked.Read(ref _cap);

    /// <summary>True when the queue has reached its cap (per the latest sample).</summary>
    public async ValueTask<bool> IsFullAsync()
    {
        var age = Environment.TickCount64 - Interlocked.Read(ref _sampledAtTicks);
        if (_first is null || age > _options.INGEST_QUEUE_DEPTH_SAMPLE_MS)
        {
            if (Interlocked.Exchange(ref _refreshing, 1) == 0)
            {
                var refresh = RefreshAsync();
                _first ??= refresh;
            }
            if (_first is { IsCompleted: false } first)
            {
                await first.ConfigureAwait(false);
            }
        }
        return LastDepth >= Cap;
    }

    private async Task RefreshAsync()
    {
        try
        {
            var depth = await redis.GetDatabase().ListLengthAsync(names.IngestQueue).ConfigureAwait(false);
            var cap = await config.GetInt64Async(DynamicConfigKeys.MaxIngestQueueSize, _options.MAX_INGEST_QUEUE_SIZE).ConfigureAwait(false);
            Interlocked.Exchange(ref _depth, depth);
            Interlocked.Exchange(ref _cap, cap);
        }
        catch (Exception ex) when (RedisFaults.IsTransient(ex))
        {
            // Keep the last sample; the push itself will report Redis being down.
        }
        finally
        {
            Interlocked.Exchange(ref _sampledAtTicks, Environment.TickCount64);
            Interlocked.Exchange(ref _refreshing, 0);
        }
    }
}
