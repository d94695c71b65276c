using Mutt.Core.Redis;
using Mutt.Core.Noise;
using StackExchange.Redis;

namespace Mutt.Alerter.Processing;

/// <summary>One event to deduplicate: its identity (<see cref="NoiseKeys.DedupHash"/>), correlation id and window.</summary>
public readonly record struct DedupRequest(string Hash, string CorrelationId, int WindowSeconds);

/// <summary><see cref="Sequence"/> 1 = the first of its window (reporting <see cref="Carried"/> earlier repeats); n > 1 = repeat n - 1.</summary>
public readonly record struct DedupOutcome(long Sequence, long Carried)
{
    public bool IsFirst => Sequence <= 1;
    public long RepeatNumber => Sequence - 1;
}

/// <summary>One opening or closing event for a flapping state.</summary>
public readonly record struct FlapRequest(string StateKey, string CorrelationId, FlapKind Kind, int WindowSeconds, int Threshold);

public enum FlapCode { NotFlapping = 0, StartedFlapping = 1, Flapping = 2 }

public readonly record struct FlapOutcome(FlapCode Code, long Transitions);

/// <summary>
/// The batch calls of deduplication (<c>dedup.lua</c>) and flapping detection (<c>flapping.lua</c>,
/// <c>flapping_sweep.lua</c>): one script call per batch each, so the per-event cost is a few
/// Redis operations inside one round trip. The scripts name their invariants.
/// </summary>
public static class NoiseScripts
{
    private static readonly string DedupScript = LuaScripts.Load(typeof(NoiseScripts).Assembly, "dedup.lua");
    private static readonly string FlappingScript = LuaScripts.Load(typeof(NoiseScripts).Assembly, "flapping.lua");
    private static readonly string SweepScript = LuaScripts.Load(typeof(NoiseScripts).Assembly, "flapping_sweep.lua");
    private static readonly string ArmScript = LuaScripts.Load(typeof(NoiseScripts).Assembly, "flapping_arm.lua");

    public static async Task<DedupOutcome[]> DeduplicateAsync(IDatabaseAsync database, IReadOnlyList<DedupRequest> events)
    {
        if (events.Count == 0)
        {
            return [];
        }
        var keys = new RedisKey[events.Count * 2];
        var args = new RedisValue[1 + events.Count * 2];
        args[0] = (long)NoiseKeys.RepeatsRetention.TotalSeconds;
        for (var i = 0; i < events.Count; i++)
        {
            keys[2 * i] = NoiseKeys.DedupWindow(events[i].Hash);
            keys[2 * i + 1] = NoiseKeys.DedupRepeats(events[i].Hash);
            args[1 + 2 * i] = events[i].CorrelationId;
            args[2 + 2 * i] = Math.Max(1, events[i].WindowSeconds);
        }
        var result = (long[])(await database.ScriptEvaluateAsync(DedupScript, keys, args).ConfigureAwait(false))!;
        var outcomes = new DedupOutcome[events.Count];
        for (var i = 0; i < outcomes.Length; i++)
        {
            outcomes[i] = new DedupOutcome(result[2 * i], result[2 * i + 1]);
        }
        return outcomes;
    }

    public static async Task<FlapOutcome[]> ObserveFlapsAsync(IDatabaseAsync database, IReadOnlyList<FlapRequest> events)
    {
        if (events.Count == 0)
        {
            return [];
        }
        var keys = new RedisKey[1 + events.Count * 2];
        var args = new RedisValue[1 + events.Count * 4];
        keys[0] = NoiseKeys.FlappingActive;
        args[0] = events.Count;
        for (var i = 0; i < events.Count; i++)
        {
            var e = events[i];
            keys[1 + 2 * i] = e.StateKey;
            keys[2 + 2 * i] = NoiseKeys.FlappingTransitions(e.StateKey);
            var b = 1 + 4 * i;
            args[b] = e.CorrelationId;
            args[b + 1] = e.Kind == FlapKind.Open ? "o" : "c";
            args[b + 2] = (long)e.WindowSeconds * 1000;
            args[b + 3] = e.Threshold;
        }
        var result = (long[])(await database.ScriptEvaluateAsync(FlappingScript, keys, args).ConfigureAwait(false))!;
        var outcomes = new FlapOutcome[events.Count];
        for (var i = 0; i < outcomes.Length; i++)
        {
            outcomes[i] = new FlapOutcome((FlapCode)result[2 * i], result[2 * i + 1]);
        }
        return outcomes;
    }

    /// <summary>Stores an episode's clear, queued in the completion transaction of the batch whose event started it (<c>flapping_arm.lua</c>).</summary>
    public static Task<RedisResult> ArmFlappingClearAsync(IDatabaseAsync transaction, string stateKey, string startedBy, string clearJson) =>
        transaction.ScriptEvaluateAsync(ArmScript, [stateKey], [startedBy, clearJson]);

    /// <summary>Pushes the clears of quiet flapping states; -1 when another Alerter holds the sweep.</summary>
    public static async Task<long> SweepFlappingAsync(IDatabaseAsync database, string alertQueue, string pod, TimeSpan lockTtl, int maxStates = 500) =>
        (long)(await database.ScriptEvaluateAsync(SweepScript,
            [NoiseKeys.FlappingActive, alertQueue, NoiseKeys.FlappingSweepLock],
            [pod, (long)lockTtl.TotalMilliseconds, maxStates, NoiseKeys.FlappingStatePrefix, NoiseKeys.FlappingTransitionsPrefix]).ConfigureAwait(false));
}
