using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Mutt.Tests.Deployment;

/// <summary>
/// aspire-manifest.json: what the real AppHost writes in publish mode, committed so that deploy/k8s
/// is generated from it and reviewed with it. These tests hold the manifest to what the generator
/// and the operators rely on.
/// </summary>
[Trait("Category", "Unit")]
public sealed partial class AspireManifestTests
{
    private static readonly string ManifestPath = DeployTestSupport.PathIn("aspire-manifest.json");

    private static readonly string[] Projects = ["dbmanager", "moog-sink", "ingestor", "alerter", "forwarder", "remediation", "dashboard"];
    private static readonly string[] MuttSecrets = ["ingest-api-key", "webui-api-key", "moog-api-key", "postgres-password", "db-password"];

    private static JsonObject Resources() => (JsonObject)JsonNode.Parse(File.ReadAllText(ManifestPath))!["resources"]!;

    private static IEnumerable<(string Project, string Variable, string Value)> ProjectEnv(JsonObject resources) =>
        resources.Where(r => (string?)r.Value!["type"] == "project.v0")
            .SelectMany(r => ((JsonObject?)r.Value!["env"] ?? []).Select(e => (r.Key, e.Key, (string)e.Value!)));

    [Fact]
    public void Manifest_has_the_resources_MUTT_deploys_with_the_types_the_generator_maps()
    {
        var resources = Resources();
        foreach (var name in Projects)
        {
            var project = resources[name]!;
            Assert.Equal("project.v0", (string?)project["type"]);
            Assert.True(File.Exists(DeployTestSupport.PathIn((string)project["path"]!)), $"{name}: {project["path"]} does not exist");
            // A project is built into an image by the SDK at deploy time; the manifest names none (the generator does).
            Assert.Null(project["image"]);
            Assert.Null(project["build"]);
        }
        Assert.Equal(
            ["alerter", "dashboard", "dbmanager", "forwarder", "ingestor", "moog-sink", "remediation"],
            resources.Where(r => (string?)r.Value!["type"] == "project.v0").Select(r => r.Key).Order(StringComparer.Ordinal));

        foreach (var (name, port) in new[] { ("redis", 6379), ("postgres", 5432) })
        {
            Assert.Equal("container.v0", (string?)resources[name]!["type"]);
            Assert.StartsWith("docker.io/library/" + name + ":", (string?)resources[name]!["image"], StringComparison.Ordinal);
            Assert.Equal(port, (int)resources[name]!["bindings"]!["tcp"]!["targetPort"]!);
        }

        var bindings = resources["ingestor"]!["bindings"]!;
        Assert.Equal(8080, (int)(bindings["http"]!["port"] ?? bindings["http"]!["targetPort"])!);
        Assert.Equal(8080, (int)bindings["http"]!["targetPort"]!);
        foreach (var (name, transport, port) in new[] { ("syslog-udp", "udp", 5514), ("syslog-tcp", "tcp", 5514), ("relp", "tcp", 2514), ("snmp", "udp", 1162) })
        {
            Assert.Equal(transport, (string?)bindings[name]!["transport"]);
            Assert.Equal(transport, (string?)bindings[name]!["protocol"]);
            Assert.Equal(port, (int)bindings[name]!["targetPort"]!);
        }
        Assert.Equal("5514", (string?)resources["ingestor"]!["env"]!["SYSLOG_PORT"]);
        Assert.Equal("1162", (string?)resources["ingestor"]!["env"]!["SNMP_PORT"]);
        Assert.Equal("2514", (string?)resources["ingestor"]!["env"]!["RELP_PORT"]);
        Assert.Equal("{moog-sink.bindings.http.url}/api/v1/events", (string?)resources["forwarder"]!["env"]!["MOOG_WEBHOOK_URL"]);
    }

    [Fact]
    public void Services_use_the_least_privilege_role_and_only_the_dbmanager_uses_the_owner()
    {
        var resources = Resources();
        Assert.Equal("value.v0", (string?)resources["muttdb"]!["type"]);
        var muttdb = (string)resources["muttdb"]!["connectionString"]!;
        Assert.Contains("Username=mutt_user;", muttdb, StringComparison.Ordinal);
        Assert.Contains("Password={db-password.value};", muttdb, StringComparison.Ordinal);
        Assert.Equal("value.v0", (string?)resources["muttdb-admin"]!["type"]);
        Assert.Equal("{postgres.connectionString};Database=muttdb", (string?)resources["muttdb-admin"]!["connectionString"]);

        var env = ProjectEnv(resources).ToList();
        var owners = env.Where(e => e.Value.Contains("{muttdb-admin.", StringComparison.Ordinal)
                || e.Value.Contains("{postgres.connectionString}", StringComparison.Ordinal)
                || e.Value.Contains("{postgres-password", StringComparison.Ordinal))
            .Select(e => e.Project).Distinct().ToList();
        Assert.Equal(["dbmanager"], owners);
        // The Ingestor reads the named ingest keys (issue 17) and its webhook mappings (issue 18).
        Assert.Equal(["alerter", "dashboard", "ingestor", "remediation"],
            env.Where(e => e.Value == "{muttdb.connectionString}").Select(e => e.Project).Order(StringComparer.Ordinal));
        Assert.Equal("{db-password.value}", env.Single(e => e is { Project: "dbmanager", Variable: "DB_PASS_CURRENT" }).Value);
    }

    [Fact]
    public void Published_ingestor_listens_on_all_interfaces_explicitly()
    {
        var env = ProjectEnv(Resources()).Where(e => e.Project == "ingestor").ToDictionary(e => e.Variable, e => e.Value);
        Assert.Equal("0.0.0.0", env["SYSLOG_BIND"]);
        Assert.Equal("0.0.0.0", env["SNMP_BIND"]);
    }

    [GeneratedRegex("PASSWORD|PASS_|_KEY$|SECRET|TOKEN", RegexOptions.IgnoreCase)]
    private static partial Regex SecretName();

    [GeneratedRegex(@"password=(?!\{)", RegexOptions.IgnoreCase)]
    private static partial Regex InlinePassword();

    [Fact]
    public void Secrets_are_secret_parameters_and_the_manifest_holds_no_secret_value()
    {
        var resources = Resources();
        var text = File.ReadAllText(ManifestPath);
        foreach (var name in MuttSecrets)
        {
            var parameter = resources[name]!;
            Assert.Equal("parameter.v0", (string?)parameter["type"]);
            Assert.Equal($"{{{name}.inputs.value}}", (string?)parameter["value"]);
            Assert.True((bool?)parameter["inputs"]!["value"]!["secret"], $"{name} is not secret");
        }
        var secretParameters = resources.Where(r => (string?)r.Value!["type"] == "parameter.v0" && (bool?)r.Value!["inputs"]?["value"]?["secret"] == true)
            .Select(r => r.Key).ToHashSet();
        foreach (var name in secretParameters)
        {
            // A generated default is a rule, not a value; a default value would be the secret itself.
            Assert.Null(resources[name]!["inputs"]!["value"]!["default"]?["value"]);
        }
        foreach (var (project, variable, value) in ProjectEnv(resources).Where(e => SecretName().IsMatch(e.Variable)))
        {
            Assert.True(secretParameters.Any(p => value == $"{{{p}.value}}"), $"{project}: {variable} = '{value}' is not a secret parameter");
        }
        Assert.DoesNotMatch(InlinePassword(), text);

        // The values a local run generated (./mutt.sh run) must never reach the manifest.
        var local = DeployTestSupport.PathIn(".mutt", "parameters.json");
        if (File.Exists(local))
        {
            foreach (var (name, value) in JsonNode.Parse(File.ReadAllText(local))!.AsObject())
            {
                var secret = (string?)value;
                Assert.False(secret is { Length: >= 8 } && text.Contains(secret, StringComparison.Ordinal), $"the local value of {name} is in aspire-manifest.json");
            }
        }
    }

    private static string FirstDifference(string expected, string actual)
    {
        var a = expected.Split('\n');
        var b = actual.Split('\n');
        for (var i = 0; i < Math.Max(a.Length, b.Length); i++)
        {
            var left = i < a.Length ? a[i] : "<end>";
            var right = i < b.Length ? b[i] : "<end>";
            if (left != right)
            {
                return $"first difference at line {i + 1}:\n  committed: {left}\n  AppHost:   {right}";
            }
        }
        return "";
    }

    /// <summary>The AppHost run in publish mode (an external process).</summary>
    [Trait("Category", "Integration")]
    public sealed class Publish
    {
        [Fact]
        public async Task Committed_manifest_is_what_the_AppHost_writes_now()
        {
            var fresh = await DeployTestSupport.PublishManifestAsync();
            var committed = await File.ReadAllTextAsync(ManifestPath);
            Assert.True(fresh == committed,
                "aspire-manifest.json is not what Mutt.AppHost writes now. Regenerate it and deploy/k8s with ./mutt.sh publish, review the diff and commit both.\n"
                + FirstDifference(committed, fresh));
        }
    }
}
