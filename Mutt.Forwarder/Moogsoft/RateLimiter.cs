using Mutt.Core.Redis;
using StackExchange.Redis;

namespace Mutt.Forwarder.Moogsoft;

/// <summary>
/// The cluster-wide sliding-window limiter of spec 002 on one sorted set (e.g.
/// <c>mutt:rate_limit:moog</c>): at most <c>limit</c> acquisitions per window across every
/// replica that shares the key.
/// </summary>
public sealed class RateLimiter(IConnectionMultiplexer redis, string key, string owner)
{
    private static readonly string Script = LuaScripts.Load(typeof(RateLimiter).Assembly, "rate_limit.lua");
    private long _sequence;

    public string Key { get; } = key;

    /// <summary>Tries to take a slot. Returns <see cref="TimeSpan.Zero"/> when taken, else how long until one frees up.</summary>
    public async Task<TimeSpan> TryAcquireAsync(long limit, TimeSpan window)
    {
        // Members must be unique: two acquisitions in the same millisecond would otherwise collapse into one ZADD.
        var member = $"{owner}:{Interlocked.Increment(ref _sequence)}";
        var waitMs = (long)await redis.GetDatabase().ScriptEvaluateAsync(Script, [Key],
            [limit, (long)window.TotalMilliseconds, member]).ConfigureAwait(false);
        return TimeSpan.FromMilliseconds(waitMs);
    }
}
