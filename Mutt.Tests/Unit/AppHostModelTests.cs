using Microsoft.Extensions.Configuration;
using Mutt.AppHost;
using Mutt.AppHost.Model;
using Mutt.AppHost.Run;

namespace Mutt.Tests.Unit;

public sealed class AppHostModelTests
{
    private static readonly AppModel Model = MuttSystem.Build();

    private static Dictionary<string, string> Env(string resource) => Model[resource].Environment.ToDictionary(kv => kv.Key, kv => kv.Value);

    [Fact]
    public void Model_declares_every_resource_with_spec_names()
    {
        Assert.Equal(
            ["redis", "postgres-password", "postgres", "muttdb", "ingest-api-key", "webui-api-key", "moog-api-key",
             "moog-sink", "ingestor", "alerter", "forwarder", "remediation", "dashboard"],
            Model.Resources.Select(r => r.Name));
        Assert.Equal(8080, Model["ingestor"].Endpoint("http").Port);
        Assert.Equal((8081, 8082), (Model["alerter"].Endpoint("http").Port, Model["alerter"].Endpoint("health").Port));
        Assert.Equal((8083, 8084), (Model["forwarder"].Endpoint("http").Port, Model["forwarder"].Endpoint("health").Port));
        Assert.Equal((8086, 8087), (Model["remediation"].Endpoint("http").Port, Model["remediation"].Endpoint("health").Port));
        Assert.Equal(8090, Model["dashboard"].Endpoint("http").Port);
        Assert.Equal(EndpointProtocol.Udp, Model["ingestor"].Endpoint("syslog-udp").Protocol);
        Assert.Equal(EndpointProtocol.Tcp, Model["ingestor"].Endpoint("syslog-tcp").Protocol);
        Assert.Equal((EndpointProtocol.Udp, 1162), (Model["ingestor"].Endpoint("snmp").Protocol, Model["ingestor"].Endpoint("snmp").Port));
        Assert.Equal("health", Model["alerter"].HealthCheckEndpoint);
        Assert.Equal(2, Model["alerter"].Replicas);
    }

    [Fact]
    public void References_inject_configuration_the_way_Aspire_does()
    {
        var ingestor = Env("ingestor");
        Assert.Equal("{redis.connectionString}", ingestor["ConnectionStrings__redis"]);
        Assert.Equal("{ingest-api-key.value}", ingestor["INGEST_API_KEY"]);
        Assert.Equal("{ingestor.bindings.syslog-udp.targetPort}", ingestor["SYSLOG_PORT"]);
        Assert.Equal("{ingestor.bindings.snmp.targetPort}", ingestor["SNMP_PORT"]);
        Assert.DoesNotContain("ConnectionStrings__muttdb", ingestor.Keys);

        foreach (var worker in new[] { "alerter", "forwarder", "remediation", "dashboard" })
        {
            Assert.Equal("{redis.connectionString}", Env(worker)["ConnectionStrings__redis"]);
            Assert.Equal("{muttdb.connectionString}", Env(worker)["ConnectionStrings__muttdb"]);
        }

        var forwarder = Env("forwarder");
        Assert.Equal("{moog-sink.bindings.http.url}", forwarder["services__moog-sink__http__0"]);
        Assert.Equal("{moog-sink.bindings.http.url}/api/v1/events", forwarder["MOOG_WEBHOOK_URL"]);
        Assert.Equal("{moog-api-key.value}", forwarder["MOOG_API_KEY"]);

        var dashboard = Env("dashboard");
        Assert.Equal("{webui-api-key.value}", dashboard["WEBUI_API_KEY"]);
        Assert.Equal("{remediation.bindings.http.url}", dashboard["services__remediation__http__0"]);
        Assert.Equal("{alerter.bindings.health.url}", dashboard["services__alerter__health__0"]);
        Assert.Equal("{ingestor.bindings.http.url}", dashboard["services__ingestor__http__0"]);
        // Only http endpoints are service-discovery entries.
        Assert.DoesNotContain("services__ingestor__syslog-udp__0", dashboard.Keys);

        Assert.Equal("{postgres.connectionString};Database=muttdb", ((IResourceWithConnectionString)Model["muttdb"]).ConnectionStringExpression);
    }

    [Fact]
    public void WaitFor_orders_projects_in_start_waves()
    {
        var waves = Model.ProjectStartWaves().Select(w => w.Select(p => p.Name).ToList()).ToList();
        int WaveOf(string name) => waves.FindIndex(w => w.Contains(name));

        Assert.Equal(["moog-sink", "ingestor", "alerter", "remediation"], waves[0]);
        Assert.True(WaveOf("forwarder") > WaveOf("moog-sink"));
        Assert.True(WaveOf("dashboard") > WaveOf("remediation"));
        Assert.Equal(Model.Projects.Count(), waves.Sum(w => w.Count));
    }

    [Fact]
    public void WaitFor_cycle_is_rejected()
    {
        var builder = DistributedApplication.CreateBuilder([]);
        var a = builder.AddProject("a", "A");
        var b = builder.AddProject("b", "B").WaitFor(a);
        a.WaitFor(b);
        Assert.Throws<InvalidOperationException>(() => builder.Build().ProjectStartWaves());
    }

    [Fact]
    public void Parameters_are_generated_once_into_a_mode_600_file_and_reused()
    {
        var dir = Path.Combine(Path.GetTempPath(), "mutt-params-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var empty = new ConfigurationBuilder().Build();
            var first = ParameterStore.Resolve(Model.Parameters, empty, dir);
            Assert.Equal(["postgres-password", "ingest-api-key", "webui-api-key", "moog-api-key"], first.Generated);
            Assert.All(first.Values.Values, v => Assert.True(v.Length >= 32));
            Assert.Equal(4, first.Values.Values.Distinct().Count());
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(first.FilePath));

            var second = ParameterStore.Resolve(Model.Parameters, empty, dir);
            Assert.Empty(second.Generated);
            Assert.Equal(first.Values, second.Values);

            // Configuration (Parameters__ingest-api-key) wins and is not written to the file.
            var configured = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Parameters:ingest-api-key"] = "from-config" }).Build();
            var third = ParameterStore.Resolve(Model.Parameters, configured, dir);
            Assert.Equal("from-config", third.Values["ingest-api-key"]);
            Assert.Equal(["ingest-api-key"], third.FromConfiguration);
            Assert.DoesNotContain("from-config", File.ReadAllText(first.FilePath));
            Assert.Equal(first.Values["webui-api-key"], third.Values["webui-api-key"]);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(3, 4)]
    [InlineData(5, 16)]
    [InlineData(6, 30)]
    [InlineData(20, 30)]
    public void Restart_backoff_doubles_up_to_30_seconds(int failures, int seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), Replica.Backoff(failures));
}
