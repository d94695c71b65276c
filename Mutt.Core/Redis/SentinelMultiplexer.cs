using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace Mutt.Core.Redis;

/// <summary>
/// An <see cref="IConnectionMultiplexer"/> that always talks to the master Sentinel names: every member
/// delegates, at call time, to <see cref="SentinelConnectionManager.Current"/>. Services keep one singleton
/// of it (as they keep the plain multiplexer) and follow a failover without knowing: their next
/// <see cref="GetDatabase"/> reaches the new master. Pub/sub made through <see cref="GetSubscriber"/> is
/// remembered and renewed on every new master; events are re-attached to each new multiplexer and raised
/// with this object as sender. A command already sent to the old master fails loudly, as on any reconnect.
/// </summary>
public sealed class SentinelMultiplexer : IConnectionMultiplexer, IAsyncDisposable
{
    private readonly object _gate = new();
    private IConnectionMultiplexer? _attached;
    private IProfiler? _profiler;
    private bool? _preserveAsyncOrder;
    private bool? _includeDetailInExceptions;
    private int? _stormLogThreshold;

    public SentinelMultiplexer(SentinelConnectionManager manager)
    {
        ArgumentNullException.ThrowIfNull(manager);
        Manager = manager;
        Attach(manager.Current);
        manager.MasterChanged += (_, _) => Attach(manager.Current);
    }

    /// <summary>The manager it follows (master address, failover count, <see cref="SentinelConnectionManager.RefreshAsync"/>).</summary>
    public SentinelConnectionManager Manager { get; }

    /// <summary>The master's address now, as Sentinel named it and ROLE confirmed.</summary>
    public EndPoint MasterEndPoint => Manager.MasterEndPoint;

    /// <summary>The master's address as <c>host:port</c>.</summary>
    public string MasterAddress => SentinelOptions.Format(Manager.MasterEndPoint);

    private IConnectionMultiplexer Current => Manager.Current;

    /// <summary>
    /// Connects through the Sentinels, retrying while none of them names a reachable master (Redis may still
    /// be starting), and gives up after <paramref name="giveUpAfter"/> with the last error.
    /// </summary>
    public static SentinelMultiplexer Connect(SentinelOptions options, ILogger? logger = null, TimeSpan? giveUpAfter = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        logger ??= NullLogger.Instance;
        var deadline = DateTime.UtcNow + (giveUpAfter ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            try
            {
                var manager = SentinelConnectionManager.ConnectAsync(options, logger).GetAwaiter().GetResult();
                logger.LogInformation("Redis through Sentinel {Sentinels}: master {Master}", options, SentinelOptions.Format(manager.MasterEndPoint));
                return new SentinelMultiplexer(manager);
            }
            catch (Exception ex) when (ex is TimeoutException or RedisException && DateTime.UtcNow < deadline)
            {
                logger.LogWarning("No master reachable through Sentinel {Sentinels} yet ({Error}); retrying", options, ex.Message);
            }
        }
    }

    // ---- events: forwarded from whichever multiplexer is current ----

    public event EventHandler<RedisErrorEventArgs>? ErrorMessage;
    public event EventHandler<ConnectionFailedEventArgs>? ConnectionFailed;
    public event EventHandler<InternalErrorEventArgs>? InternalError;
    public event EventHandler<ConnectionFailedEventArgs>? ConnectionRestored;
    public event EventHandler<EndPointEventArgs>? ConfigurationChanged;
    public event EventHandler<EndPointEventArgs>? ConfigurationChangedBroadcast;
    public event EventHandler<HashSlotMovedEventArgs>? HashSlotMoved;

    private void OnErrorMessage(object? sender, RedisErrorEventArgs e) => ErrorMessage?.Invoke(this, e);
    private void OnConnectionFailed(object? sender, ConnectionFailedEventArgs e) => ConnectionFailed?.Invoke(this, e);
    private void OnInternalError(object? sender, InternalErrorEventArgs e) => InternalError?.Invoke(this, e);
    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e) => ConnectionRestored?.Invoke(this, e);
    private void OnConfigurationChanged(object? sender, EndPointEventArgs e) => ConfigurationChanged?.Invoke(this, e);
    private void OnConfigurationChangedBroadcast(object? sender, EndPointEventArgs e) => ConfigurationChangedBroadcast?.Invoke(this, e);
    private void OnHashSlotMoved(object? sender, HashSlotMovedEventArgs e) => HashSlotMoved?.Invoke(this, e);

    /// <summary>Moves the event forwarding and the settings made on this object to <paramref name="next"/>.</summary>
    private void Attach(IConnectionMultiplexer next)
    {
        lock (_gate)
        {
            if (ReferenceEquals(_attached, next))
            {
                return;
            }
            if (_attached is not null)
            {
                _attached.ErrorMessage -= OnErrorMessage;
                _attached.ConnectionFailed -= OnConnectionFailed;
                _attached.InternalError -= OnInternalError;
                _attached.ConnectionRestored -= OnConnectionRestored;
                _attached.ConfigurationChanged -= OnConfigurationChanged;
                _attached.ConfigurationChangedBroadcast -= OnConfigurationChangedBroadcast;
                _attached.HashSlotMoved -= OnHashSlotMoved;
            }
            next.ErrorMessage += OnErrorMessage;
            next.ConnectionFailed += OnConnectionFailed;
            next.InternalError += OnInternalError;
            next.ConnectionRestored += OnConnectionRestored;
            next.ConfigurationChanged += OnConfigurationChanged;
            next.ConfigurationChangedBroadcast += OnConfigurationChangedBroadcast;
            next.HashSlotMoved += OnHashSlotMoved;
            if (_preserveAsyncOrder is { } preserve)
            {
                next.PreserveAsyncOrder = preserve;
            }
            if (_includeDetailInExceptions is { } detail)
            {
                next.IncludeDetailInExceptions = detail;
            }
            if (_stormLogThreshold is { } storm)
            {
                next.StormLogThreshold = storm;
            }
            if (_profiler is not null)
            {
                next.RegisterProfiler(_profiler);
            }
            _attached = next;
        }
    }

    // ---- properties ----

    public string ClientName => Current.ClientName;
    public string Configuration => Current.Configuration;
    public int TimeoutMilliseconds => Current.TimeoutMilliseconds;
    public long OperationCount => Current.OperationCount;
    public bool IsConnected => Current.IsConnected;

    public bool PreserveAsyncOrder
    {
        get => Current.PreserveAsyncOrder;
        set
        {
            lock (_gate)
            {
                _preserveAsyncOrder = value;
                Current.PreserveAsyncOrder = value;
            }
        }
    }

    public bool IncludeDetailInExceptions
    {
        get => Current.IncludeDetailInExceptions;
        set
        {
            lock (_gate)
            {
                _includeDetailInExceptions = value;
                Current.IncludeDetailInExceptions = value;
            }
        }
    }

    public int StormLogThreshold
    {
        get => Current.StormLogThreshold;
        set
        {
            lock (_gate)
            {
                _stormLogThreshold = value;
                Current.StormLogThreshold = value;
            }
        }
    }

    // ---- data access: resolved per call, so the caller reaches the master of the moment ----

    public IDatabase GetDatabase(int db = -1, object? asyncState = null) => Current.GetDatabase(db, asyncState);
    public ISubscriber GetSubscriber(object? asyncState = null) => new SentinelSubscriber(this, asyncState);
    public IServer GetServer(string host, int port, object? asyncState = null) => Current.GetServer(host, port, asyncState);
    public IServer GetServer(string hostAndPort, object? asyncState = null) => Current.GetServer(hostAndPort, asyncState);
    public IServer GetServer(IPAddress host, int port) => Current.GetServer(host, port);
    public IServer GetServer(EndPoint endpoint, object? asyncState = null) => Current.GetServer(endpoint, asyncState);
    public EndPoint[] GetEndPoints(bool configuredOnly = false) => Current.GetEndPoints(configuredOnly);
    public int HashSlot(RedisKey key) => Current.HashSlot(key);

    // ---- profiling ----

    public void RegisterProfiler(IProfiler profiler)
    {
        lock (_gate)
        {
            _profiler = profiler;
            Current.RegisterProfiler(profiler);
        }
    }

    public void BeginProfiling(object forContext) => Current.BeginProfiling(forContext);
    public ProfiledCommandEnumerable FinishProfiling(object forContext, bool allowCleanupSweep = true) => Current.FinishProfiling(forContext, allowCleanupSweep);

    // ---- diagnostics and administration ----

    public ServerCounters GetCounters() => Current.GetCounters();
    public void Wait(Task task) => Current.Wait(task);
    public T Wait<T>(Task<T> task) => Current.Wait(task);
    public void WaitAll(params Task[] tasks) => Current.WaitAll(tasks);
    public Task<bool> ConfigureAsync(TextWriter? log = null) => Current.ConfigureAsync(log);
    public bool Configure(TextWriter? log = null) => Current.Configure(log);
    public string GetStatus() => Current.GetStatus();
    public void GetStatus(TextWriter log) => Current.GetStatus(log);
    public string GetStormLog() => Current.GetStormLog();
    public void ResetStormLog() => Current.ResetStormLog();
    public long PublishReconfigure(CommandFlags flags = CommandFlags.None) => Current.PublishReconfigure(flags);
    public Task<long> PublishReconfigureAsync(CommandFlags flags = CommandFlags.None) => Current.PublishReconfigureAsync(flags);

    public override string ToString() => "Sentinel master " + MasterAddress;

    // ---- lifetime: closing this closes the manager (its Sentinel and master connections) ----

    public void Close(bool allowCommandsToComplete = true) => Manager.DisposeAsync().AsTask().GetAwaiter().GetResult();
    public Task CloseAsync(bool allowCommandsToComplete = true) => Manager.DisposeAsync().AsTask();
    public void Dispose() => Manager.DisposeAsync().AsTask().GetAwaiter().GetResult();
    public ValueTask DisposeAsync() => Manager.DisposeAsync();

    /// <summary>
    /// Pub/sub through the manager: subscriptions are remembered and made again on every new master
    /// (before the swap, so there is no window without them); publishing goes to the master of the moment.
    /// </summary>
    private sealed class SentinelSubscriber(SentinelMultiplexer owner, object? asyncState) : ISubscriber
    {
        private ISubscriber Current => owner.Current.GetSubscriber(asyncState);

        /// <summary>1.2.6 types this as the concrete class: the multiplexer of the current master.</summary>
        public ConnectionMultiplexer Multiplexer => (ConnectionMultiplexer)owner.Current;

        public void Subscribe(RedisChannel channel, Action<RedisChannel, RedisValue> handler, CommandFlags flags = CommandFlags.None) =>
            owner.Manager.SubscribeAsync(channel, handler).GetAwaiter().GetResult();

        public Task SubscribeAsync(RedisChannel channel, Action<RedisChannel, RedisValue> handler, CommandFlags flags = CommandFlags.None) =>
            owner.Manager.SubscribeAsync(channel, handler);

        public void Unsubscribe(RedisChannel channel, Action<RedisChannel, RedisValue>? handler = null, CommandFlags flags = CommandFlags.None) =>
            owner.Manager.UnsubscribeAsync(channel, handler).GetAwaiter().GetResult();

        public Task UnsubscribeAsync(RedisChannel channel, Action<RedisChannel, RedisValue>? handler = null, CommandFlags flags = CommandFlags.None) =>
            owner.Manager.UnsubscribeAsync(channel, handler);

        public void UnsubscribeAll(CommandFlags flags = CommandFlags.None) => owner.Manager.UnsubscribeAllAsync().GetAwaiter().GetResult();
        public Task UnsubscribeAllAsync(CommandFlags flags = CommandFlags.None) => owner.Manager.UnsubscribeAllAsync();

        public long Publish(RedisChannel channel, RedisValue message, CommandFlags flags = CommandFlags.None) => Current.Publish(channel, message, flags);
        public Task<long> PublishAsync(RedisChannel channel, RedisValue message, CommandFlags flags = CommandFlags.None) => Current.PublishAsync(channel, message, flags);
        public EndPoint IdentifyEndpoint(RedisChannel channel, CommandFlags flags = CommandFlags.None) => Current.IdentifyEndpoint(channel, flags);
        public Task<EndPoint> IdentifyEndpointAsync(RedisChannel channel, CommandFlags flags = CommandFlags.None) => Current.IdentifyEndpointAsync(channel, flags);
        public bool IsConnected(RedisChannel channel = default) => Current.IsConnected(channel);
        public EndPoint SubscribedEndpoint(RedisChannel channel) => Current.SubscribedEndpoint(channel);
        public TimeSpan Ping(CommandFlags flags = CommandFlags.None) => Current.Ping(flags);
        public Task<TimeSpan> PingAsync(CommandFlags flags = CommandFlags.None) => Current.PingAsync(flags);
        public bool TryWait(Task task) => Current.TryWait(task);
        public void Wait(Task task) => Current.Wait(task);
        public T Wait<T>(Task<T> task) => Current.Wait(task);
        public void WaitAll(params Task[] tasks) => Current.WaitAll(tasks);
    }
}
