using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Mutt.Core.Redis;
using Mutt.Testing;
using Mutt.Tests.Infrastructure;
using Npgsql;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace Mutt.Tests.Reliability;

/// <summary>
/// The whole path under Sentinel, as production runs it: a real Ingestor and Alerter (child processes) on a
/// master + replica + 3 sentinels that speak TLS only (custom CA) and require a password, PostgreSQL from
/// the fixture. Mid-stream the operator rotates the password everywhere (the services hold CURRENT and
/// NEXT), then the master is killed with SIGKILL while batches are posted: every event answered 202 must end
/// up in the audit log, and both services must follow the new master with the new password.
/// </summary>
[Collection(InfrastructureCollection.Name)]
[Trait("Category", "System")]
public sealed class SentinelSystemTests(InfrastructureFixture infra, ITestOutputHelper output)
{
    private const string ApiKey = "sentinel-system-key";
    private const int BatchSize = 20;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Master_kill_9_mid_stream_over_tls_after_a_password_rotation_loses_no_accepted_event_and_services_follow_the_new_master()
    {
        var folder = Path.Combine(Path.GetTempPath(), "mutt-sentinel-tls-" + Guid.NewGuid().ToString("N")[..8]);
        using var certs = new Mutt.Tests.Integration.TlsCertificates(Path.Combine(folder, "certs"));
        var oldPassword = "old-" + Guid.NewGuid().ToString("N");
        var newPassword = "new-" + Guid.NewGuid().ToString("N");
        await using var cluster = await SentinelCluster.StartAsync(downAfterMilliseconds: 1000, failoverTimeoutMilliseconds: 5000, quorum: 2,
            security: new SentinelCluster.Security(oldPassword, certs.ServerCertPath, certs.ServerKeyPath, certs.CaCertPath));
        var tlsAndPasswords = new Dictionary<string, string?>
        {
            ["REDIS_TLS_ENABLED"] = "true",
            ["REDIS_CA_CERT_PATH"] = certs.CaCertPath,
            ["REDIS_PASS_CURRENT"] = oldPassword,
            ["REDIS_PASS_NEXT"] = newPassword,
        };
        var oldMasterPort = cluster.Master.Port;
        output.WriteLine($"master {oldMasterPort}, replica {cluster.Replica.Port}, sentinels {string.Join(',', cluster.SentinelPorts)}");
        var database = await infra.CreateDatabaseAsync();
        var root = ServiceProcess.FindRepositoryRoot();

        var ingestUrl = $"http://127.0.0.1:{NativeProcess.FreeTcpPort()}";
        await using var ingestor = ServiceProcess.Start("ingestor", ServiceProcess.AssemblyPath(root, "Mutt.Ingestor"), new Dictionary<string, string?>
        {
            ["ConnectionStrings__redis"] = cluster.ConnectionString,
            ["ASPNETCORE_URLS"] = ingestUrl,
            ["INGEST_API_KEY"] = ApiKey,
            // 202 only once the replica has the events: what makes an acknowledged event survive the failover.
            ["INGEST_WAIT_REPLICAS"] = "1",
            ["INGEST_WAIT_TIMEOUT_MS"] = "1000",
            ["SYSLOG_BIND"] = "127.0.0.1",
            ["SYSLOG_PORT"] = NativeProcess.FreeTcpPort().ToString(CultureInfo.InvariantCulture),
            ["SNMP_BIND"] = "127.0.0.1",
            ["SNMP_PORT"] = NativeProcess.FreeUdpPort().ToString(CultureInfo.InvariantCulture),
            ["LOG_JSON_ENABLED"] = "false",
            ["LOG_LEVEL"] = "WARNING",
        }.Concat(tlsAndPasswords).ToDictionary());
        var alerterUrl = $"http://127.0.0.1:{NativeProcess.FreeTcpPort()}";
        await using var alerter = ServiceProcess.Start("alerter-sentinel", ServiceProcess.AssemblyPath(root, "Mutt.Alerter"), new Dictionary<string, string?>
        {
            ["ConnectionStrings__redis"] = cluster.ConnectionString,
            ["ConnectionStrings__muttdb"] = database,
            ["ASPNETCORE_URLS"] = alerterUrl,
            ["POD_NAME"] = "alerter-sentinel",
            ["LOG_LEVEL"] = "WARNING",
            ["ALERTER_HEARTBEAT_INTERVAL"] = "1",
            ["ALERTER_JANITOR_TIMEOUT"] = "3",
        }.Concat(tlsAndPasswords).ToDictionary());
        RedisServer? restarted = null;
        try
        {
            await ingestor.WaitForHealthyAsync(ingestUrl + "/health", Deadline);
            await alerter.WaitForHealthyAsync(alerterUrl + "/health", Deadline);
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(15) };
            Assert.Equal($"127.0.0.1:{oldMasterPort}", await RedisMasterAsync(http, ingestUrl));
            Assert.Equal($"127.0.0.1:{oldMasterPort}", await RedisMasterAsync(http, alerterUrl));

            var accepted = new ConcurrentDictionary<string, bool>(); // correlation id -> accepted after the kill
            var statuses = new ConcurrentDictionary<string, int>();
            var killed = 0;
            using var stop = new CancellationTokenSource();
            var posters = Enumerable.Range(0, 2).Select(p => Task.Run(async () =>
            {
                for (var batch = 0; !stop.IsCancellationRequested; batch++)
                {
                    var afterKill = Volatile.Read(ref killed) == 1;
                    var ids = Enumerable.Range(0, BatchSize).Select(i => $"sent-{p}-{batch}-{i}").ToArray();
                    var outcome = await PostAsync(http, ingestUrl, ids);
                    statuses.AddOrUpdate(outcome, 1, (_, n) => n + 1);
                    if (outcome == "202")
                    {
                        foreach (var id in ids)
                        {
                            accepted[id] = afterKill;
                        }
                    }
                    else
                    {
                        // Load shaping while the service refuses (failover), not a wait for an outcome.
                        await Task.Delay(50);
                    }
                }
            })).ToArray();

            // Mid-stream: batches accepted and the Alerter already auditing.
            await Eventually.WaitForAsync(async () => accepted.Count >= 2000 && await ScalarAsync(database, "SELECT count(*) FROM event_audit_log") > 0,
                Deadline, "2000 accepted events and audits under way before the kill");
            // The operator rotates: servers and Sentinels now require NEXT; the services' live connections stay.
            await cluster.RotatePasswordAsync(newPassword);
            Interlocked.Exchange(ref killed, 1);
            cluster.KillMaster();
            var acceptedBeforeKill = accepted.Count;
            output.WriteLine($"killed master {oldMasterPort} after {acceptedBeforeKill} accepted events");

            var newMasterPort = await Eventually.WaitForAsync(cluster.CurrentMasterPortAsync, p => p is not null && p != oldMasterPort, Deadline, "Sentinel to promote the replica");
            Assert.Equal(cluster.Replica.Port, newMasterPort);
            // The old master comes back (as systemd would restart it) and Sentinel makes it a replica of the new
            // one: with INGEST_WAIT_REPLICAS=1 the Ingestor answers 503 until some replica confirms again.
            restarted = await cluster.RestartOldMasterAsync();

            await Eventually.WaitForAsync(() => Task.FromResult(accepted.Values.Count(after => after)), n => n >= 2000, Deadline,
                "2000 events accepted after the failover");
            await stop.CancelAsync();
            await Task.WhenAll(posters);
            output.WriteLine("answers: " + string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}={s.Value}")));

            // Every 202 is audited exactly once.
            // The probe's value is the number still missing, so a timeout says how many.
            await Eventually.WaitForAsync(async () =>
            {
                Assert.False(alerter.HasExited, "the Alerter exited during the failover");
                var ids = await AuditedIdsAsync(database);
                return accepted.Keys.Count(id => !ids.Contains(id));
            }, missing => missing == 0, TimeSpan.FromSeconds(120), "every accepted correlation id in event_audit_log (value: how many are missing)");
            var audited = await AuditedIdsAsync(database);
            Assert.Equal(await ScalarAsync(database, "SELECT count(*) FROM event_audit_log"),
                await ScalarAsync(database, "SELECT count(DISTINCT correlation_id) FROM event_audit_log"));
            output.WriteLine($"accepted {accepted.Count} ({acceptedBeforeKill} before the kill), audited {audited.Count}, lost 0");

            // Both services healthy again and talking to the master Sentinel names now. Usually the promoted
            // replica; on a starved machine Sentinel may fail over once more, back to the restarted node (a
            // fresh-clone run saw it: the promoted node answered READONLY, the restarted one was master), and
            // following that is the same duty.
            foreach (var (service, url) in new[] { ("Ingestor", ingestUrl), ("Alerter", alerterUrl) })
            {
                var (seen, master) = await Eventually.WaitForAsync(async () => (Seen: await RedisMasterAsync(http, url), Master: await cluster.CurrentMasterPortAsync()),
                    t => t.Master is not null && t.Seen == $"127.0.0.1:{t.Master}", Deadline, $"{service} /health 200 on the master Sentinel names (value: what /health says, Sentinel's master)");
                if (master != newMasterPort)
                {
                    output.WriteLine($"Sentinel failed over again, to {master}; {service} follows it ({seen})");
                }
            }
            // Pub/sub renewed after the failover: DynamicConfig of both services.
            // The library may subscribe on any data node (a PUBLISH on the master reaches a replica's
            // subscribers through replication), so the subscribers of the new master and of the old one,
            // now its replica, are counted together.
            var nodes = new List<ConnectionMultiplexer>();
            foreach (var port in new[] { newMasterPort!.Value, restarted.Port })
            {
                nodes.Add(await cluster.ConnectToNodeAsync(port));
            }
            try
            {
                // The library renews subscriptions after it reconnects, asynchronously: poll with the deadline.
                var subscribers = await Eventually.WaitForAsync(() => SubscribersAsync(nodes),
                    n => n >= 2, Deadline, "config update subscribers (2) on the data nodes");
                Assert.True(subscribers >= 2, $"config update subscribers: {subscribers}");
            }
            finally
            {
                foreach (var node in nodes)
                {
                    await node.DisposeAsync();
                }
            }
            Assert.False(ingestor.HasExited || alerter.HasExited, "a service exited during the failover");
            // Neither password ever reaches a log line.
            var logs = ingestor.Output.Concat(alerter.Output).ToList();
            Assert.DoesNotContain(logs, l => l.Contains(oldPassword, StringComparison.Ordinal) || l.Contains(newPassword, StringComparison.Ordinal));
        }
        catch (Exception ex) when (ex is TimeoutException or Xunit.Sdk.XunitException)
        {
            output.WriteLine("ingestor output:\n" + string.Join("\n", ingestor.Output.TakeLast(40)));
            output.WriteLine("alerter output:\n" + string.Join("\n", alerter.Output.TakeLast(40)));
            // Last, so that CI's summary (the output's last lines) shows them: what MUTT's own code said, and the roles now.
            output.WriteLine("MUTT's warnings about Redis (both services):\n" + string.Join("\n", ingestor.Output.Concat(alerter.Output)
                .Where(l => l.Contains("Mutt.Core.Clients", StringComparison.Ordinal)).TakeLast(15).Select(l => l.Length > 300 ? l[..300] : l)));
            output.WriteLine("roles now: " + await RolesAsync(cluster, [oldMasterPort, cluster.Replica.Port]));
            throw;
        }
        finally
        {
            await ingestor.StopAsync();
            await alerter.StopAsync();
            if (restarted is not null)
            {
                await restarted.DisposeAsync();
            }
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (IOException)
            {
                // Leave the temp folder; never fail the cleanup.
            }
        }
    }

    /// <summary>ROLE of each data node, asked directly (diagnostics of a failed run).</summary>
    private static async Task<string> RolesAsync(SentinelCluster cluster, int[] ports)
    {
        var roles = new List<string>();
        foreach (var port in ports)
        {
            try
            {
                await using var node = await cluster.ConnectToNodeAsync(port);
                var role = await node.GetServer(node.GetEndPoints()[0]).RoleAsync();
                roles.Add($"{port}={role.Value}");
            }
            catch (Exception ex) when (RedisFaults.IsTransient(ex))
            {
                roles.Add($"{port}={ex.GetType().Name}");
            }
        }
        return string.Join(", ", roles);
    }

    /// <summary>Posts one batch; returns the status code, or the exception type when the request itself failed.</summary>
    private static async Task<string> PostAsync(HttpClient http, string baseUrl, string[] ids)
    {
        var timestamp = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
        var body = JsonSerializer.Serialize(ids.Select(id => new Dictionary<string, object>
        {
            ["timestamp"] = timestamp,
            ["message"] = "interface flap " + id,
            ["hostname"] = "edge-sentinel-1",
            ["syslog_severity"] = 4,
            ["correlation_id"] = id,
        }));
        using var request = new HttpRequestMessage(HttpMethod.Post, baseUrl + "/api/v2/ingest") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("X-API-KEY", ApiKey);
        try
        {
            using var response = await http.SendAsync(request);
            return ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return ex.GetType().Name;
        }
    }

    /// <summary>The <c>redis_master</c> the service's /health reports when it answers 200; null otherwise.</summary>
    private static async Task<string?> RedisMasterAsync(HttpClient http, string baseUrl)
    {
        try
        {
            using var response = await http.GetAsync(baseUrl + "/health");
            if (response.StatusCode != HttpStatusCode.OK)
            {
                return null;
            }
            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            return json.RootElement.TryGetProperty("redis_master", out var master) ? master.GetString() : null;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }

    private static async Task<HashSet<string>> AuditedIdsAsync(string database)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT correlation_id FROM event_audit_log", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        while (await reader.ReadAsync())
        {
            ids.Add(reader.GetString(0));
        }
        return ids;
    }

    private static async Task<long> ScalarAsync(string database, string sql)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }

    /// <summary>PUBSUB NUMSUB of the config-update channel, summed over the given data nodes.</summary>
    private static async Task<long> SubscribersAsync(IEnumerable<ConnectionMultiplexer> nodes)
    {
        long config = 0;
        foreach (var node in nodes)
        {
            try
            {
                var n = (RedisResult[])(await node.GetDatabase().ExecuteAsync("PUBSUB", "NUMSUB", MuttKeys.ConfigUpdatesChannel))!;
                config += (long)n[1];
            }
            catch (RedisException)
            {
                // a node still loading or refusing: counted on the next poll
            }
        }
        return config;
    }
}
