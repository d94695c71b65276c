using Mutt.Testing;
using Mutt.DbManager.Database;
using Mutt.Core.Rules;
using Mutt.Tests.Infrastructure;
using Mutt.Tests.Integration;
using Npgsql;
using StackExchange.Redis;
using static Mutt.Tests.Integration.AlerterTestData;

namespace Mutt.Tests.EndToEnd;

[Collection(InfrastructureCollection.Name)]
[Trait("Category", "Integration")]
public sealed class AlerterRecoveryTests(InfrastructureFixture infra)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);
    private IDatabase Redis => infra.Multiplexer.GetDatabase();

    private ServiceProcess StartAlerter(string db, string pod, int port, string batchSize = "200") =>
        ServiceProcess.Start(pod, ServiceProcess.AssemblyPath(ServiceProcess.FindRepositoryRoot(), "Mutt.Alerter"), new Dictionary<string, string?>
        {
            ["ConnectionStrings__redis"] = infra.RedisConnectionString,
            ["ConnectionStrings__muttdb"] = db,
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
            ["POD_NAME"] = pod,
            ["LOG_LEVEL"] = "WARNING",
            ["ALERTER_BATCH_SIZE"] = batchSize,
            ["ALERTER_HEARTBEAT_INTERVAL"] = "1",
            ["ALERTER_JANITOR_TIMEOUT"] = "3",
        });

    /// <remarks>
    /// The events are queued before the victim starts, and a fast victim can audit all 30,000 before a
    /// poll sees a batch in flight (a full suite on 2 cores once let it): so, as below, the audit table
    /// is locked once the first rows are in, and the kill lands while the next batch waits for it.
    /// </remarks>
    [Fact]
    public Task Killed_alerter_mid_batch_loses_nothing_and_duplicates_no_audit_row() =>
        KillMidStreamAndRescueAsync(inFlight => inFlight > 0, "the victim mid-stream with a batch in flight", holdAuditWrites: true);

    /// <summary>
    /// The worker is pipelined: batch N+1 is taken into the processing list while batch N's audit
    /// write runs. Killing it with more than one batch (200) in the list checks that the per-batch
    /// ack (LTRIM of the oldest batch) and the replay of both batches lose nothing and duplicate nothing.
    /// </summary>
    /// <remarks>
    /// A fast worker rarely shows two batches in its list at a poll: once some batches are audited the
    /// test holds an exclusive lock on <c>event_audit_log</c>, so the audit write of batch N waits while
    /// batch N+1 is taken (the pipeline), and the kill lands with both in the list.
    /// </remarks>
    [Fact]
    public Task Killed_alerter_with_two_batches_in_the_pipeline_loses_nothing_and_duplicates_nothing() =>
        KillMidStreamAndRescueAsync(inFlight => inFlight > 200, "the victim with two batches in its processing list", holdAuditWrites: true);

    private async Task KillMidStreamAndRescueAsync(Func<long, bool> killWhen, string what, bool holdAuditWrites = false)
    {
        await FlushRedisAsync(infra.RedisConnectionString);
        var db = await infra.CreateDatabaseAsync();
        await InsertRuleAsync(db, MatchTypes.Contains, "DOWN", 10, Handling.TicketOnly, Handling.LogOnly, "NETO");
        const int total = 30_000;
        // No Forwarder drains the alert queue here: lift the backpressure thresholds above what this test pushes.
        var config = new Mutt.Core.Configuration.DynamicConfig(infra.Multiplexer);
        await config.SetAsync(Mutt.Core.Configuration.DynamicConfigKeys.AlerterQueueWarnThreshold, "1000000");
        await config.SetAsync(Mutt.Core.Configuration.DynamicConfigKeys.AlerterQueueShedThreshold, "1000000");
        // Every third event is forwarded, so the alert count checks the Redis side for duplicates too.
        await PushAsync(Redis, "mutt:ingest_queue", Enumerable.Range(0, total).Select(i => Event($"k-{i}", i % 3 == 0 ? $"LINK DOWN {i}" : $"chatter {i}")));

        var portA = NativeProcess.FreeTcpPort();
        await using var victim = StartAlerter(db, "alerter-victim", portA);
        await victim.WaitForHealthyAsync($"http://127.0.0.1:{portA}/health", Deadline);
        // Kill only while a batch is in flight, after some batches were completed.
        await using var auditLock = holdAuditWrites ? await LockAuditLogAfterFirstRowsAsync(db) : null;
        await Eventually.WaitForAsync(async () =>
            killWhen(await Redis.ListLengthAsync("mutt:processing:alerter:alerter-victim")) && await ScalarAsync(db, "SELECT count(*) FROM event_audit_log") > 0,
            Deadline, what);
        await victim.KillAsync();
        if (auditLock is not null)
            await auditLock.CloseAsync(); // rolls back: the rescuer's writes go through
        var audited = await ScalarAsync(db, "SELECT count(*) FROM event_audit_log");
        Assert.True(audited < total, "the victim finished everything before the kill");

        var portB = NativeProcess.FreeTcpPort();
        await using var rescuer = StartAlerter(db, "alerter-rescuer", portB);
        try
        {
            await Eventually.WaitForAsync(() => ScalarAsync(db, "SELECT count(*) FROM event_audit_log"), n => n >= total, Deadline, "every event audited");
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException(ex.Message + "\nrescuer output:\n" + string.Join("\n", rescuer.Output.TakeLast(40)), ex);
        }
        await Eventually.WaitForAsync(async () =>
            await Redis.ListLengthAsync("mutt:ingest_queue") == 0
            && !await Redis.KeyExistsAsync("mutt:processing:alerter:alerter-victim")
            && await Redis.ListLengthAsync("mutt:processing:alerter:alerter-rescuer") == 0, Deadline, "queues drained");

        Assert.Equal(total, await ScalarAsync(db, "SELECT count(*) FROM event_audit_log"));
        Assert.Equal(total, await ScalarAsync(db, "SELECT count(DISTINCT correlation_id) FROM event_audit_log"));
        var all = await AlertsAsync(Redis);
        // The unhandled "chatter" of core-r1 crosses UNHANDLED_THRESHOLD once: one meta-alert, the rest are rule alerts.
        Assert.Single(all, a => a.MetaAlert);
        var alerts = all.Where(a => !a.MetaAlert).ToList();
        Assert.Equal((total + 2) / 3, alerts.Count);
        Assert.Equal(alerts.Count, alerts.Select(a => a.CorrelationId).Distinct().Count());
        Assert.Equal(0, await Redis.ListLengthAsync("mutt:dlq:alerter"));
        await rescuer.StopAsync();
        Assert.False(await Redis.KeyExistsAsync("mutt:heartbeat:alerter:alerter-rescuer"), "graceful stop deletes the heartbeat");
    }

    /// <summary>Waits for the first audited rows, then takes an exclusive lock on the audit table, held until the connection closes.</summary>
    private static async Task<NpgsqlConnection> LockAuditLogAfterFirstRowsAsync(string db)
    {
        await Eventually.WaitForAsync(() => ScalarAsync(db, "SELECT count(*) FROM event_audit_log"), n => n > 0, Deadline, "first batches audited");
        var connection = new NpgsqlConnection(db);
        await connection.OpenAsync();
        var transaction = await connection.BeginTransactionAsync();
        await using (var command = new NpgsqlCommand("LOCK TABLE event_audit_log IN EXCLUSIVE MODE", connection, transaction))
            await command.ExecuteNonQueryAsync();
        return connection;
    }

    [Fact]
    public async Task Sighup_reloads_the_rule_cache_of_a_running_alerter_process()
    {
        await FlushRedisAsync(infra.RedisConnectionString);
        var db = await infra.CreateDatabaseAsync();
        var port = NativeProcess.FreeTcpPort();
        await using var alerter = StartAlerter(db, "alerter-sighup", port);
        await alerter.WaitForHealthyAsync($"http://127.0.0.1:{port}/health", Deadline);

        // Inserted behind the Alerter's back: no config update is published, only the signal tells it.
        await InsertRuleAsync(db, MatchTypes.Contains, "PSU-FAIL", 5, Handling.TicketOnly, Handling.LogOnly, "FACILITIES");
        const int SIGHUP = 1;
        Assert.True(NativeProcess.Signal(alerter.Pid, SIGHUP));

        var probe = 0;
        await Eventually.WaitForAsync(async () =>
        {
            var id = $"hup-{probe++}";
            await PushAsync(Redis, "mutt:ingest_queue", [Event(id, "PSU-FAIL slot 2")]);
            await Eventually.WaitForAsync(() => ScalarAsync(db, $"SELECT count(*) FROM event_audit_log WHERE correlation_id = '{id}'"), n => n == 1, Deadline, "probe audited");
            return await ScalarAsync(db, $"SELECT count(*) FROM event_audit_log WHERE correlation_id = '{id}' AND matched_rule_id IS NOT NULL") == 1;
        }, Deadline, "an event matched by the rule loaded on SIGHUP");
        Assert.False(alerter.HasExited, "SIGHUP must not terminate the Alerter");
    }

    [Fact]
    public async Task Postgres_stopped_and_restarted_mid_stream_loses_nothing()
    {
        await FlushRedisAsync(infra.RedisConnectionString);
        var dataDir = Path.Combine(infra.Root, "pg-outage-" + Guid.NewGuid().ToString("N")[..6]);
        var postgres = await PostgresServer.StartAsync(dataDir, fastAndLoose: true);
        try
        {
            await postgres.EnsureDatabaseAsync("muttdb");
            var db = postgres.ConnectionStringFor("muttdb");
            await using (var source = NpgsqlDataSource.Create(db))
            {
                await MigrationRunner.ApplyAsync(source);
            }
            await using var alerter = await AlerterTestHost.StartAsync(infra.RedisConnectionString, db, "alerter-pg-outage",
                new Dictionary<string, string?> { ["ALERTER_BATCH_SIZE"] = "50" });
            await PushAsync(Redis, "mutt:ingest_queue", Enumerable.Range(0, 500).Select(i => Event($"p-{i}", $"event {i}")));
            await Eventually.WaitForAsync(() => ScalarAsync(db, "SELECT count(*) FROM event_audit_log"), n => n == 500, Deadline, "first wave audited");

            var port = postgres.Port;
            await postgres.StopAsync();
            await postgres.DisposeAsync();
            await PushAsync(Redis, "mutt:ingest_queue", Enumerable.Range(500, 1500).Select(i => Event($"p-{i}", $"event {i}")));
            // Paused: the batch sits in the processing list, nothing is acked or dead-lettered.
            await Eventually.WaitForAsync(async () => !alerter.State.DatabaseAvailable, Deadline, "the worker noticing the outage");
            Assert.True(await Redis.ListLengthAsync("mutt:processing:alerter:alerter-pg-outage") > 0);
            // In one read: the worker takes its second batch in flight whenever it likes.
            Assert.Equal(1500, await RedisLists.TotalLengthAsync(Redis, "mutt:ingest_queue", "mutt:processing:alerter:alerter-pg-outage"));
            Assert.Equal(0, await Redis.ListLengthAsync("mutt:dlq:alerter"));
            using (var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) })
            {
                var health = await http.GetAsync(alerter.BaseAddress + "/health");
                Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, health.StatusCode);
                Assert.Contains("\"postgres\":\"disconnected\"", await health.Content.ReadAsStringAsync());
            }

            postgres = await PostgresServer.StartAsync(dataDir, port: port, fastAndLoose: true);
            NpgsqlConnection.ClearAllPools(); // the test's own pooled connections died with the server
            await Eventually.WaitForAsync(() => ScalarAsync(db, "SELECT count(*) FROM event_audit_log"), n => n == 2000, Deadline, "every event audited after the restart");
            Assert.Equal(2000, await ScalarAsync(db, "SELECT count(DISTINCT correlation_id) FROM event_audit_log"));
            await Eventually.WaitForAsync(async () => alerter.State.DatabaseAvailable && await Redis.ListLengthAsync("mutt:processing:alerter:alerter-pg-outage") == 0, Deadline, "consumption resumed and acked");
            Assert.Equal(0, await Redis.ListLengthAsync("mutt:dlq:alerter"));
        }
        finally
        {
            await postgres.DisposeAsync();
        }
    }
}
