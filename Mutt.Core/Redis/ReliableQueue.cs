using System.Reflection;
using StackExchange.Redis;

namespace Mutt.Core.Redis;

/// <summary>
/// At-least-once consumption of a Redis list by one worker (the pod), shared by the Alerter
/// and the Forwarder. A multiplexer shares one connection among all callers, so blocking pops
/// (BLMOVE) are not an option; and LMOVE moves one item per round trip. So a batch is moved
/// atomically by Lua from the queue into the worker's own processing list in one round trip; the
/// worker acks in the transaction that also pushes its outputs, and a janitor returns the lists of
/// workers whose heartbeat expired. The life cycle around these steps is <see cref="ReliableConsumer"/>.
/// </summary>
public sealed class ReliableQueue
{
    private static readonly string BatchMoveScript = LuaScripts.Load("batch_move.lua");
    private static readonly string ReturnAllScript = LuaScripts.Load("return_all.lua");
    private static readonly string JanitorScript = LuaScripts.Load("janitor_reclaim.lua");

    private readonly IConnectionMultiplexer _redis;

    public ReliableQueue(IConnectionMultiplexer redis, string sourceQueue, string processingPrefix, string heartbeatPrefix, string podName)
    {
        _redis = redis;
        SourceQueue = sourceQueue;
        ProcessingPrefix = processingPrefix;
        HeartbeatPrefix = heartbeatPrefix;
        PodName = podName;
        ProcessingKey = MuttKeys.Processing(processingPrefix, podName);
        HeartbeatKey = MuttKeys.Heartbeat(heartbeatPrefix, podName);
    }

    public string SourceQueue { get; }
    public string ProcessingPrefix { get; }
    public string HeartbeatPrefix { get; }
    public string PodName { get; }
    public string ProcessingKey { get; }
    public string HeartbeatKey { get; }

    private IDatabase Db => _redis.GetDatabase();

    /// <summary>Moves up to <paramref name="max"/> items into this worker's processing list and returns them, oldest first.</summary>
    public async Task<RedisValue[]> TakeBatchAsync(int max)
    {
        var result = await Db.ScriptEvaluateAsync(BatchMoveScript, [SourceQueue, ProcessingKey], [max]).ConfigureAwait(false);
        return result.IsNull ? [] : (RedisValue[])result!;
    }

    /// <summary>Starts a batch's completion MULTI/EXEC; <see cref="LeasedBatch.CommitAsync"/> adds the ack and checks the result.</summary>
    public ITransaction BeginCompletion() => Db.CreateTransaction();

    /// <summary>Returns this worker's own in-flight items to the queue (graceful shutdown, or a restart under the same pod name).</summary>
    public async Task<long> ReturnInFlightAsync()
    {
        var moved = await Db.ScriptEvaluateAsync(ReturnAllScript, [ProcessingKey, SourceQueue]).ConfigureAwait(false);
        return (long)moved;
    }

    public Task HeartbeatAsync(TimeSpan ttl) => Db.StringSetAsync(HeartbeatKey, DateTimeOffset.UtcNow.ToUnixTimeSeconds(), ttl);

    public Task RemoveHeartbeatAsync() => Db.KeyDeleteAsync(HeartbeatKey);

    public Task<long> DepthAsync() => Db.ListLengthAsync(SourceQueue);

    public Task<long> InFlightAsync() => Db.ListLengthAsync(ProcessingKey);

    /// <summary>
    /// The janitor: SCANs (never KEYS) for processing lists of this kind and returns the items of
    /// every pod whose heartbeat has expired. Returns what was reclaimed per pod.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, long>> ReclaimOrphansAsync()
    {
        var reclaimed = new Dictionary<string, long>();
        await foreach (var key in ScanKeysAsync($"{ProcessingPrefix}:*").ConfigureAwait(false))
        {
            var pod = ((string)key!)[(ProcessingPrefix.Length + 1)..];
            if (pod == PodName)
            {
                continue;
            }
            var heartbeat = MuttKeys.Heartbeat(HeartbeatPrefix, pod);
            var moved = (long)await Db.ScriptEvaluateAsync(JanitorScript, [key, SourceQueue, heartbeat]).ConfigureAwait(false);
            if (moved > 0)
            {
                reclaimed[pod] = moved;
            }
        }
        return reclaimed;
    }

    /// <summary>SCAN (never KEYS) of the primary, a page at a time without blocking a thread.</summary>
    private async IAsyncEnumerable<RedisKey> ScanKeysAsync(string pattern)
    {
        foreach (var endpoint in _redis.GetEndPoints())
        {
            var server = _redis.GetServer(endpoint);
            if (!server.IsConnected || server.IsReplica)
            {
                continue;
            }
            await foreach (var key in server.KeysAsync(pattern: pattern, pageSize: 500).ConfigureAwait(false))
            {
                yield return key;
            }
        }
    }
}

/// <summary>Loads embedded Lua scripts: the shared ones in Mutt.Core (Redis/Scripts/*.lua), a single service's in that service.</summary>
public static class LuaScripts
{
    /// <summary>A script embedded in Mutt.Core (<c>Redis/Scripts/</c>).</summary>
    public static string Load(string name) => Load(typeof(LuaScripts).Assembly, name);

    /// <summary>A script embedded in the assembly of the service that alone runs it (e.g. the Forwarder's circuit breaker).</summary>
    public static string Load(System.Reflection.Assembly assembly, string name)
    {
        var resource = assembly.GetManifestResourceNames().Single(n => n.EndsWith("." + name, StringComparison.Ordinal));
        using var stream = assembly.GetManifestResourceStream(resource)!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
