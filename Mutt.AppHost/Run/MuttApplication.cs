using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Mutt.AppHost.Hosting;
using Mutt.AppHost.Model;
using Mutt.Core.Data;
using Npgsql;

namespace Mutt.AppHost.Run;

/// <summary>
/// The running system: the AppHost's run mode and the in-process test API (our equivalent of
/// Aspire.Hosting.Testing) share this one code path. Starts redis-server and PostgreSQL,
/// migrates (and seeds) muttdb, starts every project replica in WaitFor order, supervises them
/// (restart with backoff) and stops everything it started in reverse order.
/// </summary>
public sealed partial class MuttApplication : IAsyncDisposable
{
    public const string EndpointsFileName = "endpoints.json";
    private const string Host = "127.0.0.1";

    private readonly AppModel _model;
    private readonly RunOptions _options;
    private readonly IConfiguration _configuration;
    private readonly Action<string> _log;
    private readonly LogSink _logs;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _stateLock = new();
    private readonly Dictionary<(string Resource, string Endpoint, int Replica), int> _ports = [];
    private readonly HashSet<(EndpointProtocol, int)> _assignedPorts = [];
    private readonly List<List<Replica>> _startedWaves = [];
    private readonly Dictionary<string, string> _infraState = [];
    private RedisServer? _redis;
    private PostgresServer? _postgres;
    private int _redisPid;
    private int _postgresPid;
    private IReadOnlyDictionary<string, string> _parameters = new Dictionary<string, string>();
    private int _stopped;

    private MuttApplication(AppModel model, RunOptions options)
    {
        _model = model;
        _options = options;
        RepositoryRoot = options.RepositoryRoot ?? ServiceProcess.FindRepositoryRoot();
        StateDir = Path.GetFullPath(options.StateDir ?? Path.Combine(RepositoryRoot, ".mutt"));
        _configuration = options.Configuration ?? new ConfigurationBuilder().AddEnvironmentVariables().Build();
        _log = options.Log ?? (line => Console.Out.WriteLine("[apphost] " + line));
        _logs = new LogSink(Path.Combine(StateDir, "logs"), options.StreamLogs);
    }

    public AppModel Model => _model;
    public string RepositoryRoot { get; }
    public string StateDir { get; }
    public string EndpointsFile => Path.Combine(StateDir, EndpointsFileName);
    public string ParametersFile => Path.Combine(StateDir, ParameterStore.FileName);

    /// <summary>Replicas by resource name, in start order.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<Replica>> Replicas =>
        _startedWaves.SelectMany(w => w).GroupBy(r => r.Project.Name).ToDictionary(g => g.Key, g => (IReadOnlyList<Replica>)g.OrderBy(r => r.Index).ToList());

    // What the end-to-end tests need, by name.
    public Uri IngestorUrl => GetEndpoint("ingestor");
    public Uri SinkUrl => GetEndpoint("moog-sink");
    public Uri DashboardUrl => GetEndpoint("dashboard");
    public string RedisConnectionString => GetConnectionString("redis");
    public string MuttDbConnectionString => GetConnectionString("muttdb");
    public string IngestApiKey => GetParameterValue("ingest-api-key");

    public static Task<MuttApplication> StartAsync(RunOptions options, CancellationToken cancellationToken = default) =>
        StartAsync(MuttSystem.Build(), options, cancellationToken);

    /// <summary>Starts everything; on any failure stops what was started and rethrows.</summary>
    public static async Task<MuttApplication> StartAsync(AppModel model, RunOptions options, CancellationToken cancellationToken = default)
    {
        var app = new MuttApplication(model, options);
        try
        {
            await app.StartCoreAsync(cancellationToken).ConfigureAwait(false);
            return app;
        }
        catch (Exception ex)
        {
            app._log($"start failed: {ex.GetType().Name}: {ex.Message}");
            app._log("stopping everything that was started");
            await app.StopAsync().ConfigureAwait(false);
            throw;
        }
    }

    public Uri GetEndpoint(string resource, string endpoint = "http", int replica = 0)
    {
        var spec = _model[resource].Endpoint(endpoint);
        return new Uri($"{spec.Scheme}://{Host}:{_ports[(resource, endpoint, replica)]}");
    }

    public int GetPort(string resource, string endpoint, int replica = 0) => _ports[(resource, endpoint, replica)];

    public string GetConnectionString(string resource) =>
        _model[resource] is IResourceWithConnectionString r ? Resolve(r.ConnectionStringExpression, null, 0) : throw new InvalidOperationException($"{resource} has no connection string.");

    public string GetParameterValue(string name) => _parameters[name];

    public IReadOnlyList<int> GetPids(string resource) => resource switch
    {
        _ when _model[resource] is RedisResource => _redisPid == 0 ? [] : [_redisPid],
        _ when _model[resource] is PostgresServerResource => _postgresPid == 0 ? [] : [_postgresPid],
        _ => Replicas.TryGetValue(resource, out var replicas) ? replicas.Select(r => r.Pid).Where(p => p > 0).ToList() : [],
    };

    /// <summary>Every pid this application started (servers and services), for no-orphan checks.</summary>
    public IReadOnlyList<int> AllPids =>
        _model.Resources.Where(r => r is RedisResource or PostgresServerResource or ProjectResource).SelectMany(r => GetPids(r.Name)).ToList();

    public int GetRestartCount(string resource) =>
        Replicas.TryGetValue(resource, out var replicas) ? replicas.Sum(r => r.Restarts) : _infraRestarts.GetValueOrDefault(resource);

    private async Task StartCoreAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(StateDir);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
        var token = linked.Token;

        var parameters = ParameterStore.Resolve(_model.Parameters, _configuration, StateDir);
        _parameters = parameters.Values;
        _log($"parameters: {parameters.FilePath} (mode 600)" +
             (parameters.Generated.Count > 0 ? $"; generated now: {string.Join(", ", parameters.Generated)}" : "") +
             (parameters.FromConfiguration.Count > 0 ? $"; from configuration: {string.Join(", ", parameters.FromConfiguration)}" : ""));

        AssignPorts();
        WriteEndpoints();

        foreach (var redis in _model.Resources.OfType<RedisResource>())
        {
            token.ThrowIfCancellationRequested();
            SetInfraState(redis.Name, "Starting");
            _log($"starting {redis.Name} (redis-server, AOF on) on port {_ports[(redis.Name, "tcp", 0)]}");
            _redis = await RedisServer.StartAsync(Path.Combine(StateDir, redis.Name), _ports[(redis.Name, "tcp", 0)], appendOnly: true,
                output: line => _logs.Write(redis.Name, redis.Name, line), executable: _configuration["Redis:Executable"], ownSession: true).ConfigureAwait(false);
            _redisPid = _redis.Pid;
            SetInfraState(redis.Name, "Running");
            WatchInfrastructure(redis.Name, () => _redis, async () =>
            {
                _redis = await RedisServer.StartAsync(Path.Combine(StateDir, redis.Name), _ports[(redis.Name, "tcp", 0)], appendOnly: true,
                    output: line => _logs.Write(redis.Name, redis.Name, line), executable: _configuration["Redis:Executable"], ownSession: true).ConfigureAwait(false);
                _redisPid = _redis.Pid;
            });
        }

        foreach (var postgres in _model.Resources.OfType<PostgresServerResource>())
        {
            token.ThrowIfCancellationRequested();
            SetInfraState(postgres.Name, "Starting");
            var dataDir = Path.Combine(StateDir, postgres.Name);
            // An existing cluster keeps the password it was created with.
            var passwordFile = Path.Combine(dataDir, "postgres.password");
            var password = File.Exists(passwordFile) ? null : _parameters[postgres.Password.Name];
            _log($"starting {postgres.Name} (cluster in {dataDir}{(NativeProcess.IsRoot ? ", as the postgres user" : "")}) on port {_ports[(postgres.Name, "tcp", 0)]}");
            _postgres = await PostgresServer.StartAsync(dataDir, _ports[(postgres.Name, "tcp", 0)], password,
                fastAndLoose: _options.FastAndLoosePostgres, output: line => _logs.Write(postgres.Name, postgres.Name, line), ownSession: true).ConfigureAwait(false);
            _postgresPid = _postgres.Pid;
            WatchInfrastructure(postgres.Name, () => _postgres, async () =>
            {
                _postgres = await PostgresServer.StartAsync(dataDir, _ports[(postgres.Name, "tcp", 0)], null,
                    fastAndLoose: _options.FastAndLoosePostgres, output: line => _logs.Write(postgres.Name, postgres.Name, line), ownSession: true).ConfigureAwait(false);
                _postgresPid = _postgres.Pid;
            });
            var values = new Dictionary<string, string>(_parameters) { [postgres.Password.Name] = _postgres.Password };
            _parameters = values;
            SetInfraState(postgres.Name, "Running");

            foreach (var database in postgres.Databases)
            {
                SetInfraState(database.Name, "Starting");
                await _postgres.EnsureDatabaseAsync(database.DatabaseName).ConfigureAwait(false);
                await using var dataSource = NpgsqlDataSource.Create(GetConnectionString(database.Name));
                var applied = await MigrationRunner.ApplyAsync(dataSource, token).ConfigureAwait(false);
                _log($"{database.Name}: migrations applied now: {(applied.Count == 0 ? "none (up to date)" : string.Join(", ", applied))}");
                if (_options.Seed)
                {
                    await MigrationRunner.SeedAsync(dataSource, token).ConfigureAwait(false);
                    _log($"{database.Name}: seed data loaded");
                }
                SetInfraState(database.Name, "Running");
            }
        }

        foreach (var wave in _model.ProjectStartWaves())
        {
            var replicas = wave.SelectMany(p => Enumerable.Range(0, p.Replicas).Select(i => new Replica(this, p, i))).ToList();
            lock (_stateLock)
            {
                _startedWaves.Add(replicas);
            }
            foreach (var replica in replicas)
            {
                token.ThrowIfCancellationRequested();
                replica.Start();
            }
            WriteEndpoints();
            await Task.WhenAll(replicas.Select(r => r.WaitHealthyAsync(_options.HealthTimeout, token))).ConfigureAwait(false);
            foreach (var replica in replicas)
            {
                replica.Supervise(_stopping.Token);
            }
            WriteEndpoints();
        }
        _log("all resources are healthy");
    }

    private void AssignPorts()
    {
        foreach (var resource in _model.Resources)
        {
            for (var i = 0; i < resource.Replicas; i++)
            {
                foreach (var endpoint in resource.Endpoints)
                {
                    _ports[(resource.Name, endpoint.Name, i)] = ChoosePort(endpoint);
                }
                ShareUdpTcpPorts(resource, i);
            }
        }
    }

    /// <summary>
    /// A UDP and a TCP endpoint declared on the same spec port (syslog 5514) are one setting in the
    /// service (SYSLOG_PORT binds both), so they must get the same number when free ports are chosen.
    /// </summary>
    private void ShareUdpTcpPorts(Resource resource, int replica)
    {
        foreach (var udp in resource.Endpoints.Where(e => e.Protocol == EndpointProtocol.Udp))
        {
            var tcp = resource.Endpoints.FirstOrDefault(e => e.Protocol == EndpointProtocol.Tcp && !e.IsHttp && e.Port == udp.Port);
            if (tcp is null || _ports[(resource.Name, udp.Name, replica)] == _ports[(resource.Name, tcp.Name, replica)])
            {
                continue;
            }
            _assignedPorts.Remove((EndpointProtocol.Tcp, _ports[(resource.Name, tcp.Name, replica)]));
            var port = _ports[(resource.Name, udp.Name, replica)];
            while (_assignedPorts.Contains((EndpointProtocol.Tcp, port)) || NativeProcess.PreferredOrFreeTcpPort(port) != port)
            {
                _assignedPorts.Remove((EndpointProtocol.Udp, port));
                do
                {
                    port = NativeProcess.FreeUdpPort();
                }
                while (_assignedPorts.Contains((EndpointProtocol.Udp, port)));
                _assignedPorts.Add((EndpointProtocol.Udp, port));
            }
            _assignedPorts.Add((EndpointProtocol.Tcp, port));
            _ports[(resource.Name, udp.Name, replica)] = port;
            _ports[(resource.Name, tcp.Name, replica)] = port;
        }
    }

    /// <summary>The spec's port when nothing (including an earlier choice of ours) holds it, otherwise a free one.</summary>
    private int ChoosePort(EndpointSpec endpoint)
    {
        int port;
        if (_options.UseFreePorts || _assignedPorts.Contains((endpoint.Protocol, endpoint.Port)))
        {
            do
            {
                port = endpoint.Protocol == EndpointProtocol.Udp ? NativeProcess.FreeUdpPort() : NativeProcess.FreeTcpPort();
            }
            while (_assignedPorts.Contains((endpoint.Protocol, port)));
        }
        else
        {
            port = endpoint.Protocol == EndpointProtocol.Udp
                ? (NativeProcess.IsUdpPortFree(endpoint.Port) ? endpoint.Port : NativeProcess.FreeUdpPort())
                : NativeProcess.PreferredOrFreeTcpPort(endpoint.Port);
        }
        _assignedPorts.Add((endpoint.Protocol, port));
        return port;
    }

    [GeneratedRegex(@"\{([a-z0-9-]+)\.([A-Za-z0-9.\-]+)\}")]
    private static partial Regex ExpressionPattern();

    /// <summary>Resolves manifest expressions to local values; <paramref name="self"/>'s bindings are the given replica's.</summary>
    internal string Resolve(string expression, Resource? self, int replica) =>
        ExpressionPattern().Replace(expression, match =>
        {
            var resource = _model[match.Groups[1].Value];
            var path = match.Groups[2].Value.Split('.');
            var index = resource == self ? replica : 0;
            return path switch
            {
                ["connectionString"] when resource is IResourceWithConnectionString r => Resolve(r.ConnectionStringExpression, null, 0),
                ["value"] => _parameters[resource.Name],
                ["bindings", var name, "url"] => $"{resource.Endpoint(name).Scheme}://{Host}:{_ports[(resource.Name, name, index)]}",
                ["bindings", _, "host"] => Host,
                ["bindings", var name, "port" or "targetPort"] => _ports[(resource.Name, name, index)].ToString(CultureInfo.InvariantCulture),
                _ => throw new InvalidOperationException($"Cannot resolve {match.Value}."),
            };
        });

    internal Dictionary<string, string?> EnvironmentFor(ProjectResource project, int replica)
    {
        var env = new Dictionary<string, string?>();
        foreach (var (name, value) in project.Environment)
        {
            env[name] = Resolve(value, project, replica);
        }
        // Aspire puts a proxy in front of a project's replicas; this orchestrator has none, so a
        // reference to a replicated project lists every replica (services__alerter__http__0, __1, …),
        // as service discovery allows, and the Dashboard sums their /metrics.
        foreach (var referenced in project.References.OfType<ProjectResource>().Where(r => r.Replicas > 1))
        {
            foreach (var endpoint in referenced.Endpoints.Where(e => e.IsHttp))
            {
                for (var i = 1; i < referenced.Replicas; i++)
                {
                    env[$"services__{referenced.Name}__{endpoint.Name}__{i}"] = $"{endpoint.Scheme}://{Host}:{_ports[(referenced.Name, endpoint.Name, i)]}";
                }
            }
        }
        env["ASPNETCORE_URLS"] = string.Join(';', project.Endpoints.Where(e => e.IsHttp).Select(e => $"{e.Scheme}://{Host}:{_ports[(project.Name, e.Name, replica)]}"));
        env["POD_NAME"] = $"{project.Name}-{replica}";
        env["OTEL_SERVICE_NAME"] = project.Name;
        env["OTEL_RESOURCE_ATTRIBUTES"] = $"service.instance.id={project.Name}-{replica}";
        return env;
    }

    internal string AssemblyFor(ProjectResource project) =>
        _configuration[$"Projects:{project.Name}:Assembly"] is { Length: > 0 } overridden
            ? overridden
            : ServiceProcess.AssemblyPath(RepositoryRoot, project.ProjectName, _configuration["Configuration"] ?? BuildConfiguration);

    private static string BuildConfiguration =>
        AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";

    private readonly List<Task> _infraWatchers = [];
    private readonly Dictionary<string, int> _infraRestarts = [];

    /// <summary>Redis or PostgreSQL dying is as loud as a service dying, and restarted the same way (same port, same data).</summary>
    private void WatchInfrastructure(string name, Func<IAsyncDisposable?> current, Func<Task> restart)
    {
        var stopping = _stopping.Token;
        _infraWatchers.Add(Task.Run(async () =>
        {
            var failures = 0;
            while (!stopping.IsCancellationRequested)
            {
                var server = current();
                var process = server switch { RedisServer r => r.Process, PostgresServer p => p.Process, _ => null };
                if (process is null)
                {
                    return;
                }
                try
                {
                    await process.WaitForExitAsync(stopping).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                failures++;
                var delay = Replica.Backoff(failures);
                SetInfraState(name, "Restarting");
                _log($"!!! {name} (pid {process.Id}) EXITED with code {process.ExitCode}; restarting in {delay.TotalSeconds:0} s (failure {failures})");
                try
                {
                    await Task.Delay(delay, stopping).ConfigureAwait(false);
                    await restart().ConfigureAwait(false);
                    lock (_stateLock)
                    {
                        _infraRestarts[name] = _infraRestarts.GetValueOrDefault(name) + 1;
                    }
                    SetInfraState(name, "Running");
                    _log($"{name} is back (restart #{_infraRestarts[name]})");
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                catch (Exception ex)
                {
                    _log($"!!! {name} could not be restarted: {ex.Message}");
                }
            }
        }, CancellationToken.None));
    }

    internal void Log(string line) => _log(line);
    internal TimeSpan HealthTimeoutFor => _options.HealthTimeout;
    internal LogSink Logs => _logs;

    private void SetInfraState(string name, string state)
    {
        lock (_stateLock)
        {
            _infraState[name] = state;
        }
        WriteEndpoints();
    }

    /// <summary>One row per resource, for the status table.</summary>
    public IReadOnlyList<(string Resource, string State, string Url, string Pid)> StatusRows()
    {
        var rows = new List<(string, string, string, string)>();
        foreach (var resource in _model.Resources.Where(r => r is not ParameterResource))
        {
            var state = StateOf(resource);
            var url = resource switch
            {
                ProjectResource p => string.Join(' ', p.Endpoints.Select(e => Url(p, e, 0))),
                RedisResource or PostgresServerResource => Url(resource, resource.Endpoint("tcp"), 0),
                _ => "",
            };
            rows.Add((resource.Name, state, url, string.Join(',', GetPids(resource.Name))));
        }
        return rows;
    }

    private string Url(Resource resource, EndpointSpec endpoint, int replica) =>
        _ports.TryGetValue((resource.Name, endpoint.Name, replica), out var port) ? $"{endpoint.Scheme}://{Host}:{port}" : "";

    private string StateOf(Resource resource)
    {
        lock (_stateLock)
        {
            if (resource is ProjectResource)
            {
                var replicas = _startedWaves.SelectMany(w => w).Where(r => r.Project == resource).ToList();
                if (replicas.Count == 0)
                {
                    return _stopped == 1 ? "Stopped" : "Waiting";
                }
                var states = replicas.Select(r => r.State).Distinct().ToList();
                return states.Count == 1 ? states[0] : string.Join('/', states);
            }
            return _infraState.TryGetValue(resource.Name, out var state) ? state : "Waiting";
        }
    }

    /// <summary>endpoints.json: state, pid, URLs, connection string and restarts of every resource. Mode 600: it holds the postgres password.</summary>
    internal void WriteEndpoints()
    {
        lock (_stateLock)
        {
            var resources = new JsonObject();
            foreach (var resource in _model.Resources.Where(r => r is not ParameterResource))
            {
                var node = new JsonObject
                {
                    ["type"] = resource switch
                    {
                        RedisResource => "redis", PostgresServerResource => "postgres", PostgresDatabaseResource => "database", _ => "project",
                    },
                    ["state"] = StateOf(resource),
                };
                var pids = GetPids(resource.Name);
                node["pid"] = pids.Count > 0 ? pids[0] : null;
                var urls = new JsonObject();
                foreach (var endpoint in resource.Endpoints)
                {
                    urls[endpoint.Name] = Url(resource, endpoint, 0);
                }
                node["urls"] = urls;
                if (resource is IResourceWithConnectionString && _parameters.Count > 0)
                {
                    node["connectionString"] = GetConnectionString(resource.Name);
                }
                node["restarts"] = GetRestartCount(resource.Name);
                if (resource is ProjectResource project)
                {
                    var replicas = new JsonArray();
                    foreach (var replica in _startedWaves.SelectMany(w => w).Where(r => r.Project == project).OrderBy(r => r.Index))
                    {
                        var replicaUrls = new JsonObject();
                        foreach (var endpoint in project.Endpoints)
                        {
                            replicaUrls[endpoint.Name] = Url(project, endpoint, replica.Index);
                        }
                        replicas.Add(new JsonObject
                        {
                            ["name"] = replica.PodName,
                            ["state"] = replica.State,
                            ["pid"] = replica.Pid > 0 ? replica.Pid : null,
                            ["urls"] = replicaUrls,
                            ["restarts"] = replica.Restarts,
                        });
                    }
                    node["replicas"] = replicas;
                }
                resources[resource.Name] = node;
            }
            var document = new JsonObject
            {
                ["stateDir"] = StateDir,
                ["parametersFile"] = ParametersFile,
                ["dashboard"] = Url(_model["dashboard"], _model["dashboard"].Endpoint("http"), 0),
                ["updatedAt"] = DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture),
                ["resources"] = resources,
            };
            ParameterStore.WriteSecretFile(EndpointsFile, document.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        }
    }

    /// <summary>Stops every project replica (reverse start order, a wave at a time), then PostgreSQL, then Redis.</summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1)
        {
            return;
        }
        await _stopping.CancelAsync().ConfigureAwait(false);
        List<List<Replica>> waves;
        lock (_stateLock)
        {
            waves = _startedWaves.AsEnumerable().Reverse().ToList();
        }
        foreach (var wave in waves)
        {
            await Task.WhenAll(wave.Select(r => r.StopAsync())).ConfigureAwait(false);
        }
        // A watcher in the middle of a restart finishes it first, so the server it started is the one stopped below.
        await Task.WhenAll(_infraWatchers).ConfigureAwait(false);
        if (_postgres is not null)
        {
            _log("stopping postgres");
            await _postgres.DisposeAsync().ConfigureAwait(false);
            SetInfraStates<PostgresServerResource>();
            SetInfraStates<PostgresDatabaseResource>();
        }
        if (_redis is not null)
        {
            _log("stopping redis");
            await _redis.DisposeAsync().ConfigureAwait(false);
            SetInfraStates<RedisResource>();
        }
        WriteEndpoints();
        _log("stopped");
        _logs.Dispose();
    }

    private void SetInfraStates<T>() where T : Resource
    {
        foreach (var resource in _model.Resources.OfType<T>())
        {
            lock (_stateLock)
            {
                _infraState[resource.Name] = "Stopped";
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }
}
