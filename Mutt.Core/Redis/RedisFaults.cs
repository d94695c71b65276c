using StackExchange.Redis;

namespace Mutt.Core.Redis;

/// <summary>The Redis failures a caller rides out (retry later, answer 503, keep the item) instead of crashing on.</summary>
public static class RedisFaults
{
    /// <summary>
    /// A connection or server error, a timeout, a command the library cannot route right now, or one
    /// it cancelled itself. <see cref="RedisCommandException"/> is not a <see cref="RedisException"/>:
    /// during a failover it says "Command cannot be issued to a replica" while no primary is known yet.
    /// When a connection is killed under commands in flight, the library can cancel them: a
    /// <see cref="TaskCanceledException"/> whose token nobody cancelled (a caller's own cancellation,
    /// e.g. at shutdown, carries its token and is not transient).
    /// </summary>
    public static bool IsTransient(Exception exception) =>
        exception is RedisException or RedisCommandException or TimeoutException
            or TaskCanceledException { CancellationToken.IsCancellationRequested: false };
}
