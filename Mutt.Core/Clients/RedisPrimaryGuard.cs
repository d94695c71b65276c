using System.Net;
using Microsoft.Extensions.Logging;
using Mutt.Core.Redis;
using StackExchange.Redis;

namespace Mutt.Core.Clients;

/// <summary>
/// Keeps a multiplexer's idea of the primary true after a failover. StackExchange.Redis reads a
/// server's role when it connects and when it reconfigures. When roles change under open
/// connections (a failover; a restarted old master that answers as a primary for its first
/// seconds, until Sentinel makes it a replica), the library can keep writing to a node that is now
/// a replica: writes meet <c>READONLY</c> (CI's Sentinel system test saw it in the Alerter;
/// RedisPrimaryGuardTests shows it lasting the whole deadline without this guard). So, wherever a
/// failover is possible (Sentinel, or several data nodes), a <c>READONLY</c> reply, or a
/// <c>ROLE</c> check of every connected server every <see cref="Interval"/> that finds writes going
/// to a replica, or nowhere while a server is a primary, makes the library re-read every server's
/// role, at most once per second.
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

    /// <summary>
    /// Asks every connected server for its role. When writes go to a server that is not a primary, or
    /// nowhere while a connected server is one (the library can leave the real primary marked
    /// redundant after seeing two), every role is re-read.
    /// </summary>
    public async Task CheckAsync()
    {
        if (Interlocked.Exchange(ref _checking, 1) == 1)
        {
            return;
        }
        try
        {
            var roles = new Dictionary<EndPoint, Role?>();
            foreach (var endpoint in _multiplexer.GetEndPoints())
            {
                var server = _multiplexer.GetServer(endpoint);
                if (server.IsConnected)
                {
                    roles[endpoint] = await RoleOrNullAsync(server).ConfigureAwait(false);
                }
            }
            EndPoint? primary = roles.Where(r => r.Value is Role.Master).Select(r => r.Key).FirstOrDefault();
            var target = _multiplexer.GetDatabase().IdentifyEndpoint(flags: CommandFlags.DemandMaster);
            if (target is not null && roles.GetValueOrDefault(target) is { } role and not Role.Master)
            {
                await ReconfigureAsync($"{RedisTopologyHealthCheck.Format(target)}, where writes go, is a {role.Value}"
                    + (primary is null ? "" : $"; {RedisTopologyHealthCheck.Format(primary)} is the primary")).ConfigureAwait(false);
            }
            else if (target is null && primary is not null)
            {
                await ReconfigureAsync($"writes go nowhere though {RedisTopologyHealthCheck.Format(primary)} is a primary").ConfigureAwait(false);
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

    private static async Task<Role?> RoleOrNullAsync(IServer server)
    {
        try
        {
            return await server.RoleAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (RedisFaults.IsTransient(ex))
        {
            return null; // that one went away mid-check; the others still count
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
