using Mutt.Core.Redis;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Mutt.Core.Clients;

/// <summary>
/// Keeps a multiplexer's idea of the primary true after a failover. StackExchange.Redis reads a
/// server's role when it connects and when it reconfigures. A restarted old master answers as a
/// primary for its first seconds, until Sentinel makes it a replica of the new one, and the
/// library can keep it marked primary: writes then meet <c>READONLY</c> and /health names the
/// wrong master (seen in SentinelSystemTests, where it lasted minutes). So, wherever a
/// failover is possible (Sentinel, or several data nodes), a <c>READONLY</c> reply, or a
/// <c>ROLE</c> check every <see cref="Interval"/> that finds the server writes go to is not a
/// primary, makes the library re-read every server's role, at most once per second.
/// </summary>
public sealed class RedisPrimaryGuard : IDisposable
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);

    private readonly IConnectionMultiplexer _multiplexer;
    private readonly ILogger _logger;
    private readonly Timer _timer;
    private long _lastReconfigure = -1; // Environment.TickCount64 of the last one; -1: none yet
    private int _checking;

    public RedisPrimaryGuard(IConnectionMultiplexer multiplexer, ILogger logger)
    {
        _multiplexer = multiplexer;
        _logger = logger;
        multiplexer.ErrorMessage += OnErrorMessage;
        _timer = new Timer(_ => _ = CheckAsync(), null, Interval, Interval);
    }

    /// <summary>Times the library was made to re-read the servers' roles (tests, operators).</summary>
    public int Reconfigurations { get; private set; }

    /// <summary>A failover can move the primary: Sentinel, or more than one data node.</summary>
    public static bool IsNeeded(ConfigurationOptions options) =>
        !string.IsNullOrEmpty(options.ServiceName) || options.EndPoints.Count > 1;

    private void OnErrorMessage(object? sender, RedisErrorEventArgs e)
    {
        if (e.Message.StartsWith("READONLY", StringComparison.Ordinal))
        {
            _ = Task.Run(() => ReconfigureAsync($"{RedisTopologyHealthCheck.Format(e.EndPoint)} answered READONLY"));
        }
    }

    /// <summary>Asks the server writes go to now for its role; re-reads every role when it is not a primary.</summary>
    public async Task CheckAsync()
    {
        if (Interlocked.Exchange(ref _checking, 1) == 1)
        {
            return;
        }
        try
        {
            var primary = _multiplexer.GetDatabase().IdentifyEndpoint(flags: CommandFlags.DemandMaster);
            if (primary is null || _multiplexer.GetServer(primary) is not { IsConnected: true } server)
            {
                return; // no primary known: the library is reconnecting or asking Sentinel already
            }
            if (await server.RoleAsync().ConfigureAwait(false) is not Role.Master)
            {
                await ReconfigureAsync($"{RedisTopologyHealthCheck.Format(primary)}, where writes go, is not a primary").ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (RedisFaults.IsTransient(ex) || ex is ObjectDisposedException)
        {
            // The server went away mid-check: the library's own reconnect re-reads its role.
        }
        finally
        {
            Volatile.Write(ref _checking, 0);
        }
    }

    private async Task ReconfigureAsync(string cause)
    {
        var now = Environment.TickCount64;
        var last = Interlocked.Read(ref _lastReconfigure);
        if ((last >= 0 && now - last < 1000) || Interlocked.CompareExchange(ref _lastReconfigure, now, last) != last)
        {
            return;
        }
        Reconfigurations++;
        _logger.LogWarning("Redis: {Cause}; re-reading every server's role", cause);
        try
        {
            await _multiplexer.ConfigureAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (RedisFaults.IsTransient(ex) || ex is ObjectDisposedException)
        {
            _logger.LogWarning("Redis: re-reading the servers' roles failed ({Error}); the next check tries again", ex.GetType().Name);
        }
    }

    public void Dispose()
    {
        _multiplexer.ErrorMessage -= OnErrorMessage;
        _timer.Dispose();
    }
}
