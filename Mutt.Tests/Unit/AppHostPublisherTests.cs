using System.Diagnostics;
using System.Text.Json.Nodes;
using Mutt.AppHost;
using Mutt.Testing;
using Mutt.AppHost.Publishing;
using YamlDotNet.RepresentationModel;

namespace Mutt.Tests.Unit;

public sealed class AppHostPublisherTests
{
    private static readonly string Root = ServiceProcess.FindRepositoryRoot();

    [Fact]
    public void Committed_aspire_manifest_is_up_to_date()
    {
        var expected = ManifestPublisher.Render(MuttSystem.Build(), Root, Root);
        var committed = File.ReadAllText(Path.Combine(Root, "aspire-manifest.json"));
        Assert.True(expected == committed,
            "aspire-manifest.json is stale; regenerate with ./mutt.sh publish (dotnet run --project Mutt.AppHost -- --publisher manifest --output-path aspire-manifest.json)");
    }

    [Fact]
    public void Manifest_uses_Aspire_resource_types_and_expressions()
    {
        var manifest = JsonNode.Parse(ManifestPublisher.Render(MuttSystem.Build(), Root, Root))!;
        Assert.Equal("https://json.schemastore.org/aspire-8.0.json", (string?)manifest["$schema"]);
        var resources = manifest["resources"]!;
        Assert.Equal("container.v0", (string?)resources["redis"]!["type"]);
        Assert.Equal("container.v0", (string?)resources["postgres"]!["type"]);
        Assert.Equal("value.v0", (string?)resources["muttdb"]!["type"]);
        Assert.Equal("{postgres.connectionString};Database=muttdb", (string?)resources["muttdb"]!["connectionString"]);
        var key = resources["ingest-api-key"]!;
        Assert.Equal("parameter.v0", (string?)key["type"]);
        Assert.True((bool)key["inputs"]!["value"]!["secret"]!);
        Assert.NotNull(key["inputs"]!["value"]!["default"]!["generate"]);

        var ingestor = resources["ingestor"]!;
        Assert.Equal("project.v0", (string?)ingestor["type"]);
        Assert.Equal("Mutt.Ingestor/Mutt.Ingestor.csproj", (string?)ingestor["path"]);
        Assert.True(File.Exists(Path.Combine(Root, (string)ingestor["path"]!)));
        Assert.Equal("{redis.connectionString}", (string?)ingestor["env"]!["ConnectionStrings__redis"]);
        Assert.Equal("{ingest-api-key.value}", (string?)ingestor["env"]!["INGEST_API_KEY"]);
        Assert.Equal("udp", (string?)ingestor["bindings"]!["syslog-udp"]!["protocol"]);
        Assert.Equal(5514, (int)ingestor["bindings"]!["syslog-udp"]!["targetPort"]!);
        Assert.Equal(1162, (int)ingestor["bindings"]!["snmp"]!["targetPort"]!);

        var forwarder = resources["forwarder"]!["env"]!;
        Assert.Equal("{moog-sink.bindings.http.url}/api/v1/events", (string?)forwarder["MOOG_WEBHOOK_URL"]);
        Assert.Equal("{muttdb.connectionString}", (string?)forwarder["ConnectionStrings__muttdb"]);
    }

    [Fact]
    public void Committed_kubernetes_manifests_are_up_to_date()
    {
        var rendered = KubernetesPublisher.Render(MuttSystem.Build());
        var k8s = Path.Combine(Root, "deploy", "k8s");
        var committed = Directory.GetFiles(k8s, "*.yaml", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(k8s, f).Replace('\\', '/')).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(rendered.Keys.Order(StringComparer.Ordinal), committed);
        foreach (var (path, text) in rendered)
        {
            Assert.True(text == File.ReadAllText(Path.Combine(k8s, path)), $"deploy/k8s/{path} is stale; regenerate with ./mutt.sh publish");
        }
    }

    [Theory]
    [InlineData("lab")]
    [InlineData("production")]
    public async Task Kustomize_renders_each_overlay_into_valid_objects(string overlay)
    {
        var output = Path.Combine(Path.GetTempPath(), "mutt-k8s-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            KubernetesPublisher.Write(MuttSystem.Build(), output);
            var yaml = await NativeProcess.RunAsync(NativeProcess.FindExecutable("kubectl") ?? "kubectl",
                ["kustomize", Path.Combine(output, "overlays", overlay)], TimeSpan.FromSeconds(60));
            var objects = Parse(yaml);
            Assert.NotEmpty(objects);

            foreach (var o in objects)
            {
                Assert.False(string.IsNullOrEmpty(Scalar(o, "apiVersion")), "apiVersion missing");
                Assert.False(string.IsNullOrEmpty(Scalar(o, "kind")), "kind missing");
                Assert.False(string.IsNullOrEmpty(Scalar(o, "metadata", "name")), $"{Scalar(o, "kind")} without metadata.name");
                if (Scalar(o, "kind") != "Namespace")
                {
                    Assert.Equal("mutt", Scalar(o, "metadata", "namespace"));
                }
            }

            var deployments = objects.Where(o => Scalar(o, "kind") == "Deployment").ToList();
            var expected = overlay == "lab"
                ? new[] { "alerter", "dashboard", "forwarder", "ingestor", "moog-sink", "remediation" }
                : ["alerter", "dashboard", "forwarder", "ingestor", "remediation"];
            Assert.Equal(expected, deployments.Select(d => Scalar(d, "metadata", "name")).Order());
            foreach (var deployment in deployments)
            {
                var name = Scalar(deployment, "metadata", "name");
                var pod = Node(deployment, "spec", "template", "spec");
                Assert.True(int.Parse(Scalar(pod, "terminationGracePeriodSeconds")!) > KubernetesPublisher.DrainSeconds, name);
                var container = (YamlMappingNode)((YamlSequenceNode)Node(pod, "containers")).Children[0];
                Assert.Equal("/health", Scalar(container, "readinessProbe", "httpGet", "path"));
                Assert.Equal("/alive", Scalar(container, "livenessProbe", "httpGet", "path"));
                Assert.NotNull(Scalar(container, "resources", "requests", "cpu"));
                Assert.NotNull(Scalar(container, "resources", "limits", "memory"));
                var env = ((YamlSequenceNode)Node(container, "env")).Children.Cast<YamlMappingNode>().ToList();
                var podName = env.Single(e => Scalar(e, "name") == "POD_NAME");
                Assert.Equal("metadata.name", Scalar(podName, "valueFrom", "fieldRef", "fieldPath"));
                var mounts = ((YamlSequenceNode)Node(container, "volumeMounts")).Children.Cast<YamlMappingNode>();
                Assert.Contains(mounts, m => Scalar(m, "mountPath") == "/etc/mutt/secrets");
                // Every configMapKeyRef/secretKeyRef points at a key that exists.
                foreach (var e in env)
                {
                    if (TryNode(e, out var cm, "valueFrom", "configMapKeyRef"))
                    {
                        var configMap = objects.Single(o => Scalar(o, "kind") == "ConfigMap" && Scalar(o, "metadata", "name") == Scalar(cm, "name"));
                        Assert.NotNull(Scalar(configMap, "data", Scalar(cm, "key")!));
                    }
                    if (TryNode(e, out var sk, "valueFrom", "secretKeyRef"))
                    {
                        var secret = objects.Single(o => Scalar(o, "kind") == "Secret" && Scalar(o, "metadata", "name") == Scalar(sk, "name"));
                        Assert.NotNull(Scalar(secret, "stringData", Scalar(sk, "key")!));
                    }
                }
            }

            var ingestorService = objects.Single(o => Scalar(o, "kind") == "Service" && Scalar(o, "metadata", "name") == "ingestor");
            var ports = ((YamlSequenceNode)Node(ingestorService, "spec", "ports")).Children.Cast<YamlMappingNode>()
                .Select(p => $"{Scalar(p, "protocol")}/{Scalar(p, "port")}").Order().ToList();
            Assert.Equal(["TCP/5514", "TCP/8080", "UDP/1162", "UDP/5514"], ports);

            var hpa = objects.Single(o => Scalar(o, "kind") == "HorizontalPodAutoscaler");
            Assert.Equal("autoscaling/v2", Scalar(hpa, "apiVersion"));
            Assert.Equal("alerter", Scalar(hpa, "spec", "scaleTargetRef", "name"));

            // No real secret values are committed: the Secret template holds only empty or placeholder values.
            foreach (var secret in objects.Where(o => Scalar(o, "kind") == "Secret"))
            {
                foreach (var (_, value) in ((YamlMappingNode)Node(secret, "stringData")).Children)
                {
                    var text = ((YamlScalarNode)value).Value ?? "";
                    Assert.True(text.Length == 0 || text.Contains(KubernetesPublisher.PlaceholderSecret, StringComparison.Ordinal), text);
                }
            }

            var kinds = objects.Where(o => Scalar(o, "metadata", "name") is "redis" or "postgres").Select(o => Scalar(o, "kind")).ToList();
            if (overlay == "lab")
            {
                Assert.Equal(2, kinds.Count(k => k == "StatefulSet"));
            }
            else
            {
                Assert.DoesNotContain("StatefulSet", kinds);
                Assert.Equal(2, objects.Count(o => Scalar(o, "kind") == "Service" && Scalar(o, "spec", "type") == "ExternalName"));
                var configMap = objects.Single(o => Scalar(o, "kind") == "ConfigMap");
                Assert.DoesNotContain("moog-sink", Scalar(configMap, "data", "MOOG_WEBHOOK_URL"), StringComparison.Ordinal);
            }
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }

    private static List<YamlMappingNode> Parse(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return stream.Documents.Select(d => (YamlMappingNode)d.RootNode).ToList();
    }

    private static YamlNode Node(YamlNode node, params string[] path)
    {
        Assert.True(TryNode(node, out var found, path), "missing " + string.Join('.', path));
        return found;
    }

    private static bool TryNode(YamlNode node, out YamlNode found, params string[] path)
    {
        found = node;
        foreach (var key in path)
        {
            if (found is not YamlMappingNode map || !map.Children.TryGetValue(new YamlScalarNode(key), out var next))
            {
                return false;
            }
            found = next;
        }
        return true;
    }

    private static string? Scalar(YamlNode node, params string[] path) =>
        TryNode(node, out var found, path) && found is YamlScalarNode scalar ? scalar.Value : null;
}
