using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;
using Mutt.Testing;
using Mutt.AppHost.Run;
using Mutt.Tests.Infrastructure;
using Npgsql;

namespace Mutt.Tests.EndToEnd;

[CollectionDefinition(Name)]
public sealed class AppHostCollection
{
    // The whole system is heavy on a 2-core box: AppHost end-to-end tests run one at a time.
    public const string Name = "AppHost";
}

/// <summary>The whole system started once, in process, from the AppHost's own model (our Aspire.Hosting.Testing).</summary>
public sealed class AppHostFixture : IAsyncLifetime
{
    public string StateDir { get; } = Path.Combine(Path.GetTempPath(), "mutt-apphost-" + Guid.NewGuid().ToString("N")[..8]);
    public ConcurrentQueue<string> Log { get; } = new();
    public MuttApplication App { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        App = await MuttApplication.StartAsync(new RunOptions
        {
            StateDir = StateDir,
            UseFreePorts = true,
            Seed = true,
            FastAndLoosePostgres = true,
            HealthTimeout = TimeSpan.FromSeconds(120),
            Log = Log.Enqueue,
        });
    }

    public async Task DisposeAsync()
    {
        if (App is not null)
        {
            await App.DisposeAsync();
        }
        try
        {
            Directory.Delete(StateDir, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}

[Collection(AppHostCollection.Name)]
public sealed class AppHostTests(AppHostFixture fixture) : IClassFixture<AppHostFixture>
{
    private MuttApplication App => fixture.App;

    [Fact]
    public async Task Every_resource_is_healthy_and_endpoints_json_describes_it()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        foreach (var (name, replicas) in App.Replicas)
        {
            foreach (var replica in replicas)
            {
                using var response = await http.GetAsync(replica.HealthUrl);
                Assert.True(response.StatusCode == HttpStatusCode.OK, $"{replica.PodName} /health answered {response.StatusCode}");
            }
        }
        Assert.Equal(2, App.Replicas["alerter"].Count);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(App.EndpointsFile));
        var text = await File.ReadAllTextAsync(App.EndpointsFile);
        Assert.DoesNotContain(App.IngestApiKey, text, StringComparison.Ordinal);
        var resources = JsonNode.Parse(text)!["resources"]!;
        foreach (var name in new[] { "redis", "postgres", "muttdb", "moog-sink", "ingestor", "alerter", "forwarder", "remediation", "dashboard" })
        {
            Assert.Equal("Running", (string?)resources[name]!["state"]);
            Assert.NotNull(resources[name]!["restarts"]);
        }
        foreach (var name in new[] { "redis", "postgres", "moog-sink", "ingestor", "alerter", "forwarder", "remediation", "dashboard" })
        {
            var pid = (int)resources[name]!["pid"]!;
            Assert.Contains(pid, App.GetPids(name));
            Assert.True(NativeProcess.IsAlive(pid), $"{name} pid {pid} is not alive");
        }
        Assert.Equal(App.RedisConnectionString, (string?)resources["redis"]!["connectionString"]);
        Assert.Equal(App.MuttDbConnectionString, (string?)resources["muttdb"]!["connectionString"]);
        Assert.Equal(App.IngestorUrl.ToString().TrimEnd('/'), (string?)resources["ingestor"]!["urls"]!["http"]);
        Assert.StartsWith("udp://127.0.0.1:", (string?)resources["ingestor"]!["urls"]!["syslog-udp"]);
        Assert.Equal(2, resources["alerter"]!["replicas"]!.AsArray().Count);
        Assert.Contains("(mode 600)", string.Join('\n', fixture.Log), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Schema_and_seed_are_in_muttdb_before_services_start()
    {
        await using var connection = new NpgsqlConnection(App.MuttDbConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM alert_rules", connection);
        Assert.True((long)(await command.ExecuteScalarAsync())! > 0, "seeded rules expected");
    }

    [Fact]
    public void Services_receive_configuration_the_way_Aspire_injects_it()
    {
        // The recorded pid is the service itself (setsid execs in place), so signals reach it.
        var cmdline = File.ReadAllText($"/proc/{App.Replicas["ingestor"][0].Pid}/cmdline").Split('\0');
        Assert.EndsWith("Mutt.Ingestor.dll", cmdline[1], StringComparison.Ordinal);

        var ingestor = EnvironmentOf(App.Replicas["ingestor"][0].Pid);
        Assert.Equal(App.RedisConnectionString, ingestor["ConnectionStrings__redis"]);
        Assert.Equal(App.IngestApiKey, ingestor["INGEST_API_KEY"]);
        Assert.Equal(App.GetPort("ingestor", "syslog-udp").ToString(), ingestor["SYSLOG_PORT"]);
        Assert.Equal(App.GetPort("ingestor", "snmp").ToString(), ingestor["SNMP_PORT"]);
        Assert.Equal(App.IngestorUrl.ToString().TrimEnd('/'), ingestor["ASPNETCORE_URLS"]);
        Assert.Equal("ingestor-0", ingestor["POD_NAME"]);

        var alerter1 = EnvironmentOf(App.Replicas["alerter"][1].Pid);
        Assert.Equal("alerter-1", alerter1["POD_NAME"]);
        Assert.Equal(App.MuttDbConnectionString, alerter1["ConnectionStrings__muttdb"]);
        Assert.Contains(App.GetEndpoint("alerter", "health", 1).ToString().TrimEnd('/'), alerter1["ASPNETCORE_URLS"], StringComparison.Ordinal);

        var forwarder = EnvironmentOf(App.Replicas["forwarder"][0].Pid);
        Assert.Equal(App.SinkUrl.ToString().TrimEnd('/'), forwarder["services__moog-sink__http__0"]);
        Assert.Equal(App.SinkUrl.ToString().TrimEnd('/') + "/api/v1/events", forwarder["MOOG_WEBHOOK_URL"]);
        Assert.Equal(App.GetParameterValue("moog-api-key"), forwarder["MOOG_API_KEY"]);

        var dashboard = EnvironmentOf(App.Replicas["dashboard"][0].Pid);
        Assert.Equal(App.GetEndpoint("remediation").ToString().TrimEnd('/'), dashboard["services__remediation__http__0"]);
        Assert.Equal(App.GetParameterValue("webui-api-key"), dashboard["WEBUI_API_KEY"]);
    }

    [Fact]
    public async Task Killed_service_is_restarted_and_the_restart_is_counted()
    {
        var replica = App.Replicas["remediation"][0];
        var before = replica.Pid;
        var restartsBefore = App.GetRestartCount("remediation");
        NativeProcess.Signal(before, NativeProcess.SIGKILL);

        await Eventually.WaitForAsync(() => Task.FromResult(replica.State == "Running" && replica.Pid != before && App.GetRestartCount("remediation") == restartsBefore + 1),
            TimeSpan.FromSeconds(90), "remediation to come back after kill -9");
        Assert.True(NativeProcess.IsAlive(replica.Pid));
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        using var response = await http.GetAsync(replica.HealthUrl);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var resources = JsonNode.Parse(await File.ReadAllTextAsync(App.EndpointsFile))!["resources"]!;
        Assert.Equal(restartsBefore + 1, (int)resources["remediation"]!["restarts"]!);
        Assert.Equal(replica.Pid, (int)resources["remediation"]!["pid"]!);
    }

    [Fact]
    public async Task Killed_redis_is_restarted_on_its_port_and_services_recover()
    {
        var before = App.GetPids("redis").Single();
        var restartsBefore = App.GetRestartCount("redis");
        NativeProcess.Signal(before, NativeProcess.SIGKILL);

        await Eventually.WaitForAsync(() => Task.FromResult(App.GetRestartCount("redis") == restartsBefore + 1),
            TimeSpan.FromSeconds(60), "redis to be restarted");
        var after = App.GetPids("redis").Single();
        Assert.NotEqual(before, after);
        Assert.True(NativeProcess.IsAlive(after));
        using (var redis = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(App.RedisConnectionString + ",abortConnect=false"))
        {
            await redis.GetDatabase().PingAsync();
        }
        var resources = JsonNode.Parse(await File.ReadAllTextAsync(App.EndpointsFile))!["resources"]!;
        Assert.Equal(restartsBefore + 1, (int)resources["redis"]!["restarts"]!);
        Assert.Equal(after, (int)resources["redis"]!["pid"]!);

        // Services reconnect on their own: every replica is healthy again.
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        foreach (var replica in App.Replicas.Values.SelectMany(r => r))
        {
            await Eventually.WaitForAsync(async () =>
            {
                try
                {
                    using var response = await http.GetAsync(replica.HealthUrl);
                    return response.StatusCode == HttpStatusCode.OK;
                }
                catch (HttpRequestException)
                {
                    return false;
                }
            }, TimeSpan.FromSeconds(60), $"{replica.PodName} healthy after the redis restart");
        }
    }

    private static Dictionary<string, string> EnvironmentOf(int pid) =>
        File.ReadAllText($"/proc/{pid}/environ").Split('\0', StringSplitOptions.RemoveEmptyEntries)
            .Select(kv => kv.Split('=', 2)).Where(kv => kv.Length == 2)
            .GroupBy(kv => kv[0]).ToDictionary(g => g.Key, g => g.Last()[1]);
}
