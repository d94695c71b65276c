using System.Collections.Concurrent;
using System.Text.Json;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;
using Mutt.Testing;

namespace Mutt.Tests.Infrastructure;

/// <summary>
/// The whole system as the AppHost declares it, started through Aspire.Hosting.Testing (no copy of
/// the wiring): free ports, its own state folder, no Aspire dashboard. What the end-to-end and
/// reliability suites need by name (URLs, connection strings, parameters), every replica's state
/// and pid from Aspire's resource notifications, and kill/restart through Aspire's resource commands.
/// </summary>
public sealed class MuttAppHost : IAsyncDisposable
{
    public static readonly string[] Services = ["moog-sink", "ingestor", "alerter", "forwarder", "remediation", "dashboard"];

    private readonly DistributedApplication _app;
    private readonly ConcurrentDictionary<string, ReplicaInfo> _replicas = new();
    private readonly ConcurrentDictionary<string, Task> _logWatchers = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _watcher;
    private IReadOnlyDictionary<string, string> _parameters = new Dictionary<string, string>();
    private int _disposed;

    private MuttAppHost(DistributedApplication app, string stateDir)
    {
        _app = app;
        StateDir = stateDir;
        _watcher = Task.Run(WatchAsync);
    }

    /// <summary>One replica as Aspire reports it: its resource id (the POD_NAME the AppHost gives it), state, service pid.</summary>
    public sealed class ReplicaInfo(string resource, string id)
    {
        public string Resource { get; } = resource;
        public string PodName { get; } = id;
        public string State { get; internal set; } = "Waiting";
        public string? Health { get; internal set; }
        public int LauncherPid { get; internal set; }
        public int Restarts => _restartCounter.Count;

        /// <summary>The service's own process (Aspire runs a project as `dotnet run`, which starts it as a child).</summary>
        public int Pid => LauncherPid == 0 ? 0 : Mutt.AppHost.LocalProcesses.ServiceProcessOf(LauncherPid) ?? 0;

        private readonly Mutt.AppHost.RestartCounter _restartCounter = new();

        /// <summary>Counted as endpoints.json counts them (<see cref="Mutt.AppHost.RestartCounter"/>).</summary>
        internal void See(string state, int? launcherPid)
        {
            if (launcherPid is { } pid)
            {
                LauncherPid = pid;
            }
            _restartCounter.See(state, launcherPid);
        }

        public bool IsUp => State == "Running" && Health is null or "Healthy";
    }

    public DistributedApplication App => _app;
    public string StateDir { get; }
    public string EndpointsFile => Path.Combine(StateDir, "endpoints.json");
    public string ParametersFile => Path.Combine(StateDir, "parameters.json");
    public Uri IngestorUrl => _app.GetEndpoint("ingestor", "http");
    public Uri SinkUrl => _app.GetEndpoint("moog-sink", "http");
    public Uri DashboardUrl => _app.GetEndpoint("dashboard", "http");
    public string RedisConnectionString { get; private set; } = "";

    /// <summary>The services' least-privilege connection (mutt_user).</summary>
    public string MuttDbConnectionString { get; private set; } = "";

    /// <summary>The owner's connection, for tests that check what the services cannot do.</summary>
    public string AdminDbConnectionString { get; private set; } = "";

    public string IngestApiKey => GetParameterValue("ingest-api-key");

    public string GetParameterValue(string name) => _parameters[name];

    /// <summary>A client of the Dashboard's API with the legacy WEBUI_API_KEY (admin).</summary>
    public HttpClient DashboardClient()
    {
        var http = new HttpClient { BaseAddress = DashboardUrl, Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Add("X-API-KEY", GetParameterValue("webui-api-key"));
        return http;
    }

    public int GetPort(string resource, string endpoint) => _app.GetEndpoint(resource, endpoint).Port;

    public Uri GetEndpoint(string resource, string endpoint = "http") => _app.GetEndpoint(resource, endpoint);

    /// <summary>Replicas by resource, in resource-id order.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<ReplicaInfo>> Replicas =>
        _replicas.Values.Where(r => Services.Contains(r.Resource)).GroupBy(r => r.Resource)
            .ToDictionary(g => g.Key, g => (IReadOnlyList<ReplicaInfo>)[.. g.OrderBy(r => r.PodName, StringComparer.Ordinal)]);

    public IReadOnlyList<int> GetPids(string resource) =>
        [.. _replicas.Values.Where(r => r.Resource == resource && r.Pid > 0).Select(r => r.Pid)];

    public int GetRestartCount(string resource) => _replicas.Values.Where(r => r.Resource == resource).Sum(r => r.Restarts);

    /// <summary>Every process the system runs (servers and service replicas), for no-orphan and no-crash checks.</summary>
    public IReadOnlyList<int> AllPids => [.. _replicas.Values.Where(r => r.Resource != "dbmanager" && r.Pid > 0).Select(r => r.Pid)];

    /// <summary>
    /// Starts the system. <paramref name="configure"/> adjusts resources before the build (environment
    /// for a CI-sized scenario, replica counts through <c>Replicas:alerter</c> in <paramref name="settings"/>,
    /// the AppHost's own Prometheus through <c>Prometheus:Enabled=true</c>, off here by default).
    /// </summary>
    public static async Task<MuttAppHost> StartAsync(Action<IDistributedApplicationTestingBuilder>? configure = null,
        IReadOnlyDictionary<string, string>? settings = null, CancellationToken cancellationToken = default)
    {
        var stateDir = Path.Combine(Path.GetTempPath(), "mutt-system-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(stateDir);
        // PostgreSQL runs as the postgres user and must reach its folder inside.
        File.SetUnixFileMode(stateDir, (UnixFileMode)0b111_101_101);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(4));
        var token = timeout.Token;

        // No Prometheus unless a test asks for it (Prometheus:Enabled=true in settings): it would only slow
        // every other suite down.
        string[] args = ["--state-dir", stateDir, "--AppHost:UseFreePorts=true", "--Prometheus:Enabled=false", .. (settings ?? new Dictionary<string, string>()).Select(kv => $"--{kv.Key}={kv.Value}")];
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Mutt_AppHost>(args, token);
        foreach (var project in builder.Resources.OfType<ProjectResource>())
        {
            // No Aspire dashboard listens in tests, so the AppHost gives the services no OTLP endpoint
            // (LocalRun.NoTelemetryExportWithoutDashboard; AppHostTests checks it).
            builder.CreateResourceBuilder(project).WithEnvironment("LOG_LEVEL", "WARNING");
        }
        configure?.Invoke(builder);
        var app = await builder.BuildAsync(token);
        var host = new MuttAppHost(app, stateDir);
        try
        {
            await app.StartAsync(token);
            var notifications = app.Services.GetRequiredService<ResourceNotificationService>();
            await notifications.WaitForResourceAsync("dbmanager", KnownResourceStates.Finished, token);
            await Task.WhenAll(Services.Select(s => notifications.WaitForResourceHealthyAsync(s, token)));
            host.RedisConnectionString = await app.GetConnectionStringAsync("redis", token) ?? "";
            host.MuttDbConnectionString = await app.GetConnectionStringAsync("muttdb", token) ?? "";
            host.AdminDbConnectionString = await app.GetConnectionStringAsync("muttdb-admin", token) ?? "";
            host._parameters = JsonSerializer.Deserialize<Dictionary<string, string>>(await File.ReadAllTextAsync(host.ParametersFile, token))!;
            await Eventually.WaitForAsync(() => Task.FromResult(Services.All(s => host.GetPids(s).Count > 0)), TimeSpan.FromSeconds(30), "a pid for every service");
            return host;
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
    }

    private async Task WatchAsync()
    {
        var notifications = _app.Services.GetRequiredService<ResourceNotificationService>();
        try
        {
            await foreach (var change in notifications.WatchAsync(_stopping.Token))
            {
                if (change.Resource is not (ProjectResource or ExecutableResource) || change.Resource.GetType().Name.Contains("Rebuilder", StringComparison.Ordinal))
                {
                    continue;
                }
                var replica = _replicas.GetOrAdd(change.ResourceId, id => new ReplicaInfo(change.Resource.Name, id));
                _ = _logWatchers.GetOrAdd(change.ResourceId, id => Task.Run(() => CollectLogsAsync(id)));
                replica.State = change.Snapshot.State?.Text is { Length: > 0 } state ? state : replica.State;
                replica.Health = change.Snapshot.HealthStatus?.ToString();
                replica.See(replica.State, Mutt.AppHost.LocalProcesses.LauncherPidOf(change.Snapshot));
                if (Mutt.AppHost.RestartCounter.IsDown(replica.State))
                {
                    replica.LauncherPid = 0;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Every line each process wrote (Aspire's console log capture), by resource id.</summary>
    public ConcurrentQueue<(string Source, string Line)> Logs { get; } = new();

    private async Task CollectLogsAsync(string resourceId)
    {
        var logs = _app.Services.GetRequiredService<ResourceLoggerService>();
        try
        {
            await foreach (var batch in logs.WatchAsync(resourceId).WithCancellation(_stopping.Token))
            {
                foreach (var line in batch)
                {
                    Logs.Enqueue((resourceId, line.Content));
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>The HTTP endpoints the model gives a project (e.g. http and health).</summary>
    public IReadOnlyList<string> HttpEndpoints(string resource) =>
        [.. _app.Services.GetRequiredService<DistributedApplicationModel>().Resources.Single(r => r.Name == resource)
            .Annotations.OfType<EndpointAnnotation>().Where(e => e.UriScheme is "http" or "https").Select(e => e.Name)];

    /// <summary>kill -9 of a replica's service process; Aspire sees it exit (it does not restart it by itself).</summary>
    public async Task KillAsync(ReplicaInfo replica)
    {
        var pid = replica.Pid;
        Assert.True(pid > 0 && NativeProcess.Signal(pid, NativeProcess.SIGKILL), $"kill -9 {replica.PodName} (pid {pid})");
        await Eventually.WaitForAsync(() => Task.FromResult(replica.State is not "Running"), TimeSpan.FromSeconds(60), $"{replica.PodName} seen down by Aspire");
    }

    /// <summary>Starts a stopped or crashed replica through Aspire's resource command (as the dashboard's Start button does) and waits until it is healthy.</summary>
    public async Task StartAgainAsync(ReplicaInfo replica)
    {
        // A start command sent while the process is still shutting down (unhealthy, but not yet exited:
        // PostgreSQL's fast shutdown writes its checkpoint first) finds it running and does nothing.
        await Eventually.WaitForAsync(() => Task.FromResult(Mutt.AppHost.RestartCounter.IsDown(replica.State)), TimeSpan.FromSeconds(60),
            $"{replica.PodName} stopped, as Aspire sees it, before it is started again");
        var restarts = replica.Restarts;
        var result = await _app.ResourceCommands.ExecuteCommandAsync(replica.PodName, KnownResourceCommands.StartCommand);
        Assert.True(result.Success, $"start {replica.PodName}: {result.Message}");
        await Eventually.WaitForAsync(() => Task.FromResult(replica.Restarts > restarts && replica.IsUp && replica.Pid > 0),
            TimeSpan.FromSeconds(120), $"{replica.PodName} running and healthy again");
    }

    /// <summary>
    /// host:port of the replica's own first HTTP endpoint (its <c>http</c> one, where /metrics is served).
    /// Aspire's resource snapshots give only the proxy's URL, shared by every replica, so this reads
    /// the ASPNETCORE_URLS that Aspire gave the replica's process.
    /// </summary>
    public string OwnHttpAddress(ReplicaInfo replica)
    {
        var environment = File.ReadAllText($"/proc/{replica.Pid}/environ").Split('\0');
        var urls = environment.Single(v => v.StartsWith("ASPNETCORE_URLS=", StringComparison.Ordinal))["ASPNETCORE_URLS=".Length..];
        var first = new Uri(urls.Split(';')[0]);
        return $"127.0.0.1:{first.Port}";
    }

    public ReplicaInfo Server(string name) => _replicas.Values.Single(r => r.Resource == name);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            await _app.StopAsync(timeout.Token);
        }
        finally
        {
            await _app.DisposeAsync();
            await _stopping.CancelAsync();
            await _watcher;
            await Task.WhenAll(_logWatchers.Values);
            _stopping.Dispose();
            try
            {
                Directory.Delete(StateDir, recursive: true);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
            }
        }
    }
}
