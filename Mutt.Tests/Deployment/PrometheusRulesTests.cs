using System.Text.RegularExpressions;
using Mutt.AppHost;
using Mutt.Tests.Infrastructure;
using YamlDotNet.RepresentationModel;

namespace Mutt.Tests.Deployment;

/// <summary>
/// deploy/prometheus, tested like code with Debian's promtool: the rule files and the systemd
/// scrape configuration load, the rules' own unit tests (deploy/prometheus/tests) pass, and
/// every alert has a case where it fires and one where it must not.
/// </summary>
[Trait("Category", "Unit")]
public sealed partial class PrometheusRulesTests
{
    private static readonly string Folder = DeployTestSupport.PathIn("deploy", "prometheus");
    private static readonly string[] RuleFiles = Directory.GetFiles(Path.Combine(Folder, "rules"), "*.rules.yml").Order(StringComparer.Ordinal).ToArray();

    public static TheoryData<string> RuleTestFiles => new(Directory.GetFiles(Path.Combine(Folder, "tests"), "*.test.yml").Select(Path.GetFileName).Order(StringComparer.Ordinal)!);

    /// <summary>Debian's prometheus package (./mutt.sh setup installs it); a missing tool fails, it does not skip.</summary>
    private static string ServiceFinder(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, tool)).FirstOrDefault(File.Exists)
        ?? throw new FileNotFoundException($"{tool} is not on PATH: install Debian's prometheus package (./mutt.sh setup)");

    [Fact]
    public void Every_alert_has_a_firing_and_a_not_firing_case_in_the_rule_tests()
    {
        var alerts = RuleFiles.SelectMany(Rules).Where(r => r.Children.ContainsKey("alert")).Select(r => Text(r, "alert")).ToList();
        Assert.True(alerts.Count >= 16, $"only {alerts.Count} alerts");
        var firing = new HashSet<string>();
        var silent = new HashSet<string>();
        foreach (var file in Directory.GetFiles(Path.Combine(Folder, "tests"), "*.test.yml"))
        {
            foreach (var test in Seq(Load(file), "tests"))
            {
                foreach (var check in test.Children.TryGetValue("alert_rule_test", out var checks) ? ((YamlSequenceNode)checks).Cast<YamlMappingNode>() : [])
                {
                    var expected = check.Children.TryGetValue("exp_alerts", out var e) ? ((YamlSequenceNode)e).Children.Count : 0;
                    (expected > 0 ? firing : silent).Add(Text(check, "alertname"));
                }
            }
        }
        Assert.Empty(alerts.Except(firing));
        Assert.Empty(alerts.Except(silent));
    }

    [Fact]
    public void The_seed_alerts_are_kept_exactly_as_design_document_000_gives_them()
    {
        // Design document 000, "Key Prometheus Alerts": existing routes and runbooks match these.
        var rules = RuleFiles.SelectMany(Rules).Where(r => r.Children.ContainsKey("alert")).ToDictionary(r => Text(r, "alert"));
        AssertSeed(rules["MUTTDlqGrowing"], "mutt_alerter_dlq_depth > 100", "5m", "DLQ depth is growing, potential rule misconfiguration");
        AssertSeed(rules["MUTTCacheReloadFailed"], "rate(mutt_alerter_cache_reload_failures_total[5m]) > 0", null, "Cache reload failures detected");
        AssertSeed(rules["MUTTRedisDown"], "up{job=\"mutt-alerter\"} == 0", "2m", "MUTT service is down");

        static void AssertSeed(YamlMappingNode rule, string expr, string? @for, string summary)
        {
            Assert.Equal(expr, Text(rule, "expr"));
            Assert.Equal(@for, rule.Children.TryGetValue("for", out var f) ? ((YamlScalarNode)f).Value : null);
            Assert.False(rule.Children.ContainsKey("labels"), "the seed's alerts carry no labels");
            Assert.Equal(summary, Text((YamlMappingNode)rule["annotations"], "summary"));
        }
    }

    [Fact]
    public void Every_rule_links_a_runbook_section_that_exists_in_docs_operations()
    {
        var operations = File.ReadAllText(DeployTestSupport.PathIn("docs", "operations.md"));
        // GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes.
        var anchors = Heading().Matches(operations)
            .Select(m => Regex.Replace(m.Groups[1].Value.Trim().ToLowerInvariant(), @"[^a-z0-9 _-]", "").Replace(' ', '-')).ToHashSet();
        foreach (var rule in RuleFiles.SelectMany(Rules).Where(r => r.Children.ContainsKey("alert")))
        {
            var alert = Text(rule, "alert");
            var url = Text((YamlMappingNode)rule["annotations"], "runbook_url");
            Assert.Equal($"docs/operations.md#{alert.ToLowerInvariant()}", url);
            Assert.Contains(alert.ToLowerInvariant(), anchors);
        }
    }

    [Fact]
    public void Metric_names_in_the_rules_are_exposed_by_MUTT()
    {
        var exposed = MetricNames.Exposed();
        var recorded = RuleFiles.SelectMany(Rules).Where(r => r.Children.ContainsKey("record")).Select(r => Text(r, "record")).ToHashSet();
        foreach (var rule in RuleFiles.SelectMany(Rules))
        {
            foreach (var name in MetricNames.In(Text(rule, "expr")))
            {
                Assert.True(exposed.Contains(name) || recorded.Contains(name) || name == "up", $"{name} in {Text(rule, "expr")} is neither a MUTT metric nor a recording rule");
            }
        }
    }

    [Fact]
    public void Its_relabelling_keeps_the_pods_the_generator_annotates()
    {
        var job = Seq(Load(Path.Combine(Folder, "kubernetes-scrape.yml")), "scrape_configs").Single();
        var sources = Seq(job, "relabel_configs").SelectMany(r => r.Children.TryGetValue("source_labels", out var s) ? ((YamlSequenceNode)s).Select(n => ((YamlScalarNode)n).Value!) : []).ToList();
        // Prometheus exposes annotation a.b/c as __meta_kubernetes_pod_annotation_a_b_c.
        string Meta(string annotation) => "__meta_kubernetes_pod_annotation_" + Regex.Replace(annotation, "[^a-zA-Z0-9_]", "_");
        Assert.Contains(Meta(KubernetesGenerator.PrometheusScrapeAnnotation), sources);
        Assert.Contains(Meta(KubernetesGenerator.PrometheusPortAnnotation), sources);
        Assert.Contains(Meta(KubernetesGenerator.PrometheusPathAnnotation), sources);
        Assert.Contains("__meta_kubernetes_pod_label_app_kubernetes_io_name", sources);
    }

    private static YamlMappingNode Load(string path)
    {
        var stream = new YamlStream();
        using var reader = new StreamReader(path);
        stream.Load(reader);
        return (YamlMappingNode)stream.Documents[0].RootNode;
    }

    private static IEnumerable<YamlMappingNode> Seq(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(key, out var value) ? ((YamlSequenceNode)value).Cast<YamlMappingNode>() : [];

    private static IEnumerable<YamlMappingNode> Rules(string file) => Seq(Load(file), "groups").SelectMany(g => Seq(g, "rules"));

    private static string Text(YamlMappingNode node, string key) => ((YamlScalarNode)node[key]).Value!;

    [GeneratedRegex(@"^#+ (.+)$", RegexOptions.Multiline)]
    private static partial Regex Heading();

    /// <summary>The rule files through Debian's promtool (an external process).</summary>
    [Trait("Category", "Integration")]
    public sealed partial class Promtool
    {
        private static async Task<DeployTestSupport.Result> PromtoolAsync(params string[] arguments)
        {
            var promtool = ServiceFinder("promtool");
            var result = await DeployTestSupport.RunAsync(promtool, arguments, workingDirectory: Folder, timeout: TimeSpan.FromSeconds(120));
            Assert.True(result.ExitCode == 0, $"promtool {string.Join(' ', arguments)} exited {result.ExitCode}:\n{result.All}");
            return result;
        }

        [Fact]
        public async Task Promtool_check_rules_accepts_every_rule_file()
        {
            Assert.NotEmpty(RuleFiles);
            var result = await PromtoolAsync(["check", "rules", .. RuleFiles]);
            Assert.Equal(RuleFiles.Length, SuccessLine().Matches(result.All).Count);
        }

        [Fact]
        public async Task Promtool_check_config_accepts_the_systemd_scrape_configuration()
        {
            // The Kubernetes job (kubernetes-scrape.yml) cannot be checked here: Debian builds Prometheus
            // without Kubernetes service discovery. Its_relabelling_keeps_the_pods_the_generator_annotates covers it.
            await PromtoolAsync("check", "config", "prometheus.yml");
        }

        [Theory]
        [MemberData(nameof(RuleTestFiles), MemberType = typeof(PrometheusRulesTests))]
        public async Task Promtool_test_rules_passes(string testFile)
        {
            var result = await PromtoolAsync("test", "rules", Path.Combine("tests", testFile));
            Assert.Contains("SUCCESS", result.All, StringComparison.Ordinal);
        }

        [GeneratedRegex(@"SUCCESS: \d+ rules found")]
        private static partial Regex SuccessLine();
    }
}
