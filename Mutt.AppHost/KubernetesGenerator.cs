using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.Serialization;

namespace Mutt.AppHost;

/// <summary>
/// Writes deploy/k8s (kustomize base + overlays) from the Aspire manifest, the one description of
/// MUTT: <c>project.v0</c> → a Deployment and Service (a Job for one-shot projects),
/// <c>parameter.v0</c> with a secret input → a key of the Secret <see cref="SecretName"/>,
/// <c>container.v0</c> → a StatefulSet in the lab overlay and an ExternalName Service in
/// production, <c>value.v0</c> and <c>annotated.string</c> → resolved into the values that use them.
/// What the manifest does not say (replicas, autoscaling, which projects are Jobs or lab-only, the
/// production stand-ins) is in the tables below, so a reader finds every decision in one file.
/// </summary>
public static partial class KubernetesGenerator
{
    public const string Namespace = "mutt";
    public const string ConfigMapName = "mutt-config";
    public const string SecretName = "mutt-secrets";
    /// <summary>On the data-less Secret: the keys the operator must fill, space-separated.</summary>
    public const string SecretKeysAnnotation = "mutt/secret-keys";
    public const string VaultSecretName = "mutt-vault-secret-id";
    public const string VaultMountPath = "/etc/mutt/secrets";
    /// <summary>The account of the pods that wait for a Job (init container <c>kubectl wait</c>).</summary>
    public const string JobWaiterAccount = "mutt-wait-for-jobs";
    public const string KubectlImage = "registry.k8s.io/kubectl:v1.34.1";
    public const string ProductionRegistry = "registry.example.internal";
    /// <summary>Workers drain in-flight batches for up to 30 s on SIGTERM; the kubelet must wait longer before SIGKILL.</summary>
    public const int DrainSeconds = 30;
    public const int TerminationGracePeriodSeconds = 45;
    public const int JobBackoffLimit = 6;
    /// <summary>Prefix of the variables that hold a secret only so that other values can compose it as $(VAR).</summary>
    public const string SecretVariablePrefix = "MUTT_SECRET_";
    /// <summary>The pod annotations Prometheus' conventional kubernetes-pods job (deploy/prometheus/kubernetes-scrape.yml) scrapes by.</summary>
    public const string PrometheusScrapeAnnotation = "prometheus.io/scrape";
    public const string PrometheusPortAnnotation = "prometheus.io/port";
    public const string PrometheusPathAnnotation = "prometheus.io/path";

    /// <summary>Aspire writes no replica count (WithReplicas is a run-mode setting); a <c>replicas</c> field in the manifest wins.</summary>
    private static readonly Dictionary<string, int> Replicas = new() { ["alerter"] = 2 };

    /// <summary>Autoscaled on CPU between the replica count and this; queue-depth scaling needs an external metrics adapter.</summary>
    private static readonly Dictionary<string, int> MaxReplicas = new() { ["alerter"] = 10 };

    /// <summary>Projects that run once to completion (the schema owner): Jobs, not Deployments.</summary>
    private static readonly HashSet<string> Jobs = ["dbmanager"];

    /// <summary>
    /// Projects that use a server a Job prepares but must not wait for the Job: the Ingestor reads only
    /// its webhook mappings from PostgreSQL (cached, retried) and takes every other event without it,
    /// as its AppHost resource does not WaitFor the DbManager either.
    /// </summary>
    private static readonly HashSet<string> DoNotWaitForJobs = ["ingestor"];

    /// <summary>Projects that exist only for local runs and the lab, with the base URL that stands in for their endpoint in production.</summary>
    private static readonly Dictionary<string, string> LabOnly = new() { ["moog-sink"] = "https://moogsoft.example.com" };

    /// <summary>Production values of ConfigMap keys where swapping the base URL is not enough (Moogsoft's webhook path is not the sink's).</summary>
    private static readonly Dictionary<string, string> ProductionValues = new() { ["MOOG_WEBHOOK_URL"] = "https://moogsoft.example.com/events/webhook_mutt" };

    /// <summary>
    /// MUTT's TLS switch per server. Unset, a service uses TLS to any non-loopback host; the lab's
    /// containers serve plain TCP, production servers TLS. The base says true, the lab overlay false.
    /// </summary>
    /// <summary>
    /// Folders a service keeps across restarts, on a PersistentVolumeClaim of the base (size and
    /// storage class are the cluster's to patch): the Remediation's audit archive, where expired
    /// partitions are written before they are dropped. One writer, so ReadWriteOnce and a Recreate
    /// rollout (the old pod releases the claim before the new one mounts it).
    /// </summary>
    private static readonly Dictionary<string, PersistentFolder> PersistentFolders = new()
    {
        ["remediation"] = new("audit-archive", "AUDIT_ARCHIVE_DIR", "/var/lib/mutt/audit-archive", "50Gi"),
    };

    private sealed record PersistentFolder(string Name, string Variable, string MountPath, string Size)
    {
        public string ClaimName => "mutt-" + Name;
    }

    private static readonly Dictionary<string, string> TlsSwitches = new() { ["redis"] = "REDIS_TLS_ENABLED", ["postgres"] = "DB_TLS_ENABLED" };

    /// <summary>CLI: <c>Mutt.AppHost kubernetes MANIFEST DIR</c>. 0 = written, 1 = the manifest cannot be mapped.</summary>
    public static int Write(string manifestPath, string outputDirectory)
    {
        IReadOnlyDictionary<string, string> files;
        try
        {
            files = Render(manifestPath);
        }
        catch (Exception e) when (e is InvalidOperationException or NotSupportedException or IOException or JsonException)
        {
            Console.Error.WriteLine($"kubernetes: {e.Message}");
            return 1;
        }
        // The generator owns every YAML file below the output folder: one it no longer writes is stale.
        if (Directory.Exists(outputDirectory))
        {
            foreach (var file in Directory.GetFiles(outputDirectory, "*.yaml", SearchOption.AllDirectories))
            {
                if (!files.ContainsKey(Path.GetRelativePath(outputDirectory, file).Replace('\\', '/')))
                {
                    File.Delete(file);
                }
            }
        }
        foreach (var (relativePath, content) in files)
        {
            var path = Path.Combine(outputDirectory, relativePath);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, content);
        }
        Console.WriteLine($"kubernetes: wrote {files.Count} files to {outputDirectory} from {manifestPath}");
        return 0;
    }

    /// <summary>Every file (path relative to deploy/k8s → YAML) from a manifest file and the build settings of the repository it lies in.</summary>
    public static IReadOnlyDictionary<string, string> Render(string manifestPath)
    {
        var manifest = JsonNode.Parse(File.ReadAllText(manifestPath)) as JsonObject
            ?? throw new InvalidOperationException($"{manifestPath} is not a JSON object.");
        return Render(manifest, BuildSettings.Read(Path.GetDirectoryName(Path.GetFullPath(manifestPath))!));
    }

    public static IReadOnlyDictionary<string, string> Render(JsonObject manifest, BuildSettings build) => new Generator(manifest, build).Render();

    /// <summary>
    /// What the images are called: <c>&lt;Version&gt;</c> from Directory.Build.props as the tag, the
    /// repository from the SDK container settings in Directory.Build.targets (the images CI builds),
    /// <c>mutt/&lt;resource&gt;</c> for a project that has none there yet.
    /// </summary>
    public sealed partial record BuildSettings(string Version, IReadOnlyDictionary<string, string> Repositories)
    {
        [GeneratedRegex(@"'\$\(MSBuildProjectName\)'\s*==\s*'([^']+)'")]
        private static partial Regex ProjectCondition();

        public static BuildSettings Read(string directory)
        {
            var root = new DirectoryInfo(directory);
            while (root is not null && !File.Exists(Path.Combine(root.FullName, "Directory.Build.props")))
            {
                root = root.Parent;
            }
            if (root is null)
            {
                throw new InvalidOperationException($"No Directory.Build.props above {directory}: the image tag comes from its <Version>.");
            }
            var props = XDocument.Load(Path.Combine(root.FullName, "Directory.Build.props"));
            var version = props.Descendants().FirstOrDefault(e => e.Name.LocalName == "Version")?.Value.Trim();
            if (string.IsNullOrEmpty(version))
            {
                throw new InvalidOperationException("Directory.Build.props has no <Version>.");
            }

            var repositories = new Dictionary<string, string>(StringComparer.Ordinal);
            var targetsPath = Path.Combine(root.FullName, "Directory.Build.targets");
            if (File.Exists(targetsPath))
            {
                var targets = XDocument.Load(targetsPath);
                var services = targets.Descendants().Where(e => e.Name.LocalName == "MuttContainerService")
                    .Select(e => (Match: ProjectCondition().Match((string?)e.Attribute("Condition") ?? ""), Service: e.Value.Trim()))
                    .Where(s => s.Match.Success)
                    .ToList();
                if (services.Count > 0)
                {
                    var template = targets.Descendants().FirstOrDefault(e => e.Name.LocalName == "ContainerRepository")?.Value.Trim()
                        ?? throw new InvalidOperationException("Directory.Build.targets names MuttContainerService values but no <ContainerRepository>.");
                    foreach (var (match, service) in services)
                    {
                        repositories[match.Groups[1].Value] = template.Replace("$(MuttContainerService)", service, StringComparison.Ordinal);
                    }
                }
            }
            return new BuildSettings(version, repositories);
        }

        /// <summary>The image repository (no tag) of a project resource.</summary>
        public string Repository(string resourceName, string projectPath) =>
            Repositories.TryGetValue(Path.GetFileNameWithoutExtension(projectPath), out var repository) ? repository : "mutt/" + resourceName;
    }

    [GeneratedRegex(@"\{([A-Za-z0-9-]+)\.([A-Za-z0-9._-]+)\}")]
    private static partial Regex Expression();

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    private static partial Regex DnsLabel();

    /// <summary>A piece of a resolved value: literal text, or the Secret key whose value goes there.</summary>
    private readonly record struct Part(string? Text, string? SecretKey);

    private sealed record Resolved(IReadOnlyList<Part> Parts, IReadOnlySet<string> Uses)
    {
        public bool HasSecret => Parts.Any(p => p.SecretKey is not null);
        public string Text => HasSecret ? throw new InvalidOperationException("a secret has no text") : string.Concat(Parts.Select(p => p.Text));
        public string? WholeSecret => Parts is [{ SecretKey: { } key }] ? key : null;
    }

    /// <summary>A container's env being built: a secret is read once from the Secret and composed into other values as $(VAR).</summary>
    private sealed class EnvBuilder(Action<string> useSecretKey)
    {
        private readonly Dictionary<string, string> _holders = new(StringComparer.Ordinal);
        public List<object> Secrets { get; } = [];

        public void Hold(string variable, string key)
        {
            useSecretKey(key);
            Secrets.Add(SecretRef(variable, key));
            _holders.TryAdd(key, variable);
        }

        /// <summary>
        /// The text for a <c>value</c> (or command/args) field: literals escaped, each secret as
        /// $(VAR) of the variable that holds it. Kubernetes expands $(VAR) only from variables
        /// declared earlier in the list, so the holders go first (<see cref="Secrets"/>).
        /// </summary>
        public string Compose(Resolved value) => string.Concat(value.Parts.Select(p =>
        {
            if (p.SecretKey is not { } key)
            {
                return Escape(p.Text!);
            }
            if (!_holders.TryGetValue(key, out var holder))
            {
                holder = SecretVariablePrefix + key.ToUpperInvariant().Replace('-', '_');
                Hold(holder, key);
            }
            return $"$({holder})";
        }));
    }

    private sealed record ProjectPlan(string Name, JsonObject Resource, List<object> Env, IReadOnlySet<string> Servers);

    private sealed class Generator(JsonObject manifest, BuildSettings build)
    {
        private readonly JsonObject _resources = manifest["resources"] as JsonObject
            ?? throw new InvalidOperationException("The manifest has no \"resources\" object.");
        private readonly SortedDictionary<string, string> _config = new(StringComparer.Ordinal);
        private readonly Dictionary<string, string> _configExpressions = new(StringComparer.Ordinal);
        private readonly SortedSet<string> _secretKeys = new(StringComparer.Ordinal);

        public IReadOnlyDictionary<string, string> Render()
        {
            foreach (var (name, _) in _resources)
            {
                if (Type(name) is not ("project.v0" or "container.v0" or "parameter.v0" or "value.v0" or "annotated.string"))
                {
                    throw new NotSupportedException($"Resource {name} is a {Type(name)}, which has no Kubernetes mapping here.");
                }
                if (!DnsLabel().IsMatch(name))
                {
                    throw new InvalidOperationException($"Resource name {name} is not a DNS label, so it cannot name a Service.");
                }
            }
            var projects = Names("project.v0");
            var containers = Names("container.v0");
            foreach (var table in new IEnumerable<string>[] { Replicas.Keys, MaxReplicas.Keys, Jobs, DoNotWaitForJobs, LabOnly.Keys, PersistentFolders.Keys })
            {
                if (table.FirstOrDefault(n => !projects.Contains(n)) is { } missing)
                {
                    throw new InvalidOperationException($"The generator's tables name {missing}, which is no project of the manifest.");
                }
            }
            if (TlsSwitches.Keys.FirstOrDefault(n => !containers.Contains(n)) is { } server)
            {
                throw new InvalidOperationException($"The TLS table names {server}, which is no container of the manifest.");
            }

            var plans = projects.Select(Plan).ToList();
            var jobServers = plans.Where(p => Jobs.Contains(p.Name)).ToDictionary(p => p.Name, p => p.Servers);
            // The manifest carries no WaitFor. A service waits for a Job when it uses a server the
            // Job prepares (the DbManager owns the schema and the role the services log in with).
            IReadOnlyList<string> WaitsFor(ProjectPlan plan) => Jobs.Contains(plan.Name) || DoNotWaitForJobs.Contains(plan.Name) ? [] :
                jobServers.Where(j => j.Value.Overlaps(plan.Servers)).Select(j => JobName(j.Key)).Order(StringComparer.Ordinal).ToList();

            var files = new SortedDictionary<string, string>(StringComparer.Ordinal);
            var baseResources = new List<object> { "namespace.yaml", "configmap.yaml", "secret.yaml" };
            var labResources = new List<object> { "../../base" };
            var baseImages = new SortedSet<string>(StringComparer.Ordinal);
            foreach (var plan in plans)
            {
                var waits = WaitsFor(plan);
                var image = build.Repository(plan.Name, Text(plan.Resource, "path"));
                var documents = Jobs.Contains(plan.Name) ? [Job(plan, image)] : Workload(plan, image, waits);
                if (LabOnly.ContainsKey(plan.Name))
                {
                    files[$"overlays/lab/{plan.Name}.yaml"] = Yaml(documents);
                    labResources.Add($"{plan.Name}.yaml");
                }
                else
                {
                    files[$"base/{plan.Name}.yaml"] = Yaml(documents);
                    baseResources.Add($"{plan.Name}.yaml");
                    baseImages.Add(image);
                }
            }
            if (plans.Any(p => WaitsFor(p).Count > 0))
            {
                files["base/wait-for-jobs.yaml"] = Yaml(JobWaiterRbac());
                baseResources.Add("wait-for-jobs.yaml");
            }

            // Before the Secret is written: the servers' env adds the keys it reads.
            foreach (var name in containers)
            {
                files[$"overlays/lab/{name}.yaml"] = Yaml(StatefulSet(name));
                labResources.Insert(1 + containers.IndexOf(name), $"{name}.yaml");
            }

            var usedServers = plans.SelectMany(p => p.Servers).ToHashSet();
            foreach (var variable in TlsSwitches.Where(t => usedServers.Contains(t.Key)).Select(t => t.Value))
            {
                _config[variable] = "true";
            }

            files["base/namespace.yaml"] = Yaml([new Map { ["apiVersion"] = "v1", ["kind"] = "Namespace", ["metadata"] = new Map { ["name"] = Namespace } }]);
            files["base/configmap.yaml"] = Yaml([new Map
            {
                ["apiVersion"] = "v1",
                ["kind"] = "ConfigMap",
                ["metadata"] = Metadata(ConfigMapName, null),
                ["data"] = new Map(_config.Select(kv => new KeyValuePair<string, object?>(kv.Key, kv.Value))),
            }]);
            files["base/secret.yaml"] = Yaml(
                [new Map
                {
                    ["apiVersion"] = "v1",
                    ["kind"] = "Secret",
                    ["metadata"] = new Map
                    {
                        ["name"] = SecretName,
                        ["annotations"] = new Map { [SecretKeysAnnotation] = string.Join(' ', _secretKeys) },
                    },
                    ["type"] = "Opaque",
                }],
                "# The Secret carries no data, so `kubectl apply -k` never overwrites the values: create it with\n" +
                "# the keys listed in the annotation before the first apply (docs/deployment.md).\n");
            files["base/kustomization.yaml"] = Yaml([Kustomization(baseResources, [], [])]);

            var labPatches = TlsSwitches.Where(t => _config.ContainsKey(t.Value))
                .Select(t => (object)new Map { ["op"] = "replace", ["path"] = $"/data/{t.Value}", ["value"] = "false" }).ToList();
            files["overlays/lab/kustomization.yaml"] = Yaml([Kustomization(labResources, ConfigMapPatch(labPatches), [])]);

            files["overlays/production/external-services.yaml"] = Yaml(containers.Select(ExternalService).ToList());
            var productionPatches = _configExpressions
                .Where(c => Resolve(c.Value, c.Key, production: false).Uses.Any(LabOnly.ContainsKey))
                .OrderBy(c => c.Key, StringComparer.Ordinal)
                .Select(c => (object)new Map
                {
                    ["op"] = "replace",
                    ["path"] = $"/data/{c.Key}",
                    ["value"] = ProductionValues.TryGetValue(c.Key, out var value) ? value : Resolve(c.Value, c.Key, production: true).Text,
                }).ToList();
            var images = baseImages.Select(i => (object)new Map { ["name"] = i, ["newName"] = $"{ProductionRegistry}/{i}" }).ToList();
            files["overlays/production/kustomization.yaml"] = Yaml([Kustomization(
                ["../../base", "external-services.yaml"], ConfigMapPatch(productionPatches), images)]);
            return files;
        }

        private List<string> Names(string type) => _resources.Select(r => r.Key).Where(n => Type(n) == type).ToList();

        private JsonObject Resource(string name, string context) => _resources[name] as JsonObject
            ?? throw new InvalidOperationException($"{context} refers to {name}, which is no resource of the manifest.");

        private string Type(string name) => Text(Resource(name, name), "type");

        private static string Text(JsonObject node, string property) => node[property] is JsonValue value && value.TryGetValue<string>(out var text)
            ? text
            : throw new InvalidOperationException($"Expected a string \"{property}\" in {node.GetPath()}.");

        /// <summary>Env of a project (after the platform's own variables) and the servers it uses.</summary>
        private ProjectPlan Plan(string name)
        {
            var resource = Resource(name, name);
            var env = new EnvBuilder(key => _secretKeys.Add(key));
            var values = new List<object>();
            var uses = new HashSet<string>(StringComparer.Ordinal);
            var entries = (resource["env"] as JsonObject ?? []).Select(kv => (Name: kv.Key, Expression: kv.Value?.GetValue<string>() ?? "")).ToList();
            var resolved = entries.Select(e => (e.Name, e.Expression, Value: Resolve(e.Expression, $"{name}.env.{e.Name}", production: false))).ToList();
            // Variables that are one secret come first and hold it for the values that compose it.
            foreach (var (variable, _, value) in resolved)
            {
                if (value.WholeSecret is { } key)
                {
                    env.Hold(variable, key);
                }
            }
            foreach (var (variable, expression, value) in resolved)
            {
                uses.UnionWith(value.Uses);
                if (value.WholeSecret is not null)
                {
                    continue;
                }
                if (value.HasSecret)
                {
                    values.Add(new Map { ["name"] = variable, ["value"] = env.Compose(value) });
                }
                else if (value.Uses.Any(u => u != name && Type(u) is "project.v0" or "container.v0" or "value.v0"))
                {
                    // Addresses of other resources go through the ConfigMap: an overlay repoints them in one place.
                    if (_config.TryGetValue(variable, out var existing) && existing != value.Text)
                    {
                        throw new InvalidOperationException($"{variable} differs between services ('{existing}' vs '{value.Text}'); a ConfigMap key holds one value.");
                    }
                    _config[variable] = value.Text;
                    _configExpressions[variable] = expression;
                    values.Add(new Map { ["name"] = variable, ["valueFrom"] = new Map { ["configMapKeyRef"] = new Map { ["name"] = ConfigMapName, ["key"] = variable } } });
                }
                else
                {
                    values.Add(new Map { ["name"] = variable, ["value"] = Escape(value.Text) });
                }
            }
            var servers = uses.Where(u => Type(u) == "container.v0").ToHashSet(StringComparer.Ordinal);
            var defined = entries.Select(e => e.Name).ToHashSet(StringComparer.Ordinal);
            var platform = PlatformEnv(name, resource, servers).Where(e => !defined.Contains((string)((Map)e)["name"]!));
            return new ProjectPlan(name, resource, [.. platform, .. env.Secrets, .. values], servers);
        }

        /// <summary>What the platform provides and the manifest leaves to the deployment.</summary>
        private IEnumerable<object> PlatformEnv(string name, JsonObject resource, IReadOnlySet<string> servers)
        {
            var http = Bindings(resource).Where(b => Text(b.Binding, "transport") is "http" or "http2").ToList();
            if (http.Count > 0)
            {
                // The images set ASPNETCORE_URLS to the spec ports, and URLS wins over HTTP_PORTS: say the ports the manifest gives.
                yield return new Map { ["name"] = "ASPNETCORE_URLS", ["value"] = string.Join(';', http.Select(b => $"http://+:{ContainerPort(b.Binding, b.Name)}")) };
            }
            yield return new Map { ["name"] = "POD_NAME", ["valueFrom"] = new Map { ["fieldRef"] = new Map { ["fieldPath"] = "metadata.name" } } };
            yield return new Map { ["name"] = "OTEL_SERVICE_NAME", ["value"] = name };
            yield return new Map { ["name"] = "VAULT_SECRET_ID_FILE", ["value"] = $"{VaultMountPath}/vault_secret_id" };
            foreach (var variable in TlsSwitches.Where(t => servers.Contains(t.Key)).Select(t => t.Value))
            {
                yield return new Map { ["name"] = variable, ["valueFrom"] = new Map { ["configMapKeyRef"] = new Map { ["name"] = ConfigMapName, ["key"] = variable } } };
            }
        }

        /// <summary>Resolves manifest expressions into in-cluster values: a resource is its Service name on its Service port.</summary>
        private Resolved Resolve(string expression, string context, bool production)
        {
            var parts = new List<Part>();
            var uses = new HashSet<string>(StringComparer.Ordinal);
            var at = 0;
            foreach (Match match in Expression().Matches(expression))
            {
                if (match.Index > at)
                {
                    parts.Add(new Part(expression[at..match.Index], null));
                }
                Reference(match.Groups[1].Value, match.Groups[2].Value.Split('.'), match.Value, context, production, parts, uses);
                at = match.Index + match.Length;
            }
            if (at < expression.Length)
            {
                parts.Add(new Part(expression[at..], null));
            }
            return new Resolved(parts, uses);
        }

        private void Reference(string name, string[] path, string expression, string context, bool production, List<Part> parts, HashSet<string> uses)
        {
            var resource = Resource(name, context);
            var type = Type(name);
            uses.Add(name);
            void Append(Resolved inner)
            {
                parts.AddRange(inner.Parts);
                uses.UnionWith(inner.Uses);
            }
            switch (path)
            {
                case ["connectionString"] when resource["connectionString"] is not null:
                    Append(Resolve(Text(resource, "connectionString"), $"{context} → {name}", production));
                    return;
                case ["value"] when type == "parameter.v0":
                    var input = resource["inputs"]?["value"];
                    if (input?["secret"]?.GetValue<bool>() == true)
                    {
                        parts.Add(new Part(null, name));
                    }
                    else if (input?["default"]?["value"] is JsonValue literal)
                    {
                        parts.Add(new Part(literal.GetValue<string>(), null));
                    }
                    else
                    {
                        throw new InvalidOperationException($"{context}: parameter {name} is neither secret nor has a default value.");
                    }
                    return;
                case ["value"] when type == "annotated.string":
                    var inner = Resolve(Text(resource, "value"), $"{context} → {name}", production);
                    if (resource["filter"]?.GetValue<string>() != "uri")
                    {
                        throw new NotSupportedException($"{context}: {name} has a filter other than uri.");
                    }
                    uses.UnionWith(inner.Uses);
                    // The kubelet cannot URI-encode: a filtered secret is a Secret key of its own (the operator stores it encoded).
                    parts.Add(inner.HasSecret ? new Part(null, name) : new Part(Uri.EscapeDataString(inner.Text), null));
                    return;
                case ["value"] when type == "value.v0" && resource["value"] is not null:
                    Append(Resolve(Text(resource, "value"), $"{context} → {name}", production));
                    return;
                case ["bindings", var endpoint, var property] when type is "project.v0" or "container.v0":
                    var binding = Binding(resource, name, endpoint, context);
                    if (production && LabOnly.TryGetValue(name, out var standIn))
                    {
                        parts.Add(property == "url" ? new Part(standIn, null)
                            : throw new NotSupportedException($"{context}: {expression} of the lab-only {name} has no production value."));
                        return;
                    }
                    parts.Add(new Part(property switch
                    {
                        "host" => name,
                        "port" => Invariant(ServicePort(binding, endpoint)),
                        "targetPort" => Invariant(ContainerPort(binding, endpoint)),
                        "scheme" => Text(binding, "scheme"),
                        "url" => $"{Text(binding, "scheme")}://{name}:{Invariant(ServicePort(binding, endpoint))}",
                        _ => throw new NotSupportedException($"{context}: {expression} has no Kubernetes equivalent."),
                    }, null));
                    return;
                default:
                    throw new NotSupportedException($"{context}: {expression} has no Kubernetes equivalent.");
            }
        }

        private static JsonObject Binding(JsonObject resource, string name, string endpoint, string context) =>
            resource["bindings"]?[endpoint] as JsonObject ?? throw new InvalidOperationException($"{context}: {name} has no binding {endpoint}.");

        private static IEnumerable<(string Name, JsonObject Binding)> Bindings(JsonObject resource) =>
            (resource["bindings"] as JsonObject ?? []).Select(b => (b.Key, (JsonObject)b.Value!));

        /// <summary>
        /// The port the process listens on: the binding's targetPort. Aspire leaves it out for a
        /// project's first HTTP endpoint (the deployment's choice); MUTT's images listen on the spec
        /// port there, which is the binding's port.
        /// </summary>
        private static int ContainerPort(JsonObject binding, string endpoint) =>
            binding["targetPort"]?.GetValue<int>() ?? binding["port"]?.GetValue<int>()
            ?? throw new InvalidOperationException($"Binding {endpoint} has neither targetPort nor port.");

        /// <summary>The Service port: the binding's port (the spec's), else its targetPort (listeners that Aspire does not proxy).</summary>
        private static int ServicePort(JsonObject binding, string endpoint) =>
            binding["port"]?.GetValue<int>() ?? ContainerPort(binding, endpoint);

        private static string Protocol(JsonObject binding) => Text(binding, "protocol") == "udp" ? "UDP" : "TCP";

        private static List<object> Ports(JsonObject resource, bool container) => Bindings(resource).Select(b =>
        {
            if (b.Name.Length > 15 || !DnsLabel().IsMatch(b.Name))
            {
                throw new InvalidOperationException($"Binding name {b.Name} is not a Kubernetes port name (a DNS label of at most 15 characters).");
            }
            return container
                ? (object)new Map { ["name"] = b.Name, ["containerPort"] = ContainerPort(b.Binding, b.Name), ["protocol"] = Protocol(b.Binding) }
                : new Map { ["name"] = b.Name, ["port"] = ServicePort(b.Binding, b.Name), ["targetPort"] = b.Name, ["protocol"] = Protocol(b.Binding) };
        }).ToList();

        /// <summary>
        /// The pod's labels and, for a service with an <c>http</c> endpoint (where every MUTT service
        /// serves /metrics), the prometheus.io/* annotations that deploy/prometheus/kubernetes-scrape.yml
        /// keeps: each pod is scraped on its own, so every replica is counted (a Service would
        /// round-robin the scrapes over them).
        /// </summary>
        private static Map PodMetadata(ProjectPlan plan)
        {
            var metadata = new Map { ["labels"] = new Map { ["app.kubernetes.io/name"] = plan.Name } };
            if (Bindings(plan.Resource).FirstOrDefault(b => b.Name == "http") is { Binding: not null } http)
            {
                metadata["annotations"] = new Map
                {
                    [PrometheusScrapeAnnotation] = "true",
                    [PrometheusPortAnnotation] = ContainerPort(http.Binding, http.Name).ToString(CultureInfo.InvariantCulture),
                    [PrometheusPathAnnotation] = "/metrics",
                };
            }
            return metadata;
        }

        private string JobName(string project) => $"{project}-{build.Version.Replace('.', '-').Replace('+', '-').ToLowerInvariant()}";

        /// <summary>A Deployment, its Service and (for the autoscaled) an HPA.</summary>
        private List<object> Workload(ProjectPlan plan, string repository, IReadOnlyList<string> waitsFor)
        {
            var bindings = Bindings(plan.Resource).Select(b => b.Name).ToList();
            // The manifest does not say which endpoint serves /health: the dedicated one when there is one.
            var healthPort = bindings.Contains("health") ? "health" : bindings.Contains("http") ? "http" : null;
            var container = Container(plan, repository);
            container.Insert(2, "ports", Ports(plan.Resource, container: true));
            if (healthPort is not null)
            {
                container["readinessProbe"] = Probe("/health", healthPort, period: 10, failures: 3);
                container["livenessProbe"] = Probe("/alive", healthPort, period: 20, failures: 3);
                container["startupProbe"] = Probe("/alive", healthPort, period: 5, failures: 24);
            }
            var pod = PodSpec(container);
            if (waitsFor.Count > 0)
            {
                pod = new Map(pod.Prepend(new("serviceAccountName", JobWaiterAccount)));
                pod.Insert(pod.IndexOf("containers"), "initContainers", waitsFor.Select(WaitForJob).ToList());
            }
            var replicas = plan.Resource["replicas"]?.GetValue<int>() ?? Replicas.GetValueOrDefault(plan.Name, 1);
            var deployment = new Map
            {
                ["replicas"] = replicas,
                ["selector"] = new Map { ["matchLabels"] = new Map { ["app.kubernetes.io/name"] = plan.Name } },
                ["template"] = new Map
                {
                    ["metadata"] = PodMetadata(plan),
                    ["spec"] = pod,
                },
            };
            var documents = new List<object>();
            if (PersistentFolders.TryGetValue(plan.Name, out var folder))
            {
                documents.Add(Claim(folder, plan.Name));
                ((List<object>)container["env"]!).Add(new Map { ["name"] = folder.Variable, ["value"] = folder.MountPath });
                ((List<object>)container["volumeMounts"]!).Add(new Map { ["name"] = folder.Name, ["mountPath"] = folder.MountPath });
                ((List<object>)pod["volumes"]!).Add(new Map { ["name"] = folder.Name, ["persistentVolumeClaim"] = new Map { ["claimName"] = folder.ClaimName } });
                deployment.Insert(1, "strategy", new Map { ["type"] = "Recreate" });
            }
            documents.Insert(0, new Map
            {
                ["apiVersion"] = "apps/v1",
                ["kind"] = "Deployment",
                ["metadata"] = Metadata(plan.Name, plan.Name),
                ["spec"] = deployment,
            });
            if (bindings.Count > 0)
            {
                documents.Add(new Map
                {
                    ["apiVersion"] = "v1",
                    ["kind"] = "Service",
                    ["metadata"] = Metadata(plan.Name, plan.Name),
                    ["spec"] = new Map
                    {
                        ["selector"] = new Map { ["app.kubernetes.io/name"] = plan.Name },
                        ["ports"] = Ports(plan.Resource, container: false),
                    },
                });
            }
            if (MaxReplicas.TryGetValue(plan.Name, out var max))
            {
                documents.Add(Hpa(plan.Name, replicas, max));
            }
            return documents;
        }

        private static Map Claim(PersistentFolder folder, string app) => new()
        {
            ["apiVersion"] = "v1",
            ["kind"] = "PersistentVolumeClaim",
            ["metadata"] = Metadata(folder.ClaimName, app),
            ["spec"] = new Map
            {
                ["accessModes"] = new List<object> { "ReadWriteOnce" },
                ["resources"] = new Map { ["requests"] = new Map { ["storage"] = folder.Size } },
            },
        };

        /// <summary>
        /// A one-shot project. Named with the version: a Job's pod template cannot change, so each
        /// release gets its own Job, and that release's pods wait for it. No ttlSecondsAfterFinished:
        /// a pod that starts later (a reschedule) must still find the completed Job.
        /// </summary>
        private Map Job(ProjectPlan plan, string repository)
        {
            var pod = PodSpec(Container(plan, repository));
            pod.Remove("terminationGracePeriodSeconds");
            return new Map
            {
                ["apiVersion"] = "batch/v1",
                ["kind"] = "Job",
                ["metadata"] = Metadata(JobName(plan.Name), plan.Name),
                ["spec"] = new Map
                {
                    ["backoffLimit"] = JobBackoffLimit,
                    ["template"] = new Map
                    {
                        ["metadata"] = new Map { ["labels"] = new Map { ["app.kubernetes.io/name"] = plan.Name } },
                        ["spec"] = new Map(pod.Prepend(new("restartPolicy", "OnFailure"))),
                    },
                },
            };
        }

        private Map Container(ProjectPlan plan, string repository) => new()
        {
            ["name"] = plan.Name,
            ["image"] = $"{repository}:{build.Version}",
            ["env"] = plan.Env,
            ["resources"] = new Map
            {
                ["requests"] = new Map { ["cpu"] = "100m", ["memory"] = "128Mi" },
                ["limits"] = new Map { ["cpu"] = "1", ["memory"] = "512Mi" },
            },
            ["securityContext"] = new Map { ["allowPrivilegeEscalation"] = false, ["readOnlyRootFilesystem"] = true },
            ["volumeMounts"] = new List<object>
            {
                new Map { ["name"] = "vault-secret-id", ["mountPath"] = VaultMountPath, ["readOnly"] = true },
                new Map { ["name"] = "tmp", ["mountPath"] = "/tmp" },
            },
        };

        private static Map PodSpec(Map container) => new()
        {
            ["terminationGracePeriodSeconds"] = TerminationGracePeriodSeconds,
            ["securityContext"] = new Map { ["runAsNonRoot"] = true, ["runAsUser"] = 1654, ["fsGroup"] = 1654 },
            ["containers"] = new List<object> { container },
            ["volumes"] = new List<object>
            {
                // Only Vault's AppRole login reads it; without Vault the pod starts without the Secret.
                new Map { ["name"] = "vault-secret-id", ["secret"] = new Map { ["secretName"] = VaultSecretName, ["defaultMode"] = 256, ["optional"] = true } },
                new Map { ["name"] = "tmp", ["emptyDir"] = new Map() },
            },
        };

        /// <summary>The service starts only after the Job completed; a failed or unfinished Job keeps it in Init and retried.</summary>
        private static Map WaitForJob(string job) => new()
        {
            ["name"] = "wait-for-" + job,
            ["image"] = KubectlImage,
            ["args"] = new List<object> { "wait", "--for=condition=complete", "job/" + job, "--namespace=$(POD_NAMESPACE)", "--timeout=300s" },
            ["env"] = new List<object>
            {
                new Map { ["name"] = "POD_NAMESPACE", ["valueFrom"] = new Map { ["fieldRef"] = new Map { ["fieldPath"] = "metadata.namespace" } } },
                new Map { ["name"] = "HOME", ["value"] = "/tmp" },
            },
            ["resources"] = new Map
            {
                ["requests"] = new Map { ["cpu"] = "10m", ["memory"] = "32Mi" },
                ["limits"] = new Map { ["cpu"] = "200m", ["memory"] = "128Mi" },
            },
            ["securityContext"] = new Map { ["allowPrivilegeEscalation"] = false, ["readOnlyRootFilesystem"] = true },
            ["volumeMounts"] = new List<object> { new Map { ["name"] = "tmp", ["mountPath"] = "/tmp" } },
        };

        private static List<object> JobWaiterRbac() =>
        [
            new Map { ["apiVersion"] = "v1", ["kind"] = "ServiceAccount", ["metadata"] = Metadata(JobWaiterAccount, null) },
            new Map
            {
                ["apiVersion"] = "rbac.authorization.k8s.io/v1",
                ["kind"] = "Role",
                ["metadata"] = Metadata(JobWaiterAccount, null),
                ["rules"] = new List<object>
                {
                    new Map { ["apiGroups"] = new List<object> { "batch" }, ["resources"] = new List<object> { "jobs" }, ["verbs"] = new List<object> { "get", "list", "watch" } },
                },
            },
            new Map
            {
                ["apiVersion"] = "rbac.authorization.k8s.io/v1",
                ["kind"] = "RoleBinding",
                ["metadata"] = Metadata(JobWaiterAccount, null),
                ["roleRef"] = new Map { ["apiGroup"] = "rbac.authorization.k8s.io", ["kind"] = "Role", ["name"] = JobWaiterAccount },
                ["subjects"] = new List<object> { new Map { ["kind"] = "ServiceAccount", ["name"] = JobWaiterAccount } },
            },
        ];

        private static Map Probe(string path, string port, int period, int failures) => new()
        {
            ["httpGet"] = new Map { ["path"] = path, ["port"] = port },
            ["periodSeconds"] = period,
            ["timeoutSeconds"] = 3,
            ["failureThreshold"] = failures,
        };

        private static Map Hpa(string name, int min, int max) => new()
        {
            ["apiVersion"] = "autoscaling/v2",
            ["kind"] = "HorizontalPodAutoscaler",
            ["metadata"] = Metadata(name, name),
            ["spec"] = new Map
            {
                ["scaleTargetRef"] = new Map { ["apiVersion"] = "apps/v1", ["kind"] = "Deployment", ["name"] = name },
                ["minReplicas"] = min,
                ["maxReplicas"] = max,
                ["metrics"] = new List<object>
                {
                    new Map
                    {
                        ["type"] = "Resource",
                        ["resource"] = new Map { ["name"] = "cpu", ["target"] = new Map { ["type"] = "Utilization", ["averageUtilization"] = 70 } },
                    },
                },
                ["behavior"] = new Map { ["scaleDown"] = new Map { ["stabilizationWindowSeconds"] = 300 } },
            },
        };

        /// <summary>A lab server: the manifest's container (image, entrypoint, args, env, volumes) as a StatefulSet behind a headless Service.</summary>
        private List<object> StatefulSet(string name)
        {
            var resource = Resource(name, name);
            var env = new EnvBuilder(key => _secretKeys.Add(key));
            var values = new List<object>();
            var resolved = (resource["env"] as JsonObject ?? [])
                .Select(kv => (Name: kv.Key, Value: Resolve(kv.Value?.GetValue<string>() ?? "", $"{name}.env.{kv.Key}", production: false))).ToList();
            foreach (var (variable, value) in resolved)
            {
                if (value.WholeSecret is { } key)
                {
                    env.Hold(variable, key);
                }
            }
            foreach (var (variable, value) in resolved.Where(r => r.Value.WholeSecret is null))
            {
                values.Add(new Map { ["name"] = variable, ["value"] = env.Compose(value) });
            }
            var container = new Map { ["name"] = name, ["image"] = Text(resource, "image") };
            if (resource["entrypoint"] is not null)
            {
                container["command"] = new List<object> { env.Compose(Resolve(Text(resource, "entrypoint"), $"{name}.entrypoint", production: false)) };
            }
            if (resource["args"] is JsonArray args)
            {
                container["args"] = args.Select(a => (object)env.Compose(Resolve(a!.GetValue<string>(), $"{name}.args", production: false))).ToList();
            }
            List<object> allEnv = [.. env.Secrets, .. values];
            if (allEnv.Count > 0)
            {
                container["env"] = allEnv;
            }
            container["ports"] = Ports(resource, container: true);
            var tcp = Bindings(resource).Where(b => Protocol(b.Binding) == "TCP").Select(b => b.Name).FirstOrDefault();
            if (tcp is not null)
            {
                container["readinessProbe"] = new Map { ["tcpSocket"] = new Map { ["port"] = tcp }, ["periodSeconds"] = 10 };
            }
            container["resources"] = new Map
            {
                ["requests"] = new Map { ["cpu"] = "100m", ["memory"] = "256Mi" },
                ["limits"] = new Map { ["cpu"] = "1", ["memory"] = "1Gi" },
            };
            var volumes = (resource["volumes"] as JsonArray ?? []).Select(v => (JsonObject)v!).ToList();
            if (volumes.Count > 0)
            {
                container["volumeMounts"] = volumes.Select(v => (object)new Map
                {
                    ["name"] = Text(v, "name"),
                    ["mountPath"] = Text(v, "target"),
                    ["readOnly"] = v["readOnly"]?.GetValue<bool>() ?? false,
                }).ToList();
            }
            var spec = new Map
            {
                ["serviceName"] = name,
                ["replicas"] = 1,
                ["selector"] = new Map { ["matchLabels"] = new Map { ["app.kubernetes.io/name"] = name } },
                ["template"] = new Map
                {
                    ["metadata"] = new Map { ["labels"] = new Map { ["app.kubernetes.io/name"] = name } },
                    ["spec"] = new Map { ["containers"] = new List<object> { container } },
                },
            };
            if (volumes.Count > 0)
            {
                spec["volumeClaimTemplates"] = volumes.Select(v => (object)new Map
                {
                    ["metadata"] = new Map { ["name"] = Text(v, "name") },
                    ["spec"] = new Map
                    {
                        ["accessModes"] = new List<object> { "ReadWriteOnce" },
                        ["resources"] = new Map { ["requests"] = new Map { ["storage"] = "5Gi" } },
                    },
                }).ToList();
            }
            return
            [
                new Map
                {
                    ["apiVersion"] = "v1",
                    ["kind"] = "Service",
                    ["metadata"] = Metadata(name, name),
                    ["spec"] = new Map
                    {
                        ["clusterIP"] = "None",
                        ["selector"] = new Map { ["app.kubernetes.io/name"] = name },
                        ["ports"] = Ports(resource, container: false),
                    },
                },
                new Map { ["apiVersion"] = "apps/v1", ["kind"] = "StatefulSet", ["metadata"] = Metadata(name, name), ["spec"] = spec },
            ];
        }

        /// <summary>A production server outside the cluster under the name the services already use.</summary>
        private object ExternalService(string name) => new Map
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Service",
            ["metadata"] = Metadata(name, name),
            ["spec"] = new Map
            {
                ["type"] = "ExternalName",
                // Replace with the DNS name of the managed server (a site overlay patches it).
                ["externalName"] = $"{name}.mutt.example.internal",
                ["ports"] = Ports(Resource(name, name), container: false).Select(p => (object)new Map(((Map)p).Where(kv => kv.Key != "targetPort"))).ToList(),
            },
        };

        private static List<object> ConfigMapPatch(List<object> operations) => operations.Count == 0 ? [] :
        [
            new Map
            {
                ["target"] = new Map { ["kind"] = "ConfigMap", ["name"] = ConfigMapName },
                ["patch"] = new Block(Serializer.Serialize(operations)),
            },
        ];

        /// <summary>Each level labels what it adds (part-of, not in selectors: those cannot change once applied).</summary>
        private static Map Kustomization(List<object> resources, List<object> patches, List<object> images)
        {
            var kustomization = new Map
            {
                ["apiVersion"] = "kustomize.config.k8s.io/v1beta1",
                ["kind"] = "Kustomization",
                ["namespace"] = Namespace,
                ["labels"] = new List<object> { new Map { ["pairs"] = new Map { ["app.kubernetes.io/part-of"] = "mutt" } } },
                ["resources"] = resources,
            };
            if (patches.Count > 0)
            {
                kustomization["patches"] = patches;
            }
            if (images.Count > 0)
            {
                kustomization["images"] = images;
            }
            return kustomization;
        }
    }

    private static Map SecretRef(string name, string key) => new()
    {
        ["name"] = name,
        ["valueFrom"] = new Map { ["secretKeyRef"] = new Map { ["name"] = SecretName, ["key"] = key } },
    };

    private static Map Metadata(string name, string? app)
    {
        var metadata = new Map { ["name"] = name };
        if (app is not null)
        {
            metadata["labels"] = new Map { ["app.kubernetes.io/name"] = app };
        }
        return metadata;
    }

    /// <summary>Literal text for a field the kubelet expands: "$(" and "$$" would be read as a reference or an escape.</summary>
    private static string Escape(string text)
    {
        var escaped = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            escaped.Append(text[i]);
            if (text[i] == '$' && i + 1 < text.Length && text[i + 1] is '(' or '$')
            {
                escaped.Append('$');
            }
        }
        return escaped.ToString();
    }

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static readonly ISerializer Serializer = new SerializerBuilder()
        .WithQuotingNecessaryStrings()
        .DisableAliases()
        .WithTypeConverter(new BlockConverter())
        .Build();

    private static string Yaml(IEnumerable<object> documents, string? comment = null) =>
        "# Generated by `./mutt.sh publish` (Mutt.AppHost kubernetes) from aspire-manifest.json. Do not edit.\n" + comment +
        string.Join("---\n", documents.Select(d => Serializer.Serialize(d)));

    /// <summary>A string written as a literal block (kustomize patches stay readable YAML).</summary>
    private sealed record Block(string Text);

    private sealed class BlockConverter : IYamlTypeConverter
    {
        public bool Accepts(Type type) => type == typeof(Block);

        public object? ReadYaml(IParser parser, Type type, ObjectDeserializer rootDeserializer) => throw new NotSupportedException();

        public void WriteYaml(IEmitter emitter, object? value, Type type, ObjectSerializer serializer) =>
            emitter.Emit(new Scalar(null, null, ((Block)value!).Text, ScalarStyle.Literal, true, false));
    }

    /// <summary>An insertion-ordered YAML mapping.</summary>
    private sealed class Map : OrderedDictionary<string, object?>
    {
        public Map()
        {
        }

        public Map(IEnumerable<KeyValuePair<string, object?>> items) : base(items)
        {
        }
    }
}
