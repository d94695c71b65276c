using System.Net;
using System.Text.Json.Nodes;
using Mutt.Testing;
using Mutt.Tests.Infrastructure;
using Npgsql;

namespace Mutt.Tests.EndToEnd;

[CollectionDefinition(Name)]
public sealed class AppHostCollection : ICollectionFixture<ChromiumFixture>
{
    // The whole system is heavy on a 2-core box: AppHost end-to-end tests run one at a time.
    public const string Name = "AppHost";
}

/// <summary>The whole system started once through Aspire.Hosting.Testing from the real AppHost.</summary>
public sealed class AppHostFixture : IAsyncLifetime
{
    public MuttAppHost App { get; private set; } = null!;

    public async Task InitializeAsync() => App = await MuttAppHost.StartAsync();

    public async Task DisposeAsync()
    {
        if (App is not null)
        {
            await App.DisposeAsync();
        }
    }
}

[Collection(AppHostCollection.Name)]
[Trait("Category", "System")]
public sealed class AppHostTests(AppHostFixture fixture) : IClassFixture<AppHostFixture>
{
    private MuttAppHost App => fixture.App;

    [Fact]
    public async Task Every_resource_is_up_and_endpoints_json_describes_it()
    {
        Assert.Equal(2, App.Replicas["alerter"].Count);
        Assert.All(App.Replicas.Values.SelectMany(r => r), r => Assert.True(r.IsUp, $"{r.PodName} is {r.State}/{r.Health}"));

        var resources = await Eventually.WaitForAsync(async () => JsonNode.Parse(await File.ReadAllTextAsync(App.EndpointsFile))!["resources"]!,
            r => MuttAppHost.Services.All(s => (string?)r[s]?["state"] == "Running") && (string?)r["dbmanager"]?["state"] == "Finished",
            TimeSpan.FromSeconds(30), "endpoints.json with every service Running and the DbManager Finished");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(App.EndpointsFile));
        Assert.DoesNotContain(App.IngestApiKey, await File.ReadAllTextAsync(App.EndpointsFile), StringComparison.Ordinal);
        foreach (var name in new[] { "redis", "postgres" }.Concat(MuttAppHost.Services))
        {
            var pid = (int)resources[name]!["pid"]!;
            Assert.Contains(pid, App.GetPids(name));
            Assert.True(NativeProcess.IsAlive(pid), $"{name} pid {pid} is not alive");
        }
        Assert.Equal(App.RedisConnectionString, (string?)resources["redis"]!["connectionString"]);
        Assert.Equal(App.MuttDbConnectionString, (string?)resources["muttdb"]!["connectionString"]);
        Assert.Equal(App.IngestorUrl.ToString().TrimEnd('/'), (string?)resources["ingestor"]!["urls"]!["http"]);
        Assert.StartsWith("udp://", (string?)resources["ingestor"]!["urls"]!["syslog-udp"]);
        Assert.Equal(App.Replicas["alerter"].Select(r => r.PodName), resources["alerter"]!["replicas"]!.AsArray().Select(r => (string)r!["name"]!));
    }

    [Fact]
    public async Task The_DbManager_applied_schema_and_seed_and_the_services_role_is_not_the_superuser()
    {
        var role = new NpgsqlConnectionStringBuilder(App.MuttDbConnectionString).Username;
        Assert.Equal("mutt_user", role);
        await using var connection = new NpgsqlConnection(App.MuttDbConnectionString);
        await connection.OpenAsync();
        await using (var rules = new NpgsqlCommand("SELECT count(*) FROM alert_rules", connection))
        {
            Assert.True((long)(await rules.ExecuteScalarAsync())! > 0, "seeded rules expected");
        }
        await using var super = new NpgsqlCommand("SELECT rolsuper FROM pg_roles WHERE rolname = current_user", connection);
        Assert.False((bool)(await super.ExecuteScalarAsync())!);
    }

    [Fact]
    public void Without_the_Aspire_dashboard_no_service_is_given_an_OTLP_endpoint()
    {
        // Aspire would hand every service the (absent) dashboard's OTLP endpoint: each would then record a
        // trace of every event and retry its exports in memory. The AppHost drops that in such a run.
        foreach (var replica in MuttAppHost.Services.SelectMany(s => App.Replicas[s]))
        {
            var environment = EnvironmentOf(replica.Pid);
            Assert.False(environment.ContainsKey("OTEL_EXPORTER_OTLP_ENDPOINT"), $"{replica.PodName} has OTEL_EXPORTER_OTLP_ENDPOINT={environment.GetValueOrDefault("OTEL_EXPORTER_OTLP_ENDPOINT")}");
        }
    }

    [Fact]
    public async Task Syslog_over_tls_is_offered_with_the_generated_certificate_while_http_stays_plain()
    {
        var ingestor = EnvironmentOf(App.Replicas["ingestor"][0].Pid);
        var port = App.GetPort("ingestor", "syslog-tls");
        Assert.Equal(port.ToString(), ingestor["SYSLOG_TLS_PORT"]);
        Assert.False(ingestor.ContainsKey("TLS_CERT_PATH"), "Kestrel gets no certificate: HTTP stays plain");
        Assert.Equal("http", App.IngestorUrl.Scheme);

        // A sender that trusts only <state>/tls/ca.crt and checks the name localhost completes the handshake, and its message arrives.
        using var ca = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificateFromFile(Path.Combine(App.StateDir, "tls", "ca.crt"));
        using var client = new System.Net.Sockets.TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port);
        await using var tls = new System.Net.Security.SslStream(client.GetStream());
        await tls.AuthenticateAsClientAsync(new System.Net.Security.SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            CertificateChainPolicy = new System.Security.Cryptography.X509Certificates.X509ChainPolicy
            {
                TrustMode = System.Security.Cryptography.X509Certificates.X509ChainTrustMode.CustomRootTrust,
                CustomTrustStore = { ca },
                RevocationMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck,
            },
        });
        var marker = "tls-" + Guid.NewGuid().ToString("N")[..8];
        var message = System.Text.Encoding.UTF8.GetBytes($"<131>1 2026-12-06T02:00:00Z tls-sender app - - - {marker}");
        await tls.WriteAsync(System.Text.Encoding.ASCII.GetBytes($"{message.Length} "));
        await tls.WriteAsync(message);
        await tls.FlushAsync();
        using var http = new HttpClient { BaseAddress = App.IngestorUrl };
        await Eventually.WaitForAsync(async () => (await http.GetStringAsync("/metrics")).Contains("mutt_syslog_messages_received_total{transport=\"tls\"}"),
            TimeSpan.FromSeconds(30), "the TLS syslog message to be received");
    }

    [Fact]
    public void Each_service_gets_only_what_it_reads_and_no_connection_string_names_the_superuser()
    {
        var ingestor = EnvironmentOf(App.Replicas["ingestor"][0].Pid);
        Assert.EndsWith("Mutt.Ingestor", File.ReadAllText($"/proc/{App.Replicas["ingestor"][0].Pid}/cmdline").Split('\0')[0], StringComparison.Ordinal);
        Assert.Equal(App.RedisConnectionString, ingestor["ConnectionStrings__redis"]);
        Assert.Equal(App.IngestApiKey, ingestor["INGEST_API_KEY"]);
        Assert.Equal(App.GetPort("ingestor", "syslog-udp").ToString(), ingestor["SYSLOG_PORT"]);
        Assert.Equal(App.GetPort("ingestor", "syslog-tcp"), App.GetPort("ingestor", "syslog-udp"));
        Assert.Equal(App.GetPort("ingestor", "snmp").ToString(), ingestor["SNMP_PORT"]);
        // The least-privilege role: named ingest keys (issue 17) and webhook mappings (issue 18).
        Assert.Equal(App.MuttDbConnectionString, ingestor["ConnectionStrings__muttdb"]);
        Assert.Equal("127.0.0.1", ingestor["SYSLOG_BIND"]);
        Assert.Equal("127.0.0.1", ingestor["SNMP_BIND"]);

        var alerters = App.Replicas["alerter"].Select(r => EnvironmentOf(r.Pid)).ToList();
        Assert.Equal(App.Replicas["alerter"].Select(r => r.PodName), alerters.Select(e => e["POD_NAME"]));
        Assert.Equal(2, alerters.Select(e => e["POD_NAME"]).Distinct().Count());
        Assert.All(alerters, e => Assert.Equal(App.MuttDbConnectionString, e["ConnectionStrings__muttdb"]));

        var forwarder = EnvironmentOf(App.Replicas["forwarder"][0].Pid);
        Assert.Equal(App.SinkUrl.ToString().TrimEnd('/') + "/api/v1/events", forwarder["MOOG_WEBHOOK_URL"]);
        Assert.Equal(App.GetParameterValue("moog-api-key"), forwarder["MOOG_API_KEY"]);
        Assert.False(forwarder.ContainsKey("ConnectionStrings__muttdb"), "the Forwarder has no database");

        var remediation = EnvironmentOf(App.Replicas["remediation"][0].Pid);
        Assert.False(remediation.ContainsKey("MOOG_API_KEY"), "Remediation has no Moogsoft key");

        var dashboard = EnvironmentOf(App.Replicas["dashboard"][0].Pid);
        Assert.True(dashboard.ContainsKey("services__remediation__http__0"));
        Assert.Equal(App.GetParameterValue("webui-api-key"), dashboard["WEBUI_API_KEY"]);

        foreach (var replica in App.Replicas.Values.SelectMany(r => r))
        {
            foreach (var (name, value) in EnvironmentOf(replica.Pid).Where(kv => kv.Key.StartsWith("ConnectionStrings__", StringComparison.Ordinal)))
            {
                Assert.DoesNotContain("Username=postgres", value, StringComparison.OrdinalIgnoreCase);
                Assert.DoesNotContain(App.GetParameterValue("postgres-password"), value, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public void A_local_run_listens_for_syslog_relp_and_snmp_on_loopback_only()
    {
        var ports = new[] { ("tcp", App.GetPort("ingestor", "syslog-tcp")), ("udp", App.GetPort("ingestor", "syslog-udp")),
            ("tcp", App.GetPort("ingestor", "relp")), ("tcp", App.GetPort("ingestor", "syslog-tls")), ("udp", App.GetPort("ingestor", "snmp")) };
        foreach (var (protocol, port) in ports)
        {
            var addresses = ListeningAddresses(protocol, port);
            Assert.True(addresses.Count > 0, $"nothing listens on {protocol}/{port}");
            Assert.All(addresses, a => Assert.Equal("127.0.0.1", a));
        }
    }

    /// <summary>Local addresses of the sockets bound to <paramref name="port"/> (TCP: listening ones), from /proc/net (IPv4 and IPv6).</summary>
    private static List<string> ListeningAddresses(string protocol, int port)
    {
        var result = new List<string>();
        foreach (var file in new[] { $"/proc/net/{protocol}", $"/proc/net/{protocol}6" }.Where(File.Exists))
        {
            foreach (var line in File.ReadLines(file).Skip(1))
            {
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                var local = fields[1].Split(':');
                if (Convert.ToInt32(local[1], 16) != port || (protocol == "tcp" && fields[3] != "0A"))
                {
                    continue;
                }
                var bytes = Convert.FromHexString(local[0]);
                // /proc prints each 32-bit word in host (little-endian) order.
                for (var i = 0; i < bytes.Length; i += 4)
                {
                    Array.Reverse(bytes, i, 4);
                }
                var address = new System.Net.IPAddress(bytes);
                result.Add(address.IsIPv4MappedToIPv6 ? address.MapToIPv4().ToString() : address.ToString());
            }
        }
        return result;
    }

    [Fact]
    public async Task A_killed_service_is_seen_by_Aspire_started_again_by_its_command_and_counted()
    {
        var replica = App.Replicas["remediation"][0];
        var before = replica.Pid;
        var restartsBefore = App.GetRestartCount("remediation");

        await App.KillAsync(replica);
        await App.StartAgainAsync(replica);

        Assert.NotEqual(before, replica.Pid);
        Assert.Equal(restartsBefore + 1, App.GetRestartCount("remediation"));
        var resources = await Eventually.WaitForAsync(async () => JsonNode.Parse(await File.ReadAllTextAsync(App.EndpointsFile))!["resources"]!,
            r => (int?)r["remediation"]!["pid"] == replica.Pid, TimeSpan.FromSeconds(30), "endpoints.json with the new pid");
        Assert.Equal(restartsBefore + 1, (int)resources["remediation"]!["restarts"]!);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        using var response = await http.GetAsync(new Uri(App.GetEndpoint("remediation", "health"), "/health"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Killed_redis_comes_back_on_its_port_and_the_services_recover()
    {
        var redis = App.Server("redis");
        var before = redis.Pid;

        await App.KillAsync(redis);
        await App.StartAgainAsync(redis);

        Assert.NotEqual(before, redis.Pid);
        using (var client = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(App.RedisConnectionString + ",abortConnect=false"))
        {
            await client.GetDatabase().PingAsync();
        }
        // The services reconnect on their own: every replica is healthy again.
        await Eventually.WaitForAsync(() => Task.FromResult(App.Replicas.Values.SelectMany(r => r).All(r => r.IsUp)),
            TimeSpan.FromSeconds(90), "every replica healthy after the redis restart");
    }

    internal static Dictionary<string, string> EnvironmentOf(int pid) =>
        File.ReadAllText($"/proc/{pid}/environ").Split('\0', StringSplitOptions.RemoveEmptyEntries)
            .Select(kv => kv.Split('=', 2)).Where(kv => kv.Length == 2)
            .GroupBy(kv => kv[0]).ToDictionary(g => g.Key, g => g.Last()[1]);
}
