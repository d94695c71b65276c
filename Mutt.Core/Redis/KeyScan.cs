using StackExchange.Redis;

namespace Mutt.Core.Redis;

/// <summary>The one keyspace walk MUTT still does (finding keys of an older version): SCAN, never KEYS.</summary>
public static class KeyScan
{
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
