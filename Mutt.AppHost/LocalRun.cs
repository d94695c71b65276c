using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Mutt.AppHost;

/// <summary>
/// What a local run adds to the model: the state folder (<c>--state-dir</c>, default <c>.mutt/</c>
/// at the repository root) with the servers' data, generated secrets and endpoints.json; the
/// spec's ports when they are free (or free ones for tests and parallel runs); replica counts.
/// In publish mode it only declares parameters, so the manifest carries no local value.
/// </summary>
public sealed class LocalRun
{
    public const string ParametersFileName = "parameters.json";
    private const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    private readonly IDistributedApplicationBuilder _builder;
    private readonly HashSet<(ProtocolType, int)> _taken = [];
    private readonly List<string> _missing = [];
    private Dictionary<string, string>? _stored;

    private LocalRun(IDistributedApplicationBuilder builder)
    {
        _builder = builder;
        var configuration = builder.Configuration;
        StateDir = Path.GetFullPath(configuration["state-dir"] ?? configuration["AppHost:StateDir"]
            ?? Path.Combine(builder.AppHostDirectory, "..", ".mutt"));
        UseFreePorts = configuration.GetValue("AppHost:UseFreePorts", false);
    }

    public static LocalRun From(IDistributedApplicationBuilder builder) => new(builder);

    /// <summary><c>--no-dashboard</c> on the command line or <c>MUTT_NO_DASHBOARD=1</c>.</summary>
    public static bool DashboardDisabled(string[] args) =>
        args.Contains("--no-dashboard") || Environment.GetEnvironmentVariable("MUTT_NO_DASHBOARD") is "1" or "true";

    /// <summary>
    /// Arguments for Aspire without MUTT's own switches; <c>--no-prometheus</c> becomes the setting it
    /// stands for (<c>Prometheus:Enabled=false</c>), as does <c>MUTT_NO_PROMETHEUS=1</c>.
    /// </summary>
    public static string[] AspireArgs(string[] args) =>
    [
        .. args.Where(a => a is not ("--no-dashboard" or "--no-prometheus")),
        .. args.Contains("--no-prometheus") || Environment.GetEnvironmentVariable("MUTT_NO_PROMETHEUS") is "1" or "true"
            ? ["--Prometheus:Enabled=false"] : Array.Empty<string>(),
    ];

    public string StateDir { get; }

    /// <summary>Whether a local run starts its own Prometheus: <c>Prometheus:Enabled</c>, on unless set to false.</summary>
    public bool PrometheusEnabled => IsRunMode && _builder.Configuration.GetValue("Prometheus:Enabled", true);

    public bool IsRunMode => _builder.ExecutionContext.IsRunMode;
    public bool UseFreePorts { get; }
    public string ParametersFile => Path.Combine(StateDir, ParametersFileName);

    /// <summary>A folder of the state folder, created for this run.</summary>
    public string Folder(string name)
    {
        var path = Path.Combine(StateDir, name);
        Directory.CreateDirectory(path);
        return path;
    }

    /// <summary>
    /// A secret parameter. Run mode: configuration <c>Parameters:&lt;name&gt;</c> first, else the value
    /// generated once into parameters.json (mode 600) and reused by every later run.
    /// </summary>
    public IResourceBuilder<ParameterResource> Parameter(string name)
    {
        if (!IsRunMode)
        {
            return _builder.AddParameter(name, secret: true);
        }
        if (_builder.Configuration["Parameters:" + name] is { Length: > 0 })
        {
            return _builder.AddParameter(name, secret: true);
        }
        var stored = Stored();
        if (!stored.TryGetValue(name, out var value) || value.Length == 0)
        {
            value = RandomNumberGenerator.GetString(Alphabet, 32);
            stored[name] = value;
            WriteSecretFile(ParametersFile, JsonSerializer.Serialize(stored, new JsonSerializerOptions { WriteIndented = true }));
        }
        return _builder.AddParameter(name, value, secret: true);
    }

    private Dictionary<string, string> Stored()
    {
        if (_stored is null)
        {
            Directory.CreateDirectory(StateDir);
            _stored = File.Exists(ParametersFile)
                ? JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllText(ParametersFile)) ?? []
                : [];
        }
        return _stored;
    }

    /// <summary>Replica count: <c>Replicas:&lt;name&gt;</c> (environment <c>Replicas__alerter=3</c>) for this run, else the model's.</summary>
    public int Replicas(string resource, int defaultCount)
    {
        var configured = _builder.Configuration.GetValue<int?>("Replicas:" + resource);
        if (configured is null || !IsRunMode)
        {
            return defaultCount;
        }
        return configured is >= 1 and <= 32
            ? configured.Value
            : throw new InvalidOperationException($"Replicas:{resource}={configured} must be 1-32.");
    }

    /// <summary>An HTTP endpoint's port: the spec's when it is free, otherwise (and with UseFreePorts) Aspire picks one.</summary>
    public int? Port(int spec)
    {
        if (!IsRunMode)
        {
            return spec;
        }
        return !UseFreePorts && IsFree(spec, ProtocolType.Tcp) && _taken.Add((ProtocolType.Tcp, spec)) ? spec : null;
    }

    /// <summary>
    /// The port a service listens on: chosen by Aspire in a local run (behind its proxy); the spec's in
    /// the published model, so containers, probes and Services agree on it.
    /// </summary>
    public int? TargetPort(int spec) => IsRunMode ? null : spec;

    /// <summary>
    /// A listener's port (not proxied): the spec's when free for every protocol, otherwise one free
    /// for all of them (syslog binds UDP and TCP on one SYSLOG_PORT).
    /// </summary>
    public int ListenerPort(int spec, params ProtocolType[] protocols)
    {
        if (!IsRunMode)
        {
            return spec;
        }
        if (!UseFreePorts && protocols.All(p => IsFree(spec, p)))
        {
            Take(spec, protocols);
            return spec;
        }
        for (var attempt = 0; attempt < 100; attempt++)
        {
            using var probe = new Socket(AddressFamily.InterNetwork, protocols[0] == ProtocolType.Udp ? SocketType.Dgram : SocketType.Stream, protocols[0]);
            probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            var port = ((IPEndPoint)probe.LocalEndPoint!).Port;
            probe.Dispose();
            if (protocols.All(p => IsFree(port, p)))
            {
                Take(port, protocols);
                return port;
            }
        }
        throw new InvalidOperationException($"No port free for {string.Join('+', protocols)} was found.");
    }

    private void Take(int port, ProtocolType[] protocols)
    {
        foreach (var protocol in protocols)
        {
            _taken.Add((protocol, port));
        }
    }

    private bool IsFree(int port, ProtocolType protocol)
    {
        if (_taken.Contains((protocol, port)))
        {
            return false;
        }
        try
        {
            using var socket = new Socket(AddressFamily.InterNetwork, protocol == ProtocolType.Udp ? SocketType.Dgram : SocketType.Stream, protocol);
            socket.Bind(new IPEndPoint(IPAddress.Any, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>
    /// A server binary this run needs: <paramref name="setting"/> (e.g. <c>Redis:Executable</c>, a path or a
    /// name) else <paramref name="name"/>, a name looked up on PATH and in the sbin folders Debian installs
    /// servers into. When it is missing the run is refused before anything starts (<see cref="ReportMissing"/>).
    /// </summary>
    public string Executable(string setting, string name, string aptPackage)
    {
        var (found, problem) = FindExecutable(setting, name, aptPackage);
        if (problem is not null)
        {
            _missing.Add(problem);
        }
        return found;
    }

    /// <summary>
    /// An optional binary (<see cref="Executable"/>'s lookup): its path, or null after saying on stderr that
    /// the run goes on without <paramref name="what"/> and how to install it.
    /// </summary>
    public string? OptionalExecutable(string setting, string name, string aptPackage, string what)
    {
        var (found, problem) = FindExecutable(setting, name, aptPackage);
        if (problem is null)
        {
            return found;
        }
        Console.Error.WriteLine($"MUTT runs without {what}: {problem}");
        return null;
    }

    private (string Path, string? Problem) FindExecutable(string setting, string name, string aptPackage)
    {
        var configured = _builder.Configuration[setting] is { Length: > 0 } value ? value : null;
        var wanted = configured ?? name;
        IEnumerable<string> candidates = wanted.Contains('/')
            ? [wanted]
            : (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
                .Concat(["/usr/local/sbin", "/usr/sbin", "/sbin"]).Select(folder => Path.Combine(folder, wanted));
        if (candidates.FirstOrDefault(IsExecutable) is { } found)
        {
            return (found, null);
        }
        return (wanted, configured is not null
            ? $"{configured} (set by {setting}) does not exist or is not executable. Install it: apt-get install -y {aptPackage}, or point {setting.Replace(":", "__", StringComparison.Ordinal)} at a {name} binary."
            : $"{name} was not found on PATH or in /usr/sbin. Install it: apt-get install -y {aptPackage} (./mutt.sh setup installs every prerequisite).");
    }

    /// <summary>
    /// PostgreSQL's server binaries (initdb and postgres): <c>Postgres:BinDirectory</c>, else the newest
    /// <c>/usr/lib/postgresql/*/bin</c> (Debian keeps them off PATH), else the folder of <c>postgres</c> on PATH.
    /// </summary>
    public string PostgresBinDirectory()
    {
        const string Setting = "Postgres:BinDirectory";
        string[] binaries = ["postgres", "initdb"];
        var configured = _builder.Configuration[Setting];
        IEnumerable<string> candidates = configured is { Length: > 0 }
            ? [configured]
            : (Directory.Exists("/usr/lib/postgresql") ? Directory.GetDirectories("/usr/lib/postgresql") : [])
                .OrderByDescending(d => int.TryParse(Path.GetFileName(d), out var major) ? major : 0)
                .Select(d => Path.Combine(d, "bin"))
                .Concat((Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries));
        if (candidates.FirstOrDefault(d => binaries.All(b => IsExecutable(Path.Combine(d, b)))) is { } found)
        {
            return found;
        }
        _missing.Add(configured is { Length: > 0 }
            ? $"{Path.Combine(configured, "postgres")} and {Path.Combine(configured, "initdb")} (set by {Setting}) must both exist and be executable; missing: {string.Join(", ", binaries.Where(b => !IsExecutable(Path.Combine(configured, b))))}. Install PostgreSQL: apt-get install -y postgresql, or point Postgres__BinDirectory at its bin folder."
            : "PostgreSQL's server binaries (postgres, initdb) were not found in /usr/lib/postgresql/*/bin or on PATH. Install them: apt-get install -y postgresql (./mutt.sh setup installs every prerequisite).");
        return configured ?? "/usr/lib/postgresql/bin";
    }

    private static bool IsExecutable(string path) =>
        File.Exists(path) && (File.GetUnixFileMode(path) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0;

    /// <summary>
    /// Says in plain words which server binaries are missing and how to install them; true when the run
    /// cannot start (the caller exits non-zero before DCP starts anything).
    /// </summary>
    public bool ReportMissing()
    {
        if (_missing.Count == 0)
        {
            return false;
        }
        Console.Error.WriteLine("MUTT cannot start locally: a server it runs is missing.");
        foreach (var missing in _missing)
        {
            Console.Error.WriteLine("  - " + missing);
        }
        return true;
    }

    /// <summary>LOG_LEVEL of the AppHost's own environment, when set, goes to every service of a local run (benches, quiet runs).</summary>
    public void ForwardLogLevel()
    {
        if (IsRunMode && Environment.GetEnvironmentVariable("LOG_LEVEL") is { Length: > 0 } level)
        {
            foreach (var project in _builder.Resources.OfType<ProjectResource>())
            {
                _builder.CreateResourceBuilder(project).WithEnvironment("LOG_LEVEL", level);
            }
        }
    }

    /// <summary>
    /// Without the Aspire dashboard nothing receives OTLP, yet Aspire still gives every service the
    /// dashboard's OTLP endpoint (dotnet/aspire#3349): the services would then record a trace of every
    /// event and keep retrying exports to nothing, in memory. Such a run (tests, benchmarks,
    /// <c>--no-dashboard</c>) drops the OTLP exporter annotation, so no OTEL_* variable is set and the
    /// services export nothing (their /metrics stays). A run with the dashboard is unchanged.
    /// </summary>
    public void NoTelemetryExportWithoutDashboard()
    {
        if (!IsRunMode)
        {
            return;
        }
        _builder.Eventing.Subscribe<BeforeStartEvent>((evt, _) =>
        {
            if (evt.Services.GetRequiredService<DistributedApplicationOptions>().DisableDashboard)
            {
                foreach (var resource in evt.Model.Resources)
                {
                    foreach (var annotation in resource.Annotations.OfType<OtlpExporterAnnotation>().ToList())
                    {
                        resource.Annotations.Remove(annotation);
                    }
                }
            }
            return Task.CompletedTask;
        });
    }

    /// <summary>Keeps <c>endpoints.json</c> in the state folder current from Aspire's resource notifications (run mode).</summary>
    public void WriteEndpointsFile(IResourceBuilder<ProjectResource> console)
    {
        if (IsRunMode)
        {
            _builder.Services.AddSingleton(new EndpointsFile.Settings(StateDir, ParametersFile, console.Resource.Name));
            _builder.Services.AddHostedService<EndpointsFile>();
        }
    }

    /// <summary>Writes a file readable by its owner only; created with mode 600 so it is never briefly world-readable.</summary>
    public static void WriteSecretFile(string path, string content)
    {
        var temp = path + ".tmp";
        File.Delete(temp);
        using (var stream = new FileStream(temp, new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        }))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(content);
        }
        File.Move(temp, path, overwrite: true);
    }

    internal static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);
}
