using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Mutt.AppHost;
using YamlDotNet.RepresentationModel;
using static Mutt.Tests.Deployment.KubeYaml;

namespace Mutt.Tests.Deployment;

/// <summary>deploy/k8s: generated from the committed manifest, valid for kustomize, and what operators rely on.</summary>
[Trait("Category", "Unit")]
public sealed partial class KubernetesGeneratorTests
{
    private static readonly string ManifestPath = DeployTestSupport.PathIn("aspire-manifest.json");
    private static readonly string K8s = DeployTestSupport.PathIn("deploy", "k8s");
    private static readonly string Version = XDocument.Load(DeployTestSupport.PathIn("Directory.Build.props")).Descendants("Version").Single().Value;
    private static readonly string Job = "dbmanager-" + Version.Replace('.', '-');
    private static readonly string[] DatabaseServices = ["alerter", "dashboard", "ingestor", "remediation"];
    /// <summary>Reads PostgreSQL (named ingest keys, webhook mappings) but never waits for it: intake must not stop with the database.</summary>
    private static readonly string[] DatabaseServicesThatDoNotWait = ["ingestor"];

    private static List<YamlMappingNode> BaseObjects() => Directory.GetFiles(Path.Combine(K8s, "base"), "*.yaml")
        .Where(f => Path.GetFileName(f) != "kustomization.yaml")
        .SelectMany(f => Parse(File.ReadAllText(f))).ToList();

    private static YamlMappingNode MainContainer(YamlMappingNode workload) => Items(workload, "spec", "template", "spec", "containers").Single();

    private static List<YamlMappingNode> Env(YamlMappingNode container) => Items(container, "env");

    [Fact]
    public void Committed_deploy_k8s_is_generated_from_the_committed_manifest()
    {
        var rendered = KubernetesGenerator.Render(ManifestPath);
        var committed = Directory.GetFiles(K8s, "*.yaml", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(K8s, f).Replace('\\', '/')).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(rendered.Keys.Order(StringComparer.Ordinal), committed);
        foreach (var (path, text) in rendered)
        {
            Assert.True(text == File.ReadAllText(Path.Combine(K8s, path)),
                $"deploy/k8s/{path} is not what the generator makes of aspire-manifest.json; regenerate with ./mutt.sh publish");
        }
    }

    [Fact]
    public void Workloads_have_probes_on_their_health_port_pod_name_requests_and_secrets_by_reference()
    {
        var objects = BaseObjects();
        var deployments = OfKind(objects, "Deployment").ToList();
        Assert.Equal(["alerter", "dashboard", "forwarder", "ingestor", "remediation"], deployments.Select(d => Scalar(d, "metadata", "name")).Order());
        var configMap = Named(objects, "ConfigMap", KubernetesGenerator.ConfigMapName);
        foreach (var deployment in deployments)
        {
            var name = Scalar(deployment, "metadata", "name")!;
            var pod = Node(deployment, "spec", "template", "spec");
            Assert.True(int.Parse(Scalar(pod, "terminationGracePeriodSeconds")!) > KubernetesGenerator.DrainSeconds, name);
            var container = MainContainer(deployment);
            Assert.Equal($"mutt/{Repository(name)}:{Version}", Scalar(container, "image"));
            var ports = Items(container, "ports").Select(p => Scalar(p, "name")).ToList();
            // Workers serve /health on a port of its own (spec 004); the others on http.
            var health = ports.Contains("health") ? "health" : "http";
            Assert.Equal(name is "alerter" or "forwarder" or "remediation" ? "health" : "http", health);
            Assert.Equal("/health", Scalar(container, "readinessProbe", "httpGet", "path"));
            Assert.Equal(health, Scalar(container, "readinessProbe", "httpGet", "port"));
            Assert.Equal("/alive", Scalar(container, "livenessProbe", "httpGet", "path"));
            Assert.Equal(health, Scalar(container, "livenessProbe", "httpGet", "port"));
            Assert.NotNull(Scalar(container, "resources", "requests", "cpu"));
            Assert.NotNull(Scalar(container, "resources", "requests", "memory"));
            Assert.NotNull(Scalar(container, "resources", "limits", "memory"));

            var env = Env(container);
            Assert.Equal("metadata.name", Scalar(env.Single(e => Scalar(e, "name") == "POD_NAME"), "valueFrom", "fieldRef", "fieldPath"));
            // The Kestrel ports are the container ports (the image's own ASPNETCORE_URLS would win over HTTP_PORTS).
            var httpPorts = Items(container, "ports").Where(p => Scalar(p, "name") is "http" or "health").Select(p => $"http://+:{Scalar(p, "containerPort")}");
            Assert.Equal(string.Join(';', httpPorts), Scalar(env.Single(e => Scalar(e, "name") == "ASPNETCORE_URLS"), "value"));
            AssertEnvReferencesResolve(name, env, configMap);
        }

        Assert.Equal("2", Scalar(Named(objects, "Deployment", "alerter"), "spec", "replicas"));
        Assert.All(deployments.Where(d => Scalar(d, "metadata", "name") != "alerter"), d => Assert.Equal("1", Scalar(d, "spec", "replicas")));
        var hpa = OfKind(objects, "HorizontalPodAutoscaler").Single();
        Assert.Equal("autoscaling/v2", Scalar(hpa, "apiVersion"));
        Assert.Equal("alerter", Scalar(hpa, "spec", "scaleTargetRef", "name"));
        Assert.Equal("2", Scalar(hpa, "spec", "minReplicas"));

        var ingestorService = Named(objects, "Service", "ingestor");
        var servicePorts = Items(ingestorService, "spec", "ports").ToList();
        Assert.Equal(["TCP/2514", "TCP/5514", "TCP/8080", "UDP/1162", "UDP/5514"], servicePorts.Select(p => $"{Scalar(p, "protocol")}/{Scalar(p, "port")}").Order());
        // Syslog and SNMP are not translated: the Service port is the port the Ingestor binds (SYSLOG_PORT, SNMP_PORT).
        var ingestor = MainContainer(Named(objects, "Deployment", "ingestor"));
        foreach (var port in servicePorts.Where(p => Scalar(p, "name") != "http"))
        {
            var containerPort = Items(ingestor, "ports").Single(p => Scalar(p, "name") == Scalar(port, "targetPort"));
            Assert.Equal(Scalar(port, "port"), Scalar(containerPort, "containerPort"));
            Assert.Equal(Scalar(port, "protocol"), Scalar(containerPort, "protocol"));
        }
        Assert.Equal("5514", Scalar(Env(ingestor).Single(e => Scalar(e, "name") == "SYSLOG_PORT"), "value"));
        Assert.Equal("2514", Scalar(Env(ingestor).Single(e => Scalar(e, "name") == "RELP_PORT"), "value"));
    }

    [Fact]
    public void Remediation_archives_expired_audit_partitions_to_a_persistent_claim_it_alone_mounts()
    {
        var objects = BaseObjects();
        var claim = Named(objects, "PersistentVolumeClaim", "mutt-audit-archive");
        Assert.Equal("ReadWriteOnce", Assert.Single(((YamlSequenceNode)Node(claim, "spec", "accessModes")).Children).ToString());
        var remediation = Named(objects, "Deployment", "remediation");
        // One writer with a ReadWriteOnce claim: the old pod must let go before the new one mounts it.
        Assert.Equal("Recreate", Scalar(remediation, "spec", "strategy", "type"));
        var container = MainContainer(remediation);
        var folder = Scalar(Env(container).Single(e => Scalar(e, "name") == "AUDIT_ARCHIVE_DIR"), "value");
        var mount = Items(container, "volumeMounts").Single(m => Scalar(m, "mountPath") == folder);
        var volume = Items(remediation, "spec", "template", "spec", "volumes").Single(v => Scalar(v, "name") == Scalar(mount, "name"));
        Assert.Equal("mutt-audit-archive", Scalar(volume, "persistentVolumeClaim", "claimName"));
        foreach (var other in OfKind(objects, "Deployment").Where(d => d != remediation))
        {
            Assert.DoesNotContain(Items(other, "spec", "template", "spec", "volumes"), v => TryNode(v, out _, "persistentVolumeClaim"));
        }
    }

    [Fact]
    public void Every_service_pod_is_annotated_for_Prometheus_on_its_metrics_port()
    {
        foreach (var deployment in OfKind(BaseObjects(), "Deployment"))
        {
            var name = Scalar(deployment, "metadata", "name")!;
            var http = Items(MainContainer(deployment), "ports").Single(p => Scalar(p, "name") == "http");
            // The pod, not the Service: Prometheus must scrape every replica, and the kubernetes-pods
            // job of deploy/prometheus/kubernetes-scrape.yml keeps pods by these annotations.
            Assert.Equal("true", Scalar(deployment, "spec", "template", "metadata", "annotations", KubernetesGenerator.PrometheusScrapeAnnotation));
            Assert.Equal(Scalar(http, "containerPort"), Scalar(deployment, "spec", "template", "metadata", "annotations", KubernetesGenerator.PrometheusPortAnnotation));
            Assert.Equal("/metrics", Scalar(deployment, "spec", "template", "metadata", "annotations", KubernetesGenerator.PrometheusPathAnnotation));
            Assert.Equal(name, Scalar(deployment, "spec", "template", "metadata", "labels", "app.kubernetes.io/name"));
        }
    }

    [Fact]
    public void Dbmanager_is_a_job_that_the_database_services_wait_for()
    {
        var objects = BaseObjects();
        Assert.DoesNotContain(OfKind(objects, "Deployment"), d => Scalar(d, "metadata", "name") == "dbmanager");
        var job = Named(objects, "Job", Job);
        Assert.Equal("batch/v1", Scalar(job, "apiVersion"));
        Assert.Equal("OnFailure", Scalar(job, "spec", "template", "spec", "restartPolicy"));
        Assert.True(int.Parse(Scalar(job, "spec", "backoffLimit")!) > 0);
        // The waiting pods must still find the Job after it completed.
        Assert.Null(Scalar(job, "spec", "ttlSecondsAfterFinished"));
        var container = MainContainer(job);
        Assert.Equal($"mutt/dbmanager:{Version}", Scalar(container, "image"));
        var env = Env(container);
        var admin = Scalar(env.Single(e => Scalar(e, "name") == "ConnectionStrings__muttdb-admin"), "value")!;
        Assert.Matches(@"^Host=postgres;Port=5432;Username=postgres;Password=\$\([A-Z_]+\);Database=muttdb$", admin);
        Assert.Equal("db-password", Scalar(env.Single(e => Scalar(e, "name") == "DB_PASS_CURRENT"), "valueFrom", "secretKeyRef", "key"));
        AssertEnvReferencesResolve("dbmanager", env, Named(objects, "ConfigMap", KubernetesGenerator.ConfigMapName));

        foreach (var deployment in OfKind(objects, "Deployment"))
        {
            var name = Scalar(deployment, "metadata", "name")!;
            var pod = Node(deployment, "spec", "template", "spec");
            var waits = Items(pod, "initContainers").Select(c => Strings(c, "args")).ToList();
            if (!DatabaseServices.Contains(name))
            {
                Assert.Empty(waits);
                continue;
            }
            if (DatabaseServicesThatDoNotWait.Contains(name))
            {
                Assert.Empty(waits);
                AssertLeastPrivilegeConnection(name, deployment);
                continue;
            }
            var args = Assert.Single(waits);
            Assert.Equal(["wait", "--for=condition=complete", "job/" + Job], args.Take(3));
            // The waiting pod's account may read Jobs.
            var account = Scalar(pod, "serviceAccountName");
            var binding = OfKind(objects, "RoleBinding").Single(b => Items(b, "subjects").Any(s => Scalar(s, "name") == account));
            var role = Named(objects, "Role", Scalar(binding, "roleRef", "name")!);
            var rule = Items(role, "rules").Single(r => Strings(r, "resources").Contains("jobs"));
            Assert.Contains("watch", Strings(rule, "verbs"));
            Assert.Contains("get", Strings(rule, "verbs"));

            AssertLeastPrivilegeConnection(name, deployment);
        }
        // Only the Job (and, in the lab, the server itself) knows the owner's password.
        Assert.Equal([Job], objects.Where(o => Yaml(o).Contains("key: postgres-password\n", StringComparison.Ordinal)).Select(o => Scalar(o, "metadata", "name")));
    }

    /// <summary>The least-privilege role, its password from the Secret; never the owner's.</summary>
    private static void AssertLeastPrivilegeConnection(string name, YamlMappingNode deployment)
    {
        var serviceEnv = Env(MainContainer(deployment));
        var muttdb = Scalar(serviceEnv.Single(e => Scalar(e, "name") == "ConnectionStrings__muttdb"), "value")!;
        var match = Regex.Match(muttdb, @"^Host=postgres;Port=5432;Username=mutt_user;Password=\$\(([A-Z_]+)\);Database=muttdb$");
        Assert.True(match.Success, $"{name}: ConnectionStrings__muttdb = {muttdb}");
        var holder = match.Groups[1].Value;
        Assert.Equal("db-password", Scalar(serviceEnv.Single(e => Scalar(e, "name") == holder), "valueFrom", "secretKeyRef", "key"));
    }

    [Fact]
    public void A_value_that_embeds_a_secret_is_composed_from_a_secret_declared_before_it()
    {
        var manifest = (JsonObject)JsonNode.Parse(File.ReadAllText(ManifestPath))!;
        manifest["resources"]!["ingestor"]!["env"]!["PROBE_DSN"] = "user=mutt password={db-password.value} $(HOME) $$x";
        var files = KubernetesGenerator.Render(manifest, KubernetesGenerator.BuildSettings.Read(DeployTestSupport.RepositoryRoot));
        var env = Env(MainContainer(Parse(files["base/ingestor.yaml"]).Single(o => Scalar(o, "kind") == "Deployment")));
        var names = env.Select(e => Scalar(e, "name")).ToList();
        var probe = env.Single(e => Scalar(e, "name") == "PROBE_DSN");
        // Literal "$(" and "$$" are escaped, or the kubelet would expand them.
        Assert.Equal("user=mutt password=$(MUTT_SECRET_DB_PASSWORD) $$(HOME) $$$x", Scalar(probe, "value"));
        var holder = env.Single(e => Scalar(e, "name") == "MUTT_SECRET_DB_PASSWORD");
        Assert.Equal("db-password", Scalar(holder, "valueFrom", "secretKeyRef", "key"));
        Assert.True(names.IndexOf("MUTT_SECRET_DB_PASSWORD") < names.IndexOf("PROBE_DSN"), "a $(VAR) must be declared before the value that uses it");
        Assert.Contains("db-password", Scalar(Parse(files["base/secret.yaml"]).Single(), "metadata", "annotations", KubernetesGenerator.SecretKeysAnnotation)!.Split(' '));
    }

    [Fact]
    public void An_expression_without_a_Kubernetes_equivalent_fails_the_generation_and_writes_nothing()
    {
        var folder = Directory.CreateTempSubdirectory("mutt-k8s-");
        try
        {
            var manifest = (JsonObject)JsonNode.Parse(File.ReadAllText(ManifestPath))!;
            manifest["resources"]!["alerter"]!["env"]!["ODD"] = "{alerter.bindings.http.nosuch}";
            // Next to the committed manifest, so the build settings of the repository are found.
            var path = DeployTestSupport.PathIn($"aspire-manifest.{Guid.NewGuid():N}.tmp.json");
            File.WriteAllText(path, manifest.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            try
            {
                var output = Path.Combine(folder.FullName, "k8s");
                Assert.Equal(1, KubernetesGenerator.Write(path, output));
                Assert.False(Directory.Exists(output));
            }
            finally
            {
                File.Delete(path);
            }
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public void No_secret_value_or_password_literal_is_in_deploy_k8s()
    {
        var findings = Directory.GetFiles(K8s, "*", SearchOption.AllDirectories)
            .SelectMany(f => SecretLeaks(Path.GetRelativePath(K8s, f), File.ReadAllText(f), LocalSecrets())).ToList();
        Assert.True(findings.Count == 0, string.Join('\n', findings));
    }

    [Fact]
    public void Leak_scan_finds_planted_secrets()
    {
        string[] planted =
        [
            "value: Host=postgres;Username=mutt_user;Password=hunter2;Database=muttdb",
            "value: redis:6379,password=hunter2",
            "value: redis://:hunter2@redis:6379",
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: mutt-secrets\nstringData:\n  db-password: \"\"",
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: mutt-secrets\ndata:\n  db-password: aHVudGVyMg==",
            "containers:\n- name: x\n  env:\n  - name: DB_PASS_CURRENT\n    value: hunter2",
            "containers:\n- name: x\n  env:\n  - name: INGEST_API_KEY\n    value: abc",
            "value: Correct-Horse-Battery-Staple",
        ];
        foreach (var text in planted)
        {
            Assert.NotEmpty(SecretLeaks("planted.yaml", text, ["Correct-Horse-Battery-Staple"]));
        }
        Assert.Empty(SecretLeaks("clean.yaml", "env:\n- name: REDIS_URI\n  value: redis://:$(MUTT_SECRET_X)@redis:6379\n- name: C\n  value: Host=p;Password=$(DB);x\n- name: VAULT_SECRET_ID_FILE\n  value: /etc/mutt/secrets/vault_secret_id", []));
    }

    [GeneratedRegex(@"password=(?!\$\()", RegexOptions.IgnoreCase)]
    private static partial Regex InlinePassword();

    [GeneratedRegex(@"://[^/\s:@]*:(?!\$\()[^@\s/]+@")]
    private static partial Regex UriPassword();

    [GeneratedRegex("PASSWORD|PASS_|_KEY$|SECRET|TOKEN", RegexOptions.IgnoreCase)]
    private static partial Regex SecretName();

    /// <summary>
    /// Secrets reach pods only through the Secret (secretKeyRef, composed as $(VAR)): no password
    /// after "password=" or in a URI, no Secret object with data, no secret-named variable with a
    /// literal value, and none of the values a local run generated.
    /// </summary>
    private static IEnumerable<string> SecretLeaks(string file, string text, IReadOnlyCollection<string> knownSecrets)
    {
        foreach (Match match in InlinePassword().Matches(text))
        {
            yield return $"{file}: a password literal at '{Line(text, match.Index)}'";
        }
        foreach (Match match in UriPassword().Matches(text))
        {
            yield return $"{file}: a password in a URI at '{Line(text, match.Index)}'";
        }
        foreach (var secret in knownSecrets.Where(s => s.Length >= 8 && text.Contains(s, StringComparison.Ordinal)))
        {
            yield return $"{file}: holds a value of .mutt/parameters.json";
        }
        if (!file.EndsWith(".yaml", StringComparison.Ordinal))
        {
            yield break;
        }
        foreach (var o in Parse(text))
        {
            if (Scalar(o, "kind") == "Secret" && (TryNode(o, out _, "data") || TryNode(o, out _, "stringData")))
            {
                yield return $"{file}: Secret {Scalar(o, "metadata", "name")} carries data";
            }
            foreach (var env in EnvLists(o).SelectMany(e => e))
            {
                var name = Scalar(env, "name") ?? "";
                if (SecretName().IsMatch(name) && !name.EndsWith("_FILE", StringComparison.Ordinal) && !name.EndsWith("_PATH", StringComparison.Ordinal) && Scalar(env, "value") is not null)
                {
                    yield return $"{file}: {name} has a literal value";
                }
            }
        }
    }

    /// <summary>Every env list in an object, wherever its containers are.</summary>
    private static IEnumerable<List<YamlMappingNode>> EnvLists(YamlNode node)
    {
        if (node is YamlMappingNode map)
        {
            foreach (var (key, value) in map.Children)
            {
                if (((YamlScalarNode)key).Value == "env" && value is YamlSequenceNode sequence)
                {
                    yield return sequence.Children.OfType<YamlMappingNode>().ToList();
                }
                foreach (var nested in EnvLists(value))
                {
                    yield return nested;
                }
            }
        }
        else if (node is YamlSequenceNode list)
        {
            foreach (var nested in list.Children.SelectMany(EnvLists))
            {
                yield return nested;
            }
        }
    }

    private static string[] LocalSecrets()
    {
        var local = DeployTestSupport.PathIn(".mutt", "parameters.json");
        return File.Exists(local)
            ? JsonNode.Parse(File.ReadAllText(local))!.AsObject().Select(p => (string?)p.Value ?? "").ToArray()
            : [];
    }

    /// <summary>
    /// Every configMapKeyRef names a key of the ConfigMap, every secretKeyRef a key the Secret
    /// declares, and every $(VAR) a variable declared earlier in the same list (the kubelet
    /// leaves a later or unknown one unexpanded, so the service would see the literal text).
    /// </summary>
    private static void AssertEnvReferencesResolve(string workload, List<YamlMappingNode> env, YamlMappingNode configMap)
    {
        var secretKeys = Scalar(Parse(File.ReadAllText(Path.Combine(K8s, "base", "secret.yaml"))).Single(),
            "metadata", "annotations", KubernetesGenerator.SecretKeysAnnotation)!.Split(' ');
        var declared = new HashSet<string>(StringComparer.Ordinal);
        foreach (var e in env)
        {
            var name = Scalar(e, "name")!;
            Assert.True(declared.Add(name), $"{workload}: {name} is declared twice");
            if (TryNode(e, out var cm, "valueFrom", "configMapKeyRef"))
            {
                Assert.True(Scalar(configMap, "data", Scalar(cm, "key")!) is not null, $"{workload}: {name} reads ConfigMap key {Scalar(cm, "key")}, which does not exist");
            }
            if (TryNode(e, out var sk, "valueFrom", "secretKeyRef"))
            {
                Assert.Equal(KubernetesGenerator.SecretName, Scalar(sk, "name"));
                Assert.Contains(Scalar(sk, "key"), secretKeys);
            }
            foreach (Match reference in Regex.Matches(Scalar(e, "value") ?? "", @"(?<!\$)\$\(([A-Za-z_][A-Za-z0-9_]*)\)"))
            {
                Assert.True(declared.Contains(reference.Groups[1].Value) && reference.Groups[1].Value != name,
                    $"{workload}: {name} uses $({reference.Groups[1].Value}) before it is declared");
            }
        }
    }

    /// <summary>The image repository the SDK builds for a resource (Directory.Build.targets), mutt/&lt;resource&gt; where it names none.</summary>
    private static string Repository(string resource) => resource switch
    {
        "forwarder" => "moog-forwarder",
        "dashboard" => "webui",
        _ => resource,
    };

    private static string Line(string text, int index)
    {
        var start = text.LastIndexOf('\n', Math.Max(0, index - 1)) + 1;
        var end = text.IndexOf('\n', index);
        return text[start..(end < 0 ? text.Length : end)].Trim();
    }

    private static string Yaml(YamlNode node)
    {
        var writer = new StringWriter();
        new YamlStream(new YamlDocument(node)).Save(writer, assignAnchors: false);
        return writer.ToString();
    }

    /// <summary>The overlays through kubectl kustomize (an external process).</summary>
    [Trait("Category", "Integration")]
    public sealed class Kustomize
    {
        [Theory]
        [Trait("Requires", "kubectl")]
        [InlineData("lab")]
        [InlineData("production")]
        public async Task Kustomize_renders_each_overlay_into_valid_objects(string overlay)
        {
            var kubectl = await RequireKubectlAsync();
            var result = await DeployTestSupport.RunAsync(kubectl, ["kustomize", Path.Combine(K8s, "overlays", overlay)], timeout: TimeSpan.FromSeconds(60));
            Assert.True(result.ExitCode == 0, $"kubectl kustomize overlays/{overlay} failed:\n{result.StdErr}");
            var objects = Parse(result.StdOut);
            Assert.NotEmpty(objects);
            foreach (var o in objects)
            {
                Assert.False(string.IsNullOrEmpty(Scalar(o, "apiVersion")), "apiVersion missing");
                Assert.False(string.IsNullOrEmpty(Scalar(o, "kind")), "kind missing");
                Assert.False(string.IsNullOrEmpty(Scalar(o, "metadata", "name")), $"{Scalar(o, "kind")} without metadata.name");
                if (Scalar(o, "kind") != "Namespace")
                {
                    Assert.Equal(KubernetesGenerator.Namespace, Scalar(o, "metadata", "namespace"));
                }
                Assert.Equal("mutt", Scalar(o, "metadata", "labels", "app.kubernetes.io/part-of"));
            }

            var deployments = OfKind(objects, "Deployment").ToList();
            Assert.Equal(overlay == "lab"
                    ? ["alerter", "dashboard", "forwarder", "ingestor", "moog-sink", "remediation"]
                    : ["alerter", "dashboard", "forwarder", "ingestor", "remediation"],
                deployments.Select(d => Scalar(d, "metadata", "name")).Order());
            var configMap = Named(objects, "ConfigMap", KubernetesGenerator.ConfigMapName);
            var registry = overlay == "production" ? KubernetesGenerator.ProductionRegistry + "/" : "";
            foreach (var workload in deployments.Append(Named(objects, "Job", Job)))
            {
                var name = Scalar(workload, "metadata", "name")!.Replace("-" + Version.Replace('.', '-'), "", StringComparison.Ordinal);
                var container = MainContainer(workload);
                Assert.Equal($"{registry}mutt/{Repository(name)}:{Version}", Scalar(container, "image"));
                AssertEnvReferencesResolve(name, Env(container), configMap);
            }
            var secret = Named(objects, "Secret", KubernetesGenerator.SecretName);
            Assert.False(TryNode(secret, out _, "data") || TryNode(secret, out _, "stringData"), "the committed Secret must carry no data");

            var servers = objects.Where(o => Scalar(o, "metadata", "name") is "redis" or "postgres").ToList();
            if (overlay == "lab")
            {
                Assert.Equal(2, servers.Count(o => Scalar(o, "kind") == "StatefulSet"));
                Assert.Equal("redis-password", Scalar(Env(MainContainer(Named(objects, "StatefulSet", "redis"))).Single(), "valueFrom", "secretKeyRef", "key"));
                // The lab's servers speak plain TCP.
                Assert.Equal("false", Scalar(configMap, "data", "REDIS_TLS_ENABLED"));
                Assert.Equal("false", Scalar(configMap, "data", "DB_TLS_ENABLED"));
                Assert.Equal("http://moog-sink:8095/api/v1/events", Scalar(configMap, "data", "MOOG_WEBHOOK_URL"));
            }
            else
            {
                Assert.DoesNotContain(servers, o => Scalar(o, "kind") == "StatefulSet");
                Assert.Equal(["ExternalName", "ExternalName"], servers.Select(o => Scalar(o, "spec", "type")));
                Assert.Equal("true", Scalar(configMap, "data", "REDIS_TLS_ENABLED"));
                Assert.Equal("true", Scalar(configMap, "data", "DB_TLS_ENABLED"));
                // The sink is a lab stand-in for Moogsoft: nothing in production points at it.
                Assert.DoesNotContain(((YamlMappingNode)Node(configMap, "data")).Children.Values, v => ((YamlScalarNode)v).Value!.Contains("moog-sink", StringComparison.Ordinal));
                Assert.StartsWith("https://", Scalar(configMap, "data", "MOOG_WEBHOOK_URL"), StringComparison.Ordinal);
            }
        }

        private static async Task<string> RequireKubectlAsync()
        {
            var kubectl = DeployTestSupport.FindOnPath("kubectl");
            Assert.True(kubectl is not null,
                "This test needs kubectl with kustomize v4 or newer, and none is on PATH. ./mutt.sh setup does not install it: Debian's "
                + "kubernetes-client is 1.20 (kustomize v2), which cannot read this layout. Install kubectl from pkgs.k8s.io, or leave "
                + "these tests out explicitly with --filter \"Requires!=kubectl\".");
            var version = await DeployTestSupport.RunAsync(kubectl!, ["version", "--client", "-o", "json"]);
            var kustomize = (string?)JsonNode.Parse(version.StdOut)?["kustomizeVersion"] ?? "";
            Assert.True(Regex.Match(kustomize, @"^v(\d+)\.") is { Success: true } major && int.Parse(major.Groups[1].Value) >= 4,
                $"{kubectl} embeds kustomize '{kustomize}'; this layout (labels, patches) needs v4 or newer.");
            return kubectl!;
        }
    }
}
