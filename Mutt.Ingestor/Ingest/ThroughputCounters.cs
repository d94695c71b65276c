using Microsoft.Extensions.Options;
using Mutt.Core.Redis;
using StackExchange.Redis;

namespace Mutt.Ingestor.Ingest;

/// <summary>
/// The dashboard's 1 m / 1 h / 24 h event counts, kept in Redis so every Ingestor replica adds to
/// the same numbers. Counts are summed in memory and flushed once a second, so the hot path
/// costs an Interlocked.Add rather than six Redis commands per request.
/// Layout (documented in docs/ingestor.md):
/// <c>mutt:metrics:events:m:{unix_minute}</c> (TTL 2 h), <c>mutt:metrics:events:h:{unix_hour}</c> (TTL 48 h),
/// <c>mutt:metrics:events:d:{unix_day}</c> (TTL 8 d), each an integer incremented with INCRBY.
/// </summary>
public sealed class ThroughputCounters(IConnectionMultiplexer redis, ILogger<ThroughputCounters> logger) : BackgroundService
{
    private long _pending;

    public void Add(long events) => Interlocked.Add(ref _pending, events);

    // Key names, bucket sizes and TTLs are shared with the Dashboard that reads them.
    public static string MinuteKey(DateTimeOffset at) => FlowCounterKeys.Minute.KeyAt(at);
    public static string HourKey(DateTimeOffset at) => FlowCounterKeys.Hour.KeyAt(at);
    public static string DayKey(DateTimeOffset at) => FlowCounterKeys.Day.KeyAt(at);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await FlushAsync();
            }
        }
        catch (OperationCanceledException)
        {
        }
        await FlushAsync();
    }

    private async Task FlushAsync()
    {
        var count = Interlocked.Exchange(ref _pending, 0);
        if (count == 0)
        {
            return;
        }
        var now = DateTimeOffset.UtcNow;
        try
        {
            var db = redis.GetDatabase();
            var batch = db.CreateBatch();
            var tasks = new List<Task>(6);
            foreach (var window in FlowCounterKeys.Windows)
            {
                var key = window.KeyAt(now);
                tasks.Add(batch.StringIncrementAsync(key, count));
                tasks.Add(batch.KeyExpireAsync(key, window.Ttl));
            }
            batch.Execute();
            await Task.WhenAll(tasks);
        }
        catch (Exception ex) when (RedisFaults.IsTransient(ex))
        {
            Interlocked.Add(ref _pending, count); // try again next second
            logger.LogWarning("Could not flush {Count} event counts to Redis: {Error}", count, ex.GetType().Name);
        }
    }
}
