using Mutt.Core.Redis;
using StackExchange.Redis;

namespace Mutt.Alerter.Processing;

/// <summary>
/// The unhandled-event counter of spec 002: per host, <c>{prefix}:{hostname}</c> counts events
/// no rule matched (expiring after the window), and when it reaches the threshold it is renamed
/// to <c>{prefix}:triggered:{hostname}</c> and a meta-alert is pushed, all in one Lua call, so
/// exactly one meta-alert fires per host and window however many Alerters run.
/// </summary>
public sealed class UnhandledCounter(string prefix, int threshold, TimeSpan expiry, string alertQueue)
{
    private static readonly string Script = LuaScripts.Load(typeof(UnhandledCounter).Assembly, "unhandled.lua");

    public string CounterKey(string hostname) => $"{prefix}:{hostname}";
    public string TriggeredKey(string hostname) => $"{prefix}:triggered:{hostname}";

    /// <summary>
    /// Adds the batch's unhandled counts (host → (count, meta-alert JSON)) to <paramref name="database"/>
    /// (a transaction or the database itself). The task yields, per host in order, whether this
    /// call fired the meta-alert.
    /// </summary>
    public Task<RedisResult> AddAsync(IDatabaseAsync database, IReadOnlyList<(string Hostname, int Count, string MetaAlertJson)> counts)
    {
        var keys = new RedisKey[counts.Count * 2];
        var args = new RedisValue[3 + counts.Count * 2];
        args[0] = threshold;
        args[1] = (long)expiry.TotalSeconds;
        args[2] = alertQueue;
        for (var i = 0; i < counts.Count; i++)
        {
            keys[2 * i] = CounterKey(counts[i].Hostname);
            keys[2 * i + 1] = TriggeredKey(counts[i].Hostname);
            args[3 + 2 * i] = counts[i].Count;
            args[4 + 2 * i] = counts[i].MetaAlertJson;
        }
        return database.ScriptEvaluateAsync(Script, keys, args);
    }
}
