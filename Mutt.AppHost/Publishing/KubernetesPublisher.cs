using System.Globalization;
using System.Text.RegularExpressions;
using Mutt.AppHost.Model;
using YamlDotNet.Serialization;

namespace Mutt.AppHost.Publishing;

/// <summary>
/// Writes kustomize-ready Kubernetes manifests from the model:
/// <c>base/</c> (namespace, ConfigMap, Secret template, a Deployment and Service per service,
/// the Alerter's HPA), <c>overlays/lab/</c> (Redis and PostgreSQL as StatefulSets, plus the
/// Moogsoft sink) and <c>overlays/production/</c> (Redis and PostgreSQL as external services,
/// the real Moogsoft URL patched in).
/// </summary>
public static partial class KubernetesPublisher
{
    public const string Namespace = "mutt";
    public const string ConfigMapName = "mutt-config";
    public const string SecretName = "mutt-secrets";
    public const string VaultSecretName = "mutt-vault-secret-id";
    public const string VaultMountPath = "/etc/mutt/secrets";
    public const string ImageRegistry = "registry.example.com/mutt";
    /// <summary>Workers drain in-flight batches for up to 30 s on SIGTERM; the kubelet must wait longer before SIGKILL.</summary>
    public const int DrainSeconds = 30;
    public const int TerminationGracePeriodSeconds = 45;
    public const string PlaceholderSecret = "CHANGE_ME";

    /// <summary>Projects that exist only for local runs and the lab (the real Moogsoft replaces the sink in production).</summary>
    public static readonly IReadOnlySet<string> LabOnlyProjects = new HashSet<string> { "moog-sink" };

    public static void Write(AppModel model, string outputDirectory)
    {
        foreach (var (relativePath, content) in Render(model))
        {
            var path = Path.Combine(outputDirectory, relativePath);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, content);
        }
    }

    /// <summary>Every file, relative path → YAML text.</summary>
    public static IReadOnlyDictionary<string, string> Render(AppModel model)
    {
        var files = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var config = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var secrets = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var parameter in model.Parameters.Where(p => p.Secret))
        {
            secrets[parameter.Name] = "";
        }

        var baseResources = new List<string> { "namespace.yaml", "configmap.yaml", "secret.yaml" };
        var labResources = new List<string> { "../../base", "redis.yaml", "postgres.yaml" };
        foreach (var project in model.Projects)
        {
            var env = ProjectEnv(model, project, config, secrets);
            var documents = new List<object> { Deployment(project, env), Service(project) };
            if (project.Name == "alerter")
            {
                documents.Add(Hpa(project));
            }
            if (LabOnlyProjects.Contains(project.Name))
            {
                files[$"overlays/lab/{project.Name}.yaml"] = Yaml(documents);
                labResources.Add($"{project.Name}.yaml");
            }
            else
            {
                files[$"base/{project.Name}.yaml"] = Yaml(documents);
                baseResources.Add($"{project.Name}.yaml");
            }
        }

        files["base/namespace.yaml"] = Yaml([new Map { ["apiVersion"] = "v1", ["kind"] = "Namespace", ["metadata"] = new Map { ["name"] = Namespace } }]);
        files["base/configmap.yaml"] = Yaml([new Map
        {
            ["apiVersion"] = "v1",
            ["kind"] = "ConfigMap",
            ["metadata"] = Metadata(ConfigMapName, null),
            ["data"] = new Map(config.Select(kv => new KeyValuePair<string, object?>(kv.Key, kv.Value))),
        }]);
        files["base/secret.yaml"] = Yaml(
        [
            new Map
            {
                ["apiVersion"] = "v1",
                ["kind"] = "Secret",
                ["metadata"] = Metadata(SecretName, null),
                ["type"] = "Opaque",
                // A template: real values come from Vault (or `kubectl create secret`), never from git.
                ["stringData"] = new Map(secrets.Select(kv => new KeyValuePair<string, object?>(kv.Key, kv.Value))),
            },
            new Map
            {
                ["apiVersion"] = "v1",
                ["kind"] = "Secret",
                ["metadata"] = Metadata(VaultSecretName, null),
                ["type"] = "Opaque",
                ["stringData"] = new Map { ["vault_secret_id"] = "" },
            },
        ]);
        files["base/kustomization.yaml"] = Yaml([new Map
        {
            ["apiVersion"] = "kustomize.config.k8s.io/v1beta1",
            ["kind"] = "Kustomization",
            ["namespace"] = Namespace,
            ["labels"] = new List<object> { new Map { ["pairs"] = new Map { ["app.kubernetes.io/part-of"] = "mutt" } } },
            ["resources"] = baseResources,
        }]);

        files["overlays/lab/redis.yaml"] = Yaml(RedisStatefulSet(model.Resources.OfType<RedisResource>().Single()));
        files["overlays/lab/postgres.yaml"] = Yaml(PostgresStatefulSet(model.Resources.OfType<PostgresServerResource>().Single()));
        files["overlays/lab/kustomization.yaml"] = Yaml([new Map
        {
            ["apiVersion"] = "kustomize.config.k8s.io/v1beta1",
            ["kind"] = "Kustomization",
            ["namespace"] = Namespace,
            ["resources"] = labResources,
        }]);

        files["overlays/production/external-services.yaml"] = Yaml(model.Resources
            .Where(r => r is RedisResource or PostgresServerResource)
            .Select(r => (object)new Map
            {
                ["apiVersion"] = "v1",
                ["kind"] = "Service",
                ["metadata"] = Metadata(r.Name, r.Name),
                ["spec"] = new Map
                {
                    ["type"] = "ExternalName",
                    // Replace with the managed endpoint (DNS name) of the production server.
                    ["externalName"] = $"{r.Name}.mutt.example.internal",
                    ["ports"] = new List<object> { new Map { ["name"] = "tcp", ["port"] = r.Endpoint("tcp").Port, ["protocol"] = "TCP" } },
                },
            }).ToList());
        files["overlays/production/kustomization.yaml"] = Yaml([new Map
        {
            ["apiVersion"] = "kustomize.config.k8s.io/v1beta1",
            ["kind"] = "Kustomization",
            ["namespace"] = Namespace,
            ["resources"] = new List<object> { "../../base", "external-services.yaml" },
            ["patches"] = new List<object>
            {
                new Map
                {
                    ["target"] = new Map { ["kind"] = "ConfigMap", ["name"] = ConfigMapName },
                    ["patch"] = Yaml(
                    [
                        new List<object>
                        {
                            new Map { ["op"] = "replace", ["path"] = "/data/MOOG_WEBHOOK_URL", ["value"] = "https://moogsoft.example.com/events/webhook_mutt" },
                            // The sink is a lab stand-in for Moogsoft; production has no such Service (the key must stay: Deployments reference it).
                            new Map { ["op"] = "replace", ["path"] = "/data/services__moog-sink__http__0", ["value"] = "https://moogsoft.example.com" },
                        },
                    ], header: false),
                },
            },
        }]);
        return files;
    }

    [GeneratedRegex(@"\{([a-z0-9-]+)\.([A-Za-z0-9.\-]+)\}")]
    private static partial Regex ExpressionPattern();

    [GeneratedRegex(@"^\{([a-z0-9-]+)\.value\}$")]
    private static partial Regex WholeParameter();

    /// <summary>
    /// The container env of a project: a whole secret parameter becomes a secretKeyRef to its
    /// parameter key; a value that embeds a secret (the muttdb connection string) becomes its own
    /// Secret key; everything else goes through the ConfigMap.
    /// </summary>
    private static List<object> ProjectEnv(AppModel model, ProjectResource project, IDictionary<string, string> config, IDictionary<string, string> secrets)
    {
        var env = new List<object>
        {
            new Map { ["name"] = "ASPNETCORE_URLS", ["value"] = string.Join(';', project.Endpoints.Where(e => e.IsHttp).Select(e => $"http://+:{e.Port}")) },
            new Map { ["name"] = "POD_NAME", ["valueFrom"] = new Map { ["fieldRef"] = new Map { ["fieldPath"] = "metadata.name" } } },
            new Map { ["name"] = "OTEL_SERVICE_NAME", ["value"] = project.Name },
            new Map { ["name"] = "VAULT_SECRET_ID_FILE", ["value"] = $"{VaultMountPath}/vault_secret_id" },
        };
        foreach (var (name, expression) in project.Environment)
        {
            if (WholeParameter().Match(expression) is { Success: true } whole && model[whole.Groups[1].Value] is ParameterResource { Secret: true } parameter)
            {
                env.Add(SecretRef(name, parameter.Name));
                continue;
            }
            var usesSecret = false;
            var value = Resolve(model, expression, ref usesSecret);
            var store = usesSecret ? secrets : config;
            if (store.TryGetValue(name, out var existing) && existing != value)
            {
                throw new InvalidOperationException($"{name} has different values across services ('{existing}' vs '{value}'); give them different names.");
            }
            store[name] = value;
            env.Add(usesSecret ? SecretRef(name, name) : new Map
            {
                ["name"] = name,
                ["valueFrom"] = new Map { ["configMapKeyRef"] = new Map { ["name"] = ConfigMapName, ["key"] = name } },
            });
        }
        return env;
    }

    private static Map SecretRef(string name, string key) => new()
    {
        ["name"] = name,
        ["valueFrom"] = new Map { ["secretKeyRef"] = new Map { ["name"] = SecretName, ["key"] = key } },
    };

    /// <summary>Resolves expressions to in-cluster values: a resource is reachable as its Service name on its spec port.</summary>
    private static string Resolve(AppModel model, string expression, ref bool usesSecret)
    {
        var secret = false;
        var result = ExpressionPattern().Replace(expression, match =>
        {
            var resource = model[match.Groups[1].Value];
            var path = match.Groups[2].Value.Split('.');
            switch (path)
            {
                case ["connectionString"] when resource is IResourceWithConnectionString r:
                    var inner = false;
                    var resolved = Resolve(model, r.ConnectionStringExpression, ref inner);
                    secret |= inner;
                    return resolved;
                case ["value"] when resource is ParameterResource p:
                    secret |= p.Secret;
                    return p.Secret ? PlaceholderSecret : "";
                case ["bindings", var name, "url"]:
                    return $"{resource.Endpoint(name).Scheme}://{resource.Name}:{resource.Endpoint(name).Port}";
                case ["bindings", _, "host"]:
                    return resource.Name;
                case ["bindings", var name, "port" or "targetPort"]:
                    return resource.Endpoint(name).Port.ToString(CultureInfo.InvariantCulture);
                default:
                    throw new InvalidOperationException($"Cannot resolve {match.Value} for Kubernetes.");
            }
        });
        usesSecret |= secret;
        return result;
    }

    private static Map Metadata(string name, string? app)
    {
        var metadata = new Map { ["name"] = name };
        if (app is not null)
        {
            metadata["labels"] = new Map { ["app.kubernetes.io/name"] = app };
        }
        return metadata;
    }

    private static Map Deployment(ProjectResource project, List<object> env)
    {
        var healthPort = project.HealthCheckEndpoint ?? "http";
        return new Map
        {
            ["apiVersion"] = "apps/v1",
            ["kind"] = "Deployment",
            ["metadata"] = Metadata(project.Name, project.Name),
            ["spec"] = new Map
            {
                ["replicas"] = project.Replicas,
                ["selector"] = new Map { ["matchLabels"] = new Map { ["app.kubernetes.io/name"] = project.Name } },
                ["template"] = new Map
                {
                    ["metadata"] = new Map { ["labels"] = new Map { ["app.kubernetes.io/name"] = project.Name } },
                    ["spec"] = new Map
                    {
                        ["terminationGracePeriodSeconds"] = TerminationGracePeriodSeconds,
                        ["securityContext"] = new Map { ["runAsNonRoot"] = true, ["runAsUser"] = 1654, ["fsGroup"] = 1654 },
                        ["containers"] = new List<object>
                        {
                            new Map
                            {
                                ["name"] = project.Name,
                                ["image"] = $"{ImageRegistry}/{project.Name}:latest",
                                ["ports"] = project.Endpoints.Select(e => (object)new Map
                                {
                                    ["name"] = e.Name,
                                    ["containerPort"] = e.Port,
                                    ["protocol"] = e.Protocol == EndpointProtocol.Udp ? "UDP" : "TCP",
                                }).ToList(),
                                ["env"] = env,
                                ["readinessProbe"] = Probe("/health", healthPort, period: 10, failures: 3),
                                ["livenessProbe"] = Probe("/alive", healthPort, period: 20, failures: 3),
                                ["startupProbe"] = Probe("/alive", healthPort, period: 5, failures: 24),
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
                            },
                        },
                        ["volumes"] = new List<object>
                        {
                            new Map { ["name"] = "vault-secret-id", ["secret"] = new Map { ["secretName"] = VaultSecretName, ["defaultMode"] = 256 } },
                            new Map { ["name"] = "tmp", ["emptyDir"] = new Map() },
                        },
                    },
                },
            },
        };
    }

    private static Map Probe(string path, string port, int period, int failures) => new()
    {
        ["httpGet"] = new Map { ["path"] = path, ["port"] = port },
        ["periodSeconds"] = period,
        ["timeoutSeconds"] = 3,
        ["failureThreshold"] = failures,
    };

    private static Map Service(ProjectResource project) => new()
    {
        ["apiVersion"] = "v1",
        ["kind"] = "Service",
        ["metadata"] = Metadata(project.Name, project.Name),
        ["spec"] = new Map
        {
            ["selector"] = new Map { ["app.kubernetes.io/name"] = project.Name },
            ["ports"] = project.Endpoints.Select(e => (object)new Map
            {
                ["name"] = e.Name,
                ["port"] = e.Port,
                ["targetPort"] = e.Name,
                ["protocol"] = e.Protocol == EndpointProtocol.Udp ? "UDP" : "TCP",
            }).ToList(),
        },
    };

    /// <summary>The Alerter scales on CPU; queue-depth scaling (spec: depth > 5K) needs an external metrics adapter, see docs/apphost.md.</summary>
    private static Map Hpa(ProjectResource project) => new()
    {
        ["apiVersion"] = "autoscaling/v2",
        ["kind"] = "HorizontalPodAutoscaler",
        ["metadata"] = Metadata(project.Name, project.Name),
        ["spec"] = new Map
        {
            ["scaleTargetRef"] = new Map { ["apiVersion"] = "apps/v1", ["kind"] = "Deployment", ["name"] = project.Name },
            ["minReplicas"] = project.Replicas,
            ["maxReplicas"] = 10,
            ["metrics"] = new List<object>
            {
                new Map
                {
                    ["type"] = "Resource",
                    ["resource"] = new Map { ["name"] = "cpu", ["target"] = new Map { ["type"] = "Utilization", ["averageUtilization"] = 70 } },
                },
            },
            ["behavior"] = new Map
            {
                ["scaleDown"] = new Map { ["stabilizationWindowSeconds"] = 300 },
            },
        },
    };

    private static List<object> RedisStatefulSet(RedisResource redis) => StatefulSet(redis, $"{RedisResource.Image}:{RedisResource.Tag}",
        args: ["--appendonly", "yes", "--appendfsync", "everysec"], env: [], dataPath: "/data",
        probe: new Map { ["exec"] = new Map { ["command"] = new List<object> { "redis-cli", "ping" } }, ["periodSeconds"] = 10 });

    private static List<object> PostgresStatefulSet(PostgresServerResource postgres) => StatefulSet(postgres, $"{PostgresServerResource.Image}:{PostgresServerResource.Tag}",
        args: [],
        env:
        [
            new Map { ["name"] = "POSTGRES_USER", ["value"] = PostgresServerResource.UserName },
            SecretRef("POSTGRES_PASSWORD", postgres.Password.Name),
            new Map { ["name"] = "POSTGRES_DB", ["value"] = postgres.Databases.FirstOrDefault()?.DatabaseName ?? "postgres" },
            new Map { ["name"] = "PGDATA", ["value"] = "/var/lib/postgresql/data/pgdata" },
        ],
        dataPath: "/var/lib/postgresql/data",
        probe: new Map { ["exec"] = new Map { ["command"] = new List<object> { "pg_isready", "-U", PostgresServerResource.UserName } }, ["periodSeconds"] = 10 });

    private static List<object> StatefulSet(Resource resource, string image, string[] args, List<object> env, string dataPath, Map probe)
    {
        var port = resource.Endpoint("tcp").Port;
        var container = new Map
        {
            ["name"] = resource.Name,
            ["image"] = image,
        };
        if (args.Length > 0)
        {
            container["args"] = args.Cast<object>().ToList();
        }
        if (env.Count > 0)
        {
            container["env"] = env;
        }
        container["ports"] = new List<object> { new Map { ["name"] = "tcp", ["containerPort"] = port, ["protocol"] = "TCP" } };
        container["readinessProbe"] = probe;
        container["resources"] = new Map
        {
            ["requests"] = new Map { ["cpu"] = "100m", ["memory"] = "256Mi" },
            ["limits"] = new Map { ["cpu"] = "1", ["memory"] = "1Gi" },
        };
        container["volumeMounts"] = new List<object> { new Map { ["name"] = "data", ["mountPath"] = dataPath } };
        return
        [
            new Map
            {
                ["apiVersion"] = "v1",
                ["kind"] = "Service",
                ["metadata"] = Metadata(resource.Name, resource.Name),
                ["spec"] = new Map
                {
                    ["clusterIP"] = "None",
                    ["selector"] = new Map { ["app.kubernetes.io/name"] = resource.Name },
                    ["ports"] = new List<object> { new Map { ["name"] = "tcp", ["port"] = port, ["targetPort"] = "tcp", ["protocol"] = "TCP" } },
                },
            },
            new Map
            {
                ["apiVersion"] = "apps/v1",
                ["kind"] = "StatefulSet",
                ["metadata"] = Metadata(resource.Name, resource.Name),
                ["spec"] = new Map
                {
                    ["serviceName"] = resource.Name,
                    ["replicas"] = 1,
                    ["selector"] = new Map { ["matchLabels"] = new Map { ["app.kubernetes.io/name"] = resource.Name } },
                    ["template"] = new Map
                    {
                        ["metadata"] = new Map { ["labels"] = new Map { ["app.kubernetes.io/name"] = resource.Name } },
                        ["spec"] = new Map { ["containers"] = new List<object> { container } },
                    },
                    ["volumeClaimTemplates"] = new List<object>
                    {
                        new Map
                        {
                            ["metadata"] = new Map { ["name"] = "data" },
                            ["spec"] = new Map
                            {
                                ["accessModes"] = new List<object> { "ReadWriteOnce" },
                                ["resources"] = new Map { ["requests"] = new Map { ["storage"] = "5Gi" } },
                            },
                        },
                    },
                },
            },
        ];
    }

    private static readonly ISerializer Serializer = new SerializerBuilder()
        .WithQuotingNecessaryStrings()
        .DisableAliases()
        .Build();

    private static string Yaml(IEnumerable<object> documents, bool header = true) =>
        (header ? "# Generated by `./mutt.sh publish` (Mutt.AppHost --publisher kubernetes) from the AppHost model. Do not edit.\n" : "") +
        string.Join("---\n", documents.Select(d => Serializer.Serialize(d)));

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
