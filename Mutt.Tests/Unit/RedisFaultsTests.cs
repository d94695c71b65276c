using Mutt.Core.Redis;
using StackExchange.Redis;

namespace Mutt.Tests.Unit;

/// <summary>
/// <see cref="RedisFaults.IsTransient"/>: what every Redis caller rides out (retry, 503, keep the item)
/// instead of crashing, and what it must not swallow (its own cancellation, programming errors).
/// </summary>
[Trait("Category", "Unit")]
public sealed class RedisFaultsTests
{
    [Fact]
    public void Outages_unroutable_commands_and_cancellations_by_the_library_are_transient()
    {
        Assert.True(RedisFaults.IsTransient(new RedisConnectionException(ConnectionFailureType.SocketClosed, "socket closed")));
        Assert.True(RedisFaults.IsTransient(new RedisServerException("READONLY You can't write against a read only replica.")));
        Assert.True(RedisFaults.IsTransient(new RedisTimeoutException("timeout", CommandStatus.Sent)));
        Assert.True(RedisFaults.IsTransient(new RedisCommandException("Command cannot be issued to a replica: UNLINK")));
        Assert.True(RedisFaults.IsTransient(new TimeoutException()));
        // What the library raises for commands in flight on a killed connection: no token was cancelled.
        Assert.True(RedisFaults.IsTransient(new TaskCanceledException()));
    }

    [Fact]
    public void A_callers_own_cancellation_and_other_errors_are_not()
    {
        using var shutdown = new CancellationTokenSource();
        shutdown.Cancel();
        Assert.False(RedisFaults.IsTransient(new TaskCanceledException("stopping", null, shutdown.Token)));
        Assert.False(RedisFaults.IsTransient(new OperationCanceledException(shutdown.Token)));
        Assert.False(RedisFaults.IsTransient(new InvalidOperationException()));
        Assert.False(RedisFaults.IsTransient(new FormatException()));
    }
}
