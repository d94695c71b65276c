using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Mutt.AppHost;

/// <summary>
/// <c>endpoints.json</c> in the state folder, for runbooks, benches and scripts: per resource its
/// state, health, pid, URLs, connection string and restarts, and per replica the same, kept current
/// from Aspire's resource notifications. Mode 600 (it holds connection strings with passwords).
/// Logs one line when every resource is up.
/// </summary>
public sealed class EndpointsFile(EndpointsFile.Settings settings, ResourceNotificationService notifications,
    DistributedApplicationModel model, ILogger<EndpointsFile> logger) : BackgroundService
{
    public const string FileName = "endpoints.json";

    public sealed record Settings(string StateDir, string ParametersFile, string ConsoleResource);

    private sealed class Instance
    {
        public required string Id { get; init; }
        public string State { get; set; } = "Waiting";
        public string? Health { get; set; }
        public int? LauncherPid { get; set; }
        public int? Pid => LauncherPid is { } pid ? LocalProcesses.ServiceProcessOf(pid) ?? pid : null;
        public RestartCounter Restarts { get; } = new();
        public int? ExitCode { get; set; }
        public Dictionary<string, string> Urls { get; } = [];
    }

    private readonly Dictionary<string, Dictionary<string, Instance>> _instances = [];
    private readonly Dictionary<string, string> _connectionStrings = [];
    private bool _announced;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        Directory.CreateDirectory(settings.StateDir);
        try
        {
            await foreach (var change in notifications.WatchAsync(stoppingToken))
            {
                await ApplyAsync(change, stoppingToken);
                Write();
                AnnounceWhenUp();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        foreach (var instance in _instances.Values.SelectMany(i => i.Values))
        {
            instance.State = "Stopped";
            instance.LauncherPid = null;
        }
        Write();
    }

    private async Task ApplyAsync(ResourceEvent change, CancellationToken cancellationToken)
    {
        var name = change.Resource.Name;
        if (!IsListed(change.Resource))
        {
            return;
        }
        if (!_instances.TryGetValue(name, out var replicas))
        {
            _instances[name] = replicas = [];
        }
        if (!replicas.TryGetValue(change.ResourceId, out var instance))
        {
            replicas[change.ResourceId] = instance = new Instance { Id = change.ResourceId };
        }
        var snapshot = change.Snapshot;
        instance.Health = snapshot.HealthStatus?.ToString();
        instance.ExitCode = snapshot.ExitCode;
        instance.State = snapshot.State?.Text is { Length: > 0 } state ? state : instance.State;
        var pid = LocalProcesses.LauncherPidOf(snapshot);
        if (pid is not null)
        {
            instance.LauncherPid = pid;
        }
        instance.Restarts.See(instance.State, pid);
        if (RestartCounter.IsDown(instance.State))
        {
            instance.LauncherPid = null;
        }
        foreach (var url in snapshot.Urls.Where(u => !u.IsInternal && u.Name is not null))
        {
            instance.Urls[url.Name!] = url.Url;
        }
        if (change.Resource is IResourceWithConnectionString withConnectionString && !_connectionStrings.ContainsKey(name))
        {
            try
            {
                if (await withConnectionString.GetConnectionStringAsync(cancellationToken) is { } connectionString)
                {
                    _connectionStrings[name] = connectionString;
                }
            }
            catch (InvalidOperationException)
            {
                // Endpoints not allocated yet: the next notification tries again.
            }
        }
    }

    private void Write()
    {
        var resources = new JsonObject();
        foreach (var resource in model.Resources.Where(IsListed))
        {
            var replicas = _instances.GetValueOrDefault(resource.Name)?.Values.OrderBy(i => i.Id, StringComparer.Ordinal).ToList() ?? [];
            var first = replicas.FirstOrDefault();
            var node = new JsonObject
            {
                ["type"] = resource switch
                {
                    LocalRedisResource => "redis",
                    LocalPostgresResource => "postgres",
                    LocalPrometheusResource => "prometheus",
                    LocalDatabaseResource or ConnectionStringResource => "database",
                    ProjectResource => "project",
                    _ => resource.GetType().Name,
                },
                ["state"] = replicas.Count == 0 ? "Waiting" : string.Join('/', replicas.Select(r => r.State).Distinct()),
                ["health"] = first?.Health,
                ["pid"] = first?.Pid,
                ["urls"] = Urls(first),
                ["restarts"] = replicas.Sum(r => r.Restarts.Count),
            };
            if (_connectionStrings.TryGetValue(resource.Name, out var connectionString))
            {
                node["connectionString"] = connectionString;
            }
            if (resource is ProjectResource)
            {
                node["replicas"] = new JsonArray([.. replicas.Select(r => (JsonNode)new JsonObject
                {
                    ["name"] = r.Id,
                    ["state"] = r.State,
                    ["health"] = r.Health,
                    ["pid"] = r.Pid,
                    ["exitCode"] = r.ExitCode,
                    ["urls"] = Urls(r),
                    ["restarts"] = r.Restarts.Count,
                })]);
            }
            resources[resource.Name] = node;
        }
        var console = _instances.GetValueOrDefault(settings.ConsoleResource)?.Values.FirstOrDefault()?.Urls.GetValueOrDefault("http");
        var document = new JsonObject
        {
            ["stateDir"] = settings.StateDir,
            ["parametersFile"] = settings.ParametersFile,
            ["dashboard"] = console,
            ["updatedAt"] = DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture),
            ["resources"] = resources,
        };
        LocalRun.WriteSecretFile(Path.Combine(settings.StateDir, FileName), document.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>Model resources endpoints.json lists: not parameters, not Aspire's hidden project rebuilders.</summary>
    private static bool IsListed(IResource resource) =>
        resource is not ParameterResource && !resource.GetType().Name.Contains("Rebuilder", StringComparison.Ordinal);

    private static JsonObject Urls(Instance? instance)
    {
        var urls = new JsonObject();
        foreach (var (name, url) in instance?.Urls ?? [])
        {
            urls[name] = url;
        }
        return urls;
    }

    private void AnnounceWhenUp()
    {
        if (_announced)
        {
            return;
        }
        var expected = model.Resources.Where(r => IsListed(r) && r is ProjectResource or ExecutableResource).Select(r => r.Name).ToList();
        var up = expected.All(name => _instances.TryGetValue(name, out var replicas) && replicas.Count > 0 && replicas.Values.All(i =>
            (i.State == "Running" && i.Health is null or "Healthy") || (i.State == "Finished" && i.ExitCode == 0)));
        if (!up)
        {
            return;
        }
        _announced = true;
        var console = _instances[settings.ConsoleResource].Values.First().Urls.GetValueOrDefault("http");
        logger.LogInformation("MUTT is up. Operator console: {Console}  Endpoints: {Endpoints}  Ctrl+C stops everything.",
            console, Path.Combine(settings.StateDir, FileName));
    }
}
