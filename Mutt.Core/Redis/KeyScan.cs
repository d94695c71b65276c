using StackExchange.Redis;

namespace Mutt.Core.Redis;

/// <summary>The one keyspace walk MUTT still does (finding keys of an older version): SCAN, never KEYS.</summary>
public static class KeyScan
{
    /// <summary>
    /// Adds to the registry set named <paramref name="prefix"/> itself the name after <c>{prefix}:</c>
    /// of every key under it: what a version before the registries wrote without registering
    /// (processing lists, flow-counter hashes). Returns how many keys were found.
    /// </summary>
    public static async Task<int> RegisterExistingAsync(IConnectionMultiplexer redis, string prefix, int pageSize = 500)
    {
        var names = new List<RedisValue>();
        await foreach (var key in OnPrimariesAsync(redis, prefix + ":*", pageSize).ConfigureAwait(false))
        {
            names.Add(((string)key!)[(prefix.Length + 1)..]);
        }
        if (names.Count > 0)
        {
            await redis.GetDatabase().SetAddAsync(prefix, [.. names]).ConfigureAwait(false);
        }
        return names.Count;
    }

    /// <summary>The keys matching <paramref name="pattern"/> on the connected primaries, a page at a time without blocking a thread.</summary>
    public static async IAsyncEnumerable<RedisKey> OnPrimariesAsync(IConnectionMultiplexer redis, string pattern, int pageSize = 500)
    {
        foreach (var endpoint in redis.GetEndPoints())
        {
            var server = redis.GetServer(endpoint);
            if (!server.IsConnected || server.IsReplica)
            {
                continue;
            }
            await foreach (var key in server.KeysAsync(pattern: pattern, pageSize: pageSize).ConfigureAwait(false))
            {
                yield return key;
            }
        }
    }
}
