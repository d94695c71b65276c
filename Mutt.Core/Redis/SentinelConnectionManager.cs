using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace Mutt.Core.Redis;

/// <summary>The master moved: what it was, what it is now.</summary>
public sealed class SentinelMasterChangedEventArgs(EndPoint? previous, EndPoint current) : EventArgs
{
    public EndPoint? Previous { get; } = previous;
    public EndPoint Current { get; } = current;
}

/// <summary>
/// Follows the Redis master that Sentinel names. StackExchange.Redis 1.2.6's <c>serviceName=</c> does not
/// follow a failover, and a plain multiplexer pointed at master and replica together silently lost
/// acknowledged writes in a manual failover. So: ask the Sentinels (a separate multiplexer with
/// <see cref="CommandMap.Sentinel"/>) for the master, connect a multiplexer to that one endpoint only,
/// and swap it when Sentinel publishes <c>+switch-master</c>, when the data connection fails, and on a
/// periodic re-check (a pub/sub message can be missed while a Sentinel restarts).
/// </summary>
/// <remarks>
/// Callers must not cache <see cref="IConnectionMultiplexer"/> or <see cref="IDatabase"/> across
/// operations: call <see cref="GetDatabase"/> per unit of work (it is cheap) or listen to
/// <see cref="MasterChanged"/>. A command already sent to the old master fails loudly (connection error
/// or READONLY); it is never redirected silently.
/// </remarks>
public sealed class SentinelConnectionManager : IAsyncDisposable
{
    public const string SwitchMasterChannel = "+switch-master";

    private readonly SentinelOptions _options;
    private readonly ConnectionMultiplexer _sentinels;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _refreshLock = new(1, 1);
    private readonly CancellationTokenSource _disposing = new();
    private ConnectionMultiplexer _current = null!;
    private EndPoint _master = null!;
    private readonly List<(RedisChannel Channel, Action<RedisChannel, RedisValue> Handler)> _subscriptions = [];
    private Timer? _timer;
    private long _failovers;

    private SentinelConnectionManager(SentinelOptions options, ConnectionMultiplexer sentinels, ILogger logger)
    {
        _options = options;
        _sentinels = sentinels;
        _logger = logger;
    }

    /// <summary>The multiplexer connected to the current master (one endpoint only).</summary>
    public IConnectionMultiplexer Current => Volatile.Read(ref _current);

    /// <summary>The master's address as Sentinel last named it and as verified by ROLE.</summary>
    public EndPoint MasterEndPoint => Volatile.Read(ref _master);

    /// <summary>How many times this manager swapped to a new master.</summary>
    public long Failovers => Interlocked.Read(ref _failovers);

    /// <summary>Raised after the swap, on a thread-pool thread.</summary>
    public event EventHandler<SentinelMasterChangedEventArgs>? MasterChanged;

    public IDatabase GetDatabase(int db = -1) => Current.GetDatabase(db);

    /// <summary>
    /// Subscribes on the current master and again on every new one: a subscription made directly on
    /// <see cref="Current"/> dies with that multiplexer at the next failover.
    /// </summary>
    public async Task SubscribeAsync(RedisChannel channel, Action<RedisChannel, RedisValue> handler)
    {
        await _refreshLock.WaitAsync().ConfigureAwait(false);
        try
        {
            _subscriptions.Add((channel, handler));
            await Current.GetSubscriber().SubscribeAsync(channel, handler).ConfigureAwait(false);
        }
        finally
        {
            _refreshLock.Release();
        }
    }

    /// <summary>
    /// Removes a subscription made with <see cref="SubscribeAsync"/>: the given handler, or every handler of the
    /// channel when <paramref name="handler"/> is null. It is not renewed on later masters.
    /// </summary>
    public async Task UnsubscribeAsync(RedisChannel channel, Action<RedisChannel, RedisValue>? handler = null)
    {
        await _refreshLock.WaitAsync().ConfigureAwait(false);
        try
        {
            _subscriptions.RemoveAll(s => s.Channel == channel && (handler is null || s.Handler == handler));
            await Current.GetSubscriber().UnsubscribeAsync(channel, handler).ConfigureAwait(false);
        }
        finally
        {
            _refreshLock.Release();
        }
    }

    /// <summary>Removes every subscription made with <see cref="SubscribeAsync"/>.</summary>
    public async Task UnsubscribeAllAsync()
    {
        await _refreshLock.WaitAsync().ConfigureAwait(false);
        try
        {
            _subscriptions.Clear();
            await Current.GetSubscriber().UnsubscribeAllAsync().ConfigureAwait(false);
        }
        finally
        {
            _refreshLock.Release();
        }
    }

    public static Task<SentinelConnectionManager> ConnectAsync(string connectionString, ILogger? logger = null,
        CancellationToken cancellationToken = default) =>
        ConnectAsync(SentinelOptions.Parse(connectionString), logger, cancellationToken);

    public static async Task<SentinelConnectionManager> ConnectAsync(SentinelOptions options, ILogger? logger = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var sentinelConfig = new ConfigurationOptions
        {
            CommandMap = CommandMap.Sentinel,
            TieBreaker = "",
            ConfigurationChannel = "",
            AbortOnConnectFail = false,
            ConnectTimeout = (int)options.ConnectTimeout.TotalMilliseconds,
            Password = options.SentinelPassword,
            ClientName = "mutt-sentinel-watch",
        };
        foreach (var endpoint in options.Sentinels)
        {
            sentinelConfig.EndPoints.Add(endpoint);
        }
        var sentinels = await ConnectionMultiplexer.ConnectAsync(sentinelConfig).ConfigureAwait(false);
        var manager = new SentinelConnectionManager(options, sentinels, logger ?? NullLogger.Instance);
        try
        {
            await manager.InitialConnectAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await manager.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return manager;
    }

    private async Task InitialConnectAsync(CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + _options.ConnectTimeout + _options.ConnectTimeout;
        Exception? last = null;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                var master = await AskSentinelsAsync().ConfigureAwait(false);
                if (master is not null)
                {
                    var mux = await ConnectVerifiedMasterAsync(master).ConfigureAwait(false);
                    if (mux is not null)
                    {
                        Install(mux, master);
                        break;
                    }
                }
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException or InvalidOperationException)
            {
                last = ex;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException(
                    $"No Sentinel of {_options} named a reachable master for '{_options.ServiceName}'.", last);
            }
            await Task.Delay(200, cancellationToken).ConfigureAwait(false);
        }

        await _sentinels.GetSubscriber().SubscribeAsync(SwitchMasterChannel, (_, message) =>
        {
            // "<service> <old-ip> <old-port> <new-ip> <new-port>"
            var text = (string?)message ?? "";
            if (text.StartsWith(_options.ServiceName + " ", StringComparison.Ordinal))
            {
                _logger.LogWarning("Sentinel announced {Message}; following the new master", text);
                TriggerRefresh();
            }
        }).ConfigureAwait(false);
        _timer = new Timer(_ => TriggerRefresh(), null, _options.RecheckInterval, _options.RecheckInterval);
    }

    /// <summary>
    /// Asks the Sentinels who the master is and swaps to it when it differs from the current one.
    /// Returns true when a swap happened.
    /// </summary>
    public async Task<bool> RefreshAsync()
    {
        if (_disposing.IsCancellationRequested)
        {
            return false;
        }
        await _refreshLock.WaitAsync().ConfigureAwait(false);
        try
        {
            var master = await AskSentinelsAsync().ConfigureAwait(false);
            // Same address: keep the multiplexer, it reconnects by itself (a dead master stays named until
            // Sentinel promotes someone; dialling it again would only hold the lock for a connect timeout).
            if (master is null || SameEndPoint(master, MasterEndPoint))
            {
                return false;
            }
            var mux = await ConnectVerifiedMasterAsync(master).ConfigureAwait(false);
            if (mux is null)
            {
                return false;
            }
            if (_disposing.IsCancellationRequested)
            {
                await mux.CloseAsync(false).ConfigureAwait(false);
                return false;
            }
            foreach (var (channel, handler) in _subscriptions)
            {
                await mux.GetSubscriber().SubscribeAsync(channel, handler).ConfigureAwait(false);
            }
            var previous = MasterEndPoint;
            var old = Current;
            Install(mux, master);
            Interlocked.Increment(ref _failovers);
            _logger.LogWarning("Redis master changed from {Previous} to {Current}",
                SentinelOptions.Format(previous), SentinelOptions.Format(master));
            ((ConnectionMultiplexer)old).ConnectionFailed -= OnDataConnectionFailed;
            _ = CloseQuietlyAsync((ConnectionMultiplexer)old);
            MasterChanged?.Invoke(this, new SentinelMasterChangedEventArgs(previous, master));
            return true;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
        {
            _logger.LogWarning(ex, "Re-checking the Redis master through Sentinel failed; will retry");
            return false;
        }
        finally
        {
            _refreshLock.Release();
        }
    }

    /// <summary>
    /// Blocks until <paramref name="replicas"/> replicas have every write issued before it on the same
    /// connection (Redis <c>WAIT numreplicas timeout</c>); returns how many did. With the multiplexer's single
    /// connection this covers every earlier write of this process, ours included. Replication is otherwise
    /// asynchronous: a write acknowledged by the master alone is lost if the master dies before shipping it.
    /// </summary>
    public static async Task<long> WaitForReplicasAsync(IDatabase db, int replicas, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentOutOfRangeException.ThrowIfNegative(replicas);
        var result = await db.ExecuteAsync("WAIT", replicas, (long)timeout.TotalMilliseconds).ConfigureAwait(false);
        return (long)result;
    }

    private void TriggerRefresh()
    {
        if (_disposing.IsCancellationRequested)
        {
            return;
        }
        _ = Task.Run(async () =>
        {
            try
            {
                await RefreshAsync().ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                _logger.LogError(ex, "Unexpected error while following the Redis master");
            }
        });
    }

    private void OnDataConnectionFailed(object? sender, ConnectionFailedEventArgs e)
    {
        _logger.LogWarning("Connection to Redis master {Master} failed ({FailureType}); asking Sentinel",
            SentinelOptions.Format(e.EndPoint), e.FailureType);
        TriggerRefresh();
    }

    private void Install(ConnectionMultiplexer mux, EndPoint master)
    {
        mux.ConnectionFailed += OnDataConnectionFailed;
        Volatile.Write(ref _master, master);
        Volatile.Write(ref _current, mux);
    }

    /// <summary>The address most answering Sentinels give (they can disagree for a moment during a failover).</summary>
    private async Task<EndPoint?> AskSentinelsAsync()
    {
        var answers = new List<EndPoint>();
        foreach (var endpoint in _sentinels.GetEndPoints())
        {
            var server = _sentinels.GetServer(endpoint);
            if (!server.IsConnected)
            {
                continue;
            }
            try
            {
                var master = await server.SentinelGetMasterAddressByNameAsync(_options.ServiceName).ConfigureAwait(false);
                if (master is not null)
                {
                    answers.Add(master);
                }
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                _logger.LogDebug(ex, "Sentinel {Sentinel} did not answer", SentinelOptions.Format(endpoint));
            }
        }
        return answers
            .GroupBy(SentinelOptions.Format)
            .OrderByDescending(g => g.Count())
            .Select(g => g.First())
            .FirstOrDefault();
    }

    /// <summary>Connects to <paramref name="master"/> alone and checks it says ROLE master (a Sentinel can be stale).</summary>
    private async Task<ConnectionMultiplexer?> ConnectVerifiedMasterAsync(EndPoint master)
    {
        var config = string.IsNullOrWhiteSpace(_options.RedisOptions)
            ? new ConfigurationOptions()
            : ConfigurationOptions.Parse(_options.RedisOptions);
        config.EndPoints.Clear();
        config.EndPoints.Add(master);
        config.Password = _options.Password ?? config.Password;
        config.AbortOnConnectFail = false;
        config.TieBreaker = "";
        config.ConfigurationChannel = "";
        config.ServiceName = null;
        config.ConnectTimeout = (int)_options.ConnectTimeout.TotalMilliseconds;
        // As the plain client (RedisConnectionManager.BaseOptions): a loaded box must not turn slow answers into errors.
        config.SyncTimeout = Math.Max(config.SyncTimeout, 5000);
        var mux = await ConnectionMultiplexer.ConnectAsync(config).ConfigureAwait(false);
        mux.PreserveAsyncOrder = false;
        try
        {
            if (mux.IsConnected)
            {
                var role = (RedisResult[])(await mux.GetDatabase().ExecuteAsync("ROLE").ConfigureAwait(false))!;
                if (role.Length > 0 && (string?)role[0] == "master")
                {
                    return mux;
                }
                _logger.LogWarning("Sentinel named {Master} as master but it reports role {Role}; waiting",
                    SentinelOptions.Format(master), role.Length > 0 ? (string?)role[0] : "?");
            }
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            _logger.LogDebug(ex, "Candidate master {Master} is not usable yet", SentinelOptions.Format(master));
        }
        await mux.CloseAsync(false).ConfigureAwait(false);
        mux.Dispose();
        return null;
    }

    private static bool SameEndPoint(EndPoint? a, EndPoint? b) =>
        a is not null && b is not null && SentinelOptions.Format(a) == SentinelOptions.Format(b);

    private async Task CloseQuietlyAsync(ConnectionMultiplexer mux)
    {
        try
        {
            await mux.CloseAsync(allowCommandsToComplete: false).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            _logger.LogDebug(ex, "Closing the old master connection failed");
        }
        finally
        {
            mux.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposing.IsCancellationRequested)
        {
            return;
        }
        _disposing.Cancel();
        if (_timer is not null)
        {
            await _timer.DisposeAsync().ConfigureAwait(false);
        }
        await _refreshLock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_current is not null)
            {
                _current.ConnectionFailed -= OnDataConnectionFailed;
                await CloseQuietlyAsync(_current).ConfigureAwait(false);
            }
            await _sentinels.CloseAsync(false).ConfigureAwait(false);
            _sentinels.Dispose();
        }
        finally
        {
            _refreshLock.Release();
        }
    }
}
