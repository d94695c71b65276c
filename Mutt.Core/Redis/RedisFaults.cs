using StackExchange.Redis;

namespace Mutt.Core.Redis;

/// <summary>The Redis failures a caller rides out (retry later, answer 503, keep the item) instead of crashing on.</summary>
public static class RedisFaults
{
    /// <summary>
    /// A connection or server error, a timeout, or a command the library cannot route right now:
    /// <see cref="RedisCommandException"/> is not a <see cref="RedisException"/>, and during a
    /// failover it says "Command cannot be issued to a replica" while no primary is known yet.
    /// </summary>
    public static bool IsTransient(Exception exception) =>
        exception is RedisException or RedisCommandException or TimeoutException;
}
