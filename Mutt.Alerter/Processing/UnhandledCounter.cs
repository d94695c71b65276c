using System.Text.Json;
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
    /// Adds the batch's unhandled counts per host to <paramref name="database"/> (a transaction or the
    /// database itself). <paramref name="metaAlertTemplate"/> is <see cref="BatchPlanner.MetaAlertTemplate"/>:
    /// the script fills in the host of a meta-alert that fires. The task yields, per host in order,
    /// whether this call fired the meta-alert.
    /// </summary>
    public Task<RedisResult> AddAsync(IDatabaseAsync database, IReadOnlyList<(string Hostname, int Count)> counts, string metaAlertTemplate)
    {
        var keys = new RedisKey[counts.Count * 2];
        var args = new RedisValue[4 + counts.Count * 2];
        args[0] = threshold;
        args[1] = (long)expiry.TotalSeconds;
        args[2] = alertQueue;
        args[3] = metaAlertTemplate;
        for (var i = 0; i < counts.Count; i++)
        {
            var hostname = counts[i].Hostname;
            keys[2 * i] = CounterKey(hostname);
            keys[2 * i + 1] = TriggeredKey(hostname);
            args[4 + 2 * i] = counts[i].Count;
            // As the serializer would write it inside a JSON string (the same default encoder).
            args[5 + 2 * i] = JsonEncodedText.Encode(hostname).Value;
        }
        return database.ScriptEvaluateAsync(Script, keys, args);
    }
}
