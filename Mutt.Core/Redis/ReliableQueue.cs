using System.Reflection;
using StackExchange.Redis;

namespace Mutt.Core.Redis;

/// <summary>
/// At-least-once consumption of a Redis list by one worker (the pod), shared by the Alerter
/// and the Forwarder. A multiplexer shares one connection among all callers, so blocking pops
/// (BLMOVE) are not an option; and LMOVE moves one item per round trip. So a batch is moved
/// atomically by Lua from the queue into the worker's own processing list in one round trip; the
/// worker acks in the transaction that also pushes its outputs, and a janitor returns the lists of
/// workers whose heartbeat expired (found through the registry the take keeps, not a keyspace
/// SCAN). The life cycle around these steps is <see cref="ReliableConsumer"/>.
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
        RegistryKey = MuttKeys.ProcessingRegistry(processingPrefix);
        HeartbeatKey = MuttKeys.Heartbeat(heartbeatPrefix, podName);
    }

    public string SourceQueue { get; }
    public string ProcessingPrefix { get; }
    public string HeartbeatPrefix { get; }
    public string PodName { get; }
    public string ProcessingKey { get; }
    public string HeartbeatKey { get; }

    /// <summary>The set of pods with a processing list of this kind (<see cref="MuttKeys.ProcessingRegistry"/>).</summary>
    public string RegistryKey { get; }

    /// <summary>How often the janitor also SCANs for processing lists missing from the registry (made by a version before it).</summary>
    public static readonly TimeSpan FullScanInterval = TimeSpan.FromMinutes(10);

    private long _lastFullScan = -1;

    private IDatabase Db => _redis.GetDatabase();

    /// <summary>Moves up to <paramref name="max"/> items into this worker's processing list and returns them, oldest first.</summary>
    public async Task<RedisValue[]> TakeBatchAsync(int max)
    {
        var result = await Db.ScriptEvaluateAsync(BatchMoveScript, [SourceQueue, ProcessingKey, RegistryKey], [max, PodName]).ConfigureAwait(false);
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
    /// The janitor: returns the items of every other pod in <see cref="RegistryKey"/> whose heartbeat
    /// has expired, and drops such pods from the registry. At the first pass and every
    /// <see cref="FullScanInterval"/> (or when <paramref name="fullScan"/>) it first SCANs (never KEYS)
    /// for lists the registry lacks: those of pods of a version before it, during an upgrade.
    /// Returns what was reclaimed per pod.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, long>> ReclaimOrphansAsync(bool fullScan = false)
    {
        var now = Environment.TickCount64;
        if (fullScan || _lastFullScan < 0 || now - _lastFullScan >= (long)FullScanInterval.TotalMilliseconds)
        {
            await KeyScan.RegisterExistingAsync(_redis, ProcessingPrefix).ConfigureAwait(false);
            _lastFullScan = now;
        }
        var reclaimed = new Dictionary<string, long>();
        foreach (var member in await Db.SetMembersAsync(RegistryKey).ConfigureAwait(false))
        {
            var pod = (string)member!;
            if (pod == PodName)
            {
                continue;
            }
            var moved = (long)await Db.ScriptEvaluateAsync(JanitorScript,
                [MuttKeys.Processing(ProcessingPrefix, pod), SourceQueue, MuttKeys.Heartbeat(HeartbeatPrefix, pod), RegistryKey], [pod]).ConfigureAwait(false);
            if (moved > 0)
            {
                reclaimed[pod] = moved;
            }
        }
        return reclaimed;
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
