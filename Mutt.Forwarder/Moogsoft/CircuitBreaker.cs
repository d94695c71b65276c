using Mutt.Core.Redis;
using StackExchange.Redis;

namespace Mutt.Forwarder.Moogsoft;

public enum CircuitState
{
    Closed = 0,
    Open = 1,
    HalfOpen = 2,
}

public enum CircuitDecision
{
    Send = 0,
    Blocked = 1,
    Probe = 2,
}

/// <summary>
/// The circuit breaker state shared by every Forwarder replica in Redis
/// (<c>mutt:circuit:moog:state</c>, <c>:failures</c>, <c>:opened_at</c> in epoch seconds, plus
/// <c>:probe</c>, the lease of the single HALF_OPEN probe). The transitions (spec 004) live only in
/// circuit_acquire.lua and circuit_record.lua: CLOSED → OPEN after <c>threshold</c> consecutive
/// failures; OPEN blocks for the open duration, then becomes HALF_OPEN and lets exactly one probe
/// through; the probe's success closes the circuit, its failure reopens it.
/// </summary>
public sealed class CircuitBreaker(IConnectionMultiplexer redis, int failureThreshold, TimeSpan openDuration, TimeSpan probeLease)
{
    private static readonly string AcquireScript = LuaScripts.Load(typeof(CircuitBreaker).Assembly, "circuit_acquire.lua");
    private static readonly string RecordScript = LuaScripts.Load(typeof(CircuitBreaker).Assembly, "circuit_record.lua");
    private static readonly RedisKey[] Keys = [MuttKeys.MoogCircuitState, MuttKeys.MoogCircuitFailures, MuttKeys.MoogCircuitOpenedAt, MuttKeys.MoogCircuitProbe];
    private readonly string _token = Guid.NewGuid().ToString("N");

    /// <summary>The last state this replica saw (for the mutt_moog_circuit_state gauge).</summary>
    public CircuitState LastSeen { get; private set; }

    public async Task<(CircuitDecision Decision, CircuitState State, long Failures)> AcquireAsync()
    {
        var result = (RedisResult[])(await redis.GetDatabase().ScriptEvaluateAsync(AcquireScript, Keys,
            [(long)openDuration.TotalMilliseconds, (long)probeLease.TotalMilliseconds, _token]).ConfigureAwait(false))!;
        var state = Parse((string?)result[1]);
        LastSeen = state;
        return ((CircuitDecision)(int)result[0], state, (long)result[2]);
    }

    public async Task<CircuitState> RecordAsync(bool success)
    {
        var result = await redis.GetDatabase().ScriptEvaluateAsync(RecordScript, Keys, [success ? "1" : "0", failureThreshold]).ConfigureAwait(false);
        LastSeen = Parse((string?)result);
        return LastSeen;
    }

    public async Task<CircuitState> ReadStateAsync()
    {
        LastSeen = Parse(await redis.GetDatabase().StringGetAsync(MuttKeys.MoogCircuitState).ConfigureAwait(false));
        return LastSeen;
    }

    /// <summary>
    /// Is the circuit OPEN with its open period still running (by the Redis server's clock)?
    /// Read-only: the HALF_OPEN probe itself is claimed atomically by <see cref="AcquireAsync"/>.
    /// </summary>
    public async Task<bool> IsHeldOpenAsync()
    {
        if (await ReadStateAsync().ConfigureAwait(false) != CircuitState.Open)
        {
            return false;
        }
        var openedAt = (string?)await redis.GetDatabase().StringGetAsync(MuttKeys.MoogCircuitOpenedAt).ConfigureAwait(false);
        if (!double.TryParse(openedAt, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var seconds))
        {
            return false;
        }
        var time = (await redis.GetServer(redis.GetEndPoints()[0]).TimeAsync().ConfigureAwait(false)).ToUniversalTime();
        return (time - DateTime.UnixEpoch).TotalSeconds - seconds < openDuration.TotalSeconds;
    }

    public static CircuitState Parse(string? value) => value switch
    {
        "OPEN" => CircuitState.Open,
        "HALF_OPEN" => CircuitState.HalfOpen,
        _ => CircuitState.Closed,
    };

    public static string Name(CircuitState state) => state switch
    {
        CircuitState.Open => "OPEN",
        CircuitState.HalfOpen => "HALF_OPEN",
        _ => "CLOSED",
    };
}
