using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Mutt.AppHost;

/// <summary>
/// Debian's <c>prometheus</c> (or <c>Prometheus:Executable</c>) as a local executable: data in
/// <c>&lt;state&gt;/prometheus/data</c>, MUTT's shipped rule files (deploy/prometheus/rules) loaded, one
/// scrape job per MUTT service (<c>mutt-&lt;resource&gt;</c>, the job names the rules match) whose targets
/// are every replica's own port.
/// </summary>
public sealed class LocalPrometheusResource(string name, string executable, string folder)
    : ExecutableResource(name, executable, folder)
{
    public const string DefaultScrapeInterval = "5s";

    public EndpointReference HttpEndpoint => new(this, "http");

    /// <summary>The file_sd file of a scraped resource (job <c>mutt-&lt;resource&gt;</c>).</summary>
    public string TargetsFile(string resource) => Path.Combine(WorkingDirectory, "targets", $"mutt-{resource}.json");
}

public static partial class LocalPrometheusExtensions
{
    /// <summary>
    /// The local Prometheus scraping <paramref name="scraped"/>, or null (nothing added) in publish mode,
    /// with <c>Prometheus:Enabled=false</c>, or when the binary is missing (said on stderr, the run goes on:
    /// Prometheus only observes, and the Dashboard's SLO page falls back to MUTT's Redis counters).
    /// </summary>
    public static IResourceBuilder<LocalPrometheusResource>? AddLocalPrometheus(this IDistributedApplicationBuilder builder, string name,
        LocalRun local, params IResourceBuilder<ProjectResource>[] scraped)
    {
        if (!local.PrometheusEnabled
            || local.OptionalExecutable("Prometheus:Executable", "prometheus", "prometheus", "its own Prometheus (the SLO page uses MUTT's Redis counters)") is not { } executable)
        {
            return null;
        }
        var interval = builder.Configuration["Prometheus:ScrapeInterval"] is { Length: > 0 } configured ? configured : LocalPrometheusResource.DefaultScrapeInterval;
        if (!Duration().IsMatch(interval))
        {
            throw new InvalidOperationException($"Prometheus:ScrapeInterval={interval} must be a Prometheus duration such as 1s or 5s.");
        }
        var resource = new LocalPrometheusResource(name, executable, local.Folder(name));
        var jobs = scraped.Select(s => s.Resource.Name).ToList();
        Directory.CreateDirectory(Path.Combine(resource.WorkingDirectory, "targets"));
        foreach (var job in jobs)
        {
            // No target of a previous run's ports survives into this one.
            PrometheusTargets.WriteAtomically(resource.TargetsFile(job), "[]");
        }
        var rules = Path.GetFullPath(Path.Combine(builder.AppHostDirectory, "..", "deploy", "prometheus", "rules"));
        var config = Path.Combine(resource.WorkingDirectory, "prometheus.yml");
        File.WriteAllText(config, Config(resource, interval, rules, jobs));

        builder.Services.AddSingleton(new PrometheusTargets.Settings(resource, jobs));
        builder.Services.AddHostedService<PrometheusTargets>();
        return builder.AddResource(resource)
            .WithHttpEndpoint(port: local.ListenerPort(9090, ProtocolType.Tcp), name: "http", isProxied: false)
            .WithArgs(context =>
            {
                context.Args.Add("--config.file=" + config);
                context.Args.Add("--storage.tsdb.path=" + Path.Combine(resource.WorkingDirectory, "data"));
                context.Args.Add(ReferenceExpression.Create($"--web.listen-address=127.0.0.1:{resource.HttpEndpoint.Property(EndpointProperty.TargetPort)}"));
            })
            .WithHttpHealthCheck("/-/ready");
    }

    /// <summary>
    /// One job per service with a file_sd_configs file: DCP allocates each replica's port only when it
    /// starts (and again when it is restarted), so no static configuration can name them. The AppHost
    /// rewrites the files from Aspire's notifications (<see cref="PrometheusTargets"/>) and Prometheus
    /// re-reads file_sd files by itself when they change: no reload, no restart.
    /// </summary>
    private static string Config(LocalPrometheusResource resource, string interval, string rules, IEnumerable<string> jobs)
    {
        var yaml = new StringBuilder($"""
            # Written by the AppHost at every start (Mutt.AppHost/LocalPrometheus.cs): edits are overwritten.
            global:
              scrape_interval: {interval}
              evaluation_interval: {interval}
            rule_files:
              - '{Path.Combine(rules, "*.rules.yml")}'
            scrape_configs:

            """);
        foreach (var job in jobs)
        {
            yaml.Append($"""
                  - job_name: mutt-{job}
                    file_sd_configs:
                      - files: ['{resource.TargetsFile(job)}']

                """);
        }
        return yaml.ToString();
    }

    [GeneratedRegex("^[0-9]+(ms|s|m)$")]
    private static partial Regex Duration();
}

/// <summary>
/// Keeps the local Prometheus's file_sd files current: per replica of each scraped service its own
/// address (not Aspire's proxy, which round-robins between replicas: every scrape would hit another
/// one, and counters would jump between them). The address is the replica's first ASPNETCORE_URLS
/// entry (its <c>http</c> endpoint, where /metrics is served) from the environment DCP actually gave
/// the process: Aspire's snapshot URLs are the proxy's. A replica that exited keeps its target, so
/// Prometheus shows it <c>up == 0</c>; a restart with a new port replaces it.
/// </summary>
public sealed class PrometheusTargets(PrometheusTargets.Settings settings, ResourceNotificationService notifications) : BackgroundService
{
    public sealed record Settings(LocalPrometheusResource Prometheus, IReadOnlyList<string> Jobs);

    // resource name → replica id → host:port
    private readonly Dictionary<string, SortedDictionary<string, string>> _targets = [];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var change in notifications.WatchAsync(stoppingToken))
            {
                var job = change.Resource.Name;
                if (!settings.Jobs.Contains(job) || OwnAddress(change.Snapshot) is not { } address)
                {
                    continue;
                }
                if (!_targets.TryGetValue(job, out var replicas))
                {
                    _targets[job] = replicas = new(StringComparer.Ordinal);
                }
                if (replicas.GetValueOrDefault(change.ResourceId) != address)
                {
                    replicas[change.ResourceId] = address;
                    WriteAtomically(settings.Prometheus.TargetsFile(job), Json(replicas));
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// 127.0.0.1:port of the replica's http endpoint; null until DCP has started it (before that the
    /// snapshot holds the specification's templates, not ports).
    /// </summary>
    private static string? OwnAddress(CustomResourceSnapshot snapshot)
    {
        var urls = snapshot.EnvironmentVariables.FirstOrDefault(e => e.Name == "ASPNETCORE_URLS")?.Value;
        return urls?.Split(';')[0] is { } first && Uri.TryCreate(first, UriKind.Absolute, out var uri) && uri.Port > 0
            ? $"127.0.0.1:{uri.Port}"
            : null;
    }

    private static string Json(SortedDictionary<string, string> replicas) =>
        new JsonArray([.. replicas.Select(r => (JsonNode)new JsonObject
        {
            ["targets"] = new JsonArray(r.Value),
            ["labels"] = new JsonObject { ["pod"] = r.Key },
        })]).ToJsonString(new JsonSerializerOptions { WriteIndented = true });

    /// <summary>Temp file and rename: Prometheus never reads a half-written file.</summary>
    public static void WriteAtomically(string path, string content)
    {
        var temp = path + ".tmp";
        File.WriteAllText(temp, content);
        File.Move(temp, path, overwrite: true);
    }
}
