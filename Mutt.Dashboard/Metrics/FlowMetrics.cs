using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Serialization;
using Mutt.Core.Redis;
using StackExchange.Redis;

namespace Mutt.Dashboard.Metrics;

public sealed record FlowSnapshot
{
    [JsonPropertyName("timestamp")] public DateTimeOffset Timestamp { get; init; }
    [JsonPropertyName("events_per_second_1m")] public double EventsPerSecond1m { get; init; }
    [JsonPropertyName("events_per_second_1h")] public double EventsPerSecond1h { get; init; }
    [JsonPropertyName("events_per_second_24h")] public double EventsPerSecond24h { get; init; }
    /// <summary>The Ingestor's per-minute counts for the current and previous minute, keyed by unix minute.</summary>
    [JsonPropertyName("ingest_minute_buckets")] public Dictionary<long, long> IngestMinuteBuckets { get; init; } = [];
    [JsonPropertyName("events_total_24h")] public long EventsTotal24h { get; init; }
    [JsonPropertyName("queue_depths")] public Dictionary<string, long> QueueDepths { get; init; } = [];
    [JsonPropertyName("dlq_depths")] public Dictionary<string, long> DlqDepths { get; init; } = [];
    [JsonPropertyName("processing")] public Dictionary<string, long> Processing { get; init; } = [];
    /// <summary>Monotonic counters (mutt:metrics:{name}); the overview turns them into per-second rates.</summary>
    [JsonPropertyName("counters")] public Dictionary<string, long> Counters { get; init; } = [];
}

/// <summary>The flow figures the overview, /api/v2/metrics and the SLO read.</summary>
public interface IFlowMetrics
{
    Task<FlowSnapshot> SnapshotAsync(CancellationToken ct = default);
}

/// <summary>
/// Reads MUTT's own Redis figures, tolerating every key being absent (a missing key is 0):
/// LLEN of the configured queues and DLQs (<see cref="QueueNames"/>), the processing lists found by SCAN, the Ingestor's bucketed
/// counters (<see cref="FlowCounterKeys"/>: <c>mutt:metrics:events:{m|h|d}:{unix minute|hour|day}</c>), and the
/// monotonic totals every replica writes into its own hash (<see cref="FlowCounters"/>: <c>mutt:metrics:pod:{pod}</c>), summed.
/// </summary>
public sealed class RedisFlowMetrics(IConnectionMultiplexer redis, QueueNames names, DashboardMetrics metrics) : IFlowMetrics
{
    public async Task<FlowSnapshot> SnapshotAsync(CancellationToken ct = default)
    {
        var db = redis.GetDatabase();
        var now = DateTimeOffset.UtcNow;
        var epoch = now.ToUnixTimeSeconds();
        var windows = FlowCounterKeys.Windows;
        var bucketKeys = windows.SelectMany(w => new RedisKey[] { w.Key(w.BucketAt(now)), w.Key(w.BucketAt(now) - 1) }).ToArray();
        var bucketValues = await db.StringGetAsync(bucketKeys);

        var rates = new double[windows.Count];
        for (var i = 0; i < windows.Count; i++)
        {
            // Current partial bucket plus the whole previous one, over the time they cover.
            var elapsed = epoch % windows[i].Seconds;
            rates[i] = (Long(bucketValues[2 * i]) + Long(bucketValues[2 * i + 1])) / (double)(windows[i].Seconds + elapsed);
        }

        var processing = new Dictionary<string, long>();
        var scanStart = Stopwatch.GetTimestamp();
        // The pods with a processing list, from the registries the takes keep (no keyspace SCAN).
        foreach (var prefix in (string[])[names.AlerterProcessingPrefix, names.MoogProcessingPrefix])
        {
            foreach (var pod in await db.SetMembersAsync(MuttKeys.ProcessingRegistry(prefix)))
            {
                var key = MuttKeys.Processing(prefix, (string)pod!);
                if (await db.ListLengthAsync(key) is > 0 and var length)
                {
                    processing[key] = length;
                }
            }
        }
        metrics.RedisScanLatency.Record(Stopwatch.GetElapsedTime(scanStart).TotalSeconds);

        var counters = await FlowCounters.SumAsync(redis);

        return new FlowSnapshot
        {
            Timestamp = now,
            EventsPerSecond1m = Math.Round(rates[0], 3),
            EventsPerSecond1h = Math.Round(rates[1], 3),
            EventsPerSecond24h = Math.Round(rates[2], 3),
            EventsTotal24h = Long(bucketValues[4]),
            IngestMinuteBuckets = new() { [epoch / 60] = Long(bucketValues[0]), [epoch / 60 - 1] = Long(bucketValues[1]) },
            QueueDepths = new()
            {
                ["ingest"] = await db.ListLengthAsync(names.IngestQueue),
                ["alert"] = await db.ListLengthAsync(names.AlertQueue),
            },
            DlqDepths = new()
            {
                ["alerter"] = await db.ListLengthAsync(names.AlerterDlq),
                ["moog"] = await db.ListLengthAsync(names.MoogDlq),
                ["poison"] = await db.ListLengthAsync(names.PoisonQueue),
            },
            Processing = processing,
            Counters = counters,
        };
    }

    private static long Long(RedisValue value) => value.IsNull ? 0 : long.TryParse((string?)value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : 0;
}
