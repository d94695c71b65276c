using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Mutt.Core.Redis;

/// <summary>The Dashboard's flow counters: field names of the per-pod hashes and of <c>/api/v2/metrics</c>'s <c>counters</c>.</summary>
public static class FlowCounterNames
{
    /// <summary>REST ingest requests answered 2xx (<c>mutt_ingest_requests_total{status="success"}</c>).</summary>
    public const string IngestSuccess = "ingest:success";
    /// <summary>REST ingest requests refused or failed (every other status).</summary>
    public const string IngestFailed = "ingest:failed";
    public const string AlerterHandled = "alerter:handled";
    public const string AlerterUnhandled = "alerter:unhandled";
    public const string AlerterDeduplicated = "alerter:deduplicated";
    public const string AlerterFlapping = "alerter:flapping";
    public const string AlerterSuppressedMaintenance = "alerter:suppressed_maintenance";
    /// <summary>Alerts Moogsoft accepted (<c>mutt_moog_alerts_processed_total{status="success"}</c>).</summary>
    public const string AlerterForwarded = "alerter:forwarded";
    /// <summary>Moogsoft requests that succeeded / did not (<c>mutt_moog_requests_total</c> by status).</summary>
    public const string MoogSuccess = "moog:success";
    public const string MoogFailed = "moog:failed";

    public static readonly IReadOnlyList<string> All = [
        IngestSuccess, IngestFailed, AlerterHandled, AlerterUnhandled, AlerterDeduplicated, AlerterFlapping, AlerterSuppressedMaintenance,
        AlerterForwarded, MoogSuccess, MoogFailed,
    ];
}

/// <summary>
/// This process's share of the flow counters, written by every replica into a hash of its own,
/// <c>mutt:metrics:pod:{pod}</c> (HINCRBY once a second, TTL <see cref="Ttl"/> renewed on each write),
/// which the Dashboard sums over all pods (<see cref="SumAsync"/>). So totals are right with any number
/// of replicas behind one Service address, and nobody scrapes replicas. A pod that stops writing drops
/// out after the TTL; a restart under the same name continues its hash.
/// </summary>
public sealed class FlowCounters
{
    public const string PodKeyPrefix = MuttKeys.MetricsPrefix + ":pod";

    /// <summary>How long a silent pod's counts still count (longer than the Dashboard's default 24 h SLO window).</summary>
    public static readonly TimeSpan Ttl = TimeSpan.FromHours(25);

    private readonly ConcurrentDictionary<string, long> _pending = new(StringComparer.Ordinal);

    public static string PodKey(string pod) => $"{PodKeyPrefix}:{pod}";

    /// <summary>The set of pods that wrote counts: the key named by the prefix itself, so no reader scans the keyspace.</summary>
    public const string PodRegistryKey = PodKeyPrefix;

    /// <summary>Once per multiplexer: pods of a version before the registry are found by one SCAN and added to it.</summary>
    private static readonly ConditionalWeakTable<IConnectionMultiplexer, object> s_registrySeeded = new();

    /// <summary>Counts in memory (the hot path); <see cref="FlushAsync"/> writes them.</summary>
    public void Add(string counter, long count = 1)
    {
        if (count > 0)
        {
            _pending.AddOrUpdate(counter, count, (_, before) => before + count);
        }
    }

    /// <summary>Adds what was counted since the last flush to this pod's hash; on a Redis error the counts are kept for the next flush.</summary>
    public async Task FlushAsync(IDatabase db, string pod)
    {
        var taken = new List<KeyValuePair<string, long>>();
        foreach (var counter in _pending.Keys)
        {
            if (_pending.TryRemove(counter, out var count))
            {
                taken.Add(new(counter, count));
            }
        }
        if (taken.Count == 0)
        {
            return;
        }
        var key = PodKey(pod);
        try
        {
            var batch = db.CreateBatch();
            // In this order: an EXPIRE before the first HINCRBY would find no key and do nothing.
            var writes = new List<Task>(taken.Count + 1);
            foreach (var (counter, count) in taken)
            {
                writes.Add(batch.HashIncrementAsync(key, counter, count));
            }
            writes.Add(batch.KeyExpireAsync(key, Ttl));
            writes.Add(batch.SetAddAsync(PodRegistryKey, pod));
            batch.Execute();
            await Task.WhenAll(writes).ConfigureAwait(false);
        }
        catch (Exception ex) when (RedisFaults.IsTransient(ex))
        {
            foreach (var (counter, count) in taken)
            {
                Add(counter, count);
            }
            throw;
        }
    }

    /// <summary>
    /// Every counter of <see cref="FlowCounterNames.All"/> summed over the hashes of the pods in
    /// <see cref="PodRegistryKey"/> (0 where none wrote it). A pod whose hash expired (silent for
    /// <see cref="Ttl"/>) leaves the registry here.
    /// </summary>
    public static async Task<Dictionary<string, long>> SumAsync(IConnectionMultiplexer redis)
    {
        var totals = FlowCounterNames.All.ToDictionary(c => c, _ => 0L, StringComparer.Ordinal);
        var db = redis.GetDatabase();
        if (s_registrySeeded.TryAdd(redis, new object()))
        {
            try
            {
                await KeyScan.RegisterExistingAsync(redis, PodKeyPrefix, 250).ConfigureAwait(false);
            }
            catch
            {
                s_registrySeeded.Remove(redis); // try again on the next call
                throw;
            }
        }
        foreach (var member in await db.SetMembersAsync(PodRegistryKey).ConfigureAwait(false))
        {
            var entries = await db.HashGetAllAsync(PodKey((string)member!)).ConfigureAwait(false);
            if (entries.Length == 0)
            {
                await db.SetRemoveAsync(PodRegistryKey, member).ConfigureAwait(false);
                continue;
            }
            foreach (var entry in entries)
            {
                if (totals.ContainsKey(entry.Name!) && long.TryParse((string?)entry.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
                {
                    totals[entry.Name!] += value;
                }
            }
        }
        return totals;
    }
}

/// <summary>Writes this process's <see cref="FlowCounters"/> once a second, and once more at shutdown.</summary>
public sealed class FlowCounterPublisher(FlowCounters counters, IConnectionMultiplexer redis, IConfiguration configuration, ILogger<FlowCounterPublisher> logger)
    : BackgroundService
{
    private readonly string _pod = configuration["POD_NAME"] is { Length: > 0 } pod ? pod : Environment.MachineName + "-" + Environment.ProcessId;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                await FlushAsync().ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
        await FlushAsync().ConfigureAwait(false);
    }

    private async Task FlushAsync()
    {
        try
        {
            await counters.FlushAsync(redis.GetDatabase(), _pod).ConfigureAwait(false);
        }
        catch (Exception ex) when (RedisFaults.IsTransient(ex))
        {
            logger.LogWarning("Could not write the flow counters of {Pod} to Redis (kept for the next second): {Error}", _pod, ex.GetType().Name);
        }
    }
}

public static class FlowCounterServiceCollectionExtensions
{
    /// <summary>A <see cref="FlowCounters"/> for this service and the publisher that writes it to Redis.</summary>
    public static IServiceCollection AddFlowCounters(this IServiceCollection services)
    {
        services.AddSingleton<FlowCounters>();
        services.AddHostedService<FlowCounterPublisher>();
        return services;
    }
}
