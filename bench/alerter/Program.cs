// Alerter throughput benchmark: 200 active rules (contains / regex / oid_prefix), N events
// preloaded into mutt:ingest_queue, ONE Alerter process (Release) drains them into audit rows
// and alerts. Prints events/s from the first consumed batch to the last audit row.
// Usage: dotnet run -c Release --project bench/alerter -- [events=300000] [batch=1000] [noise]
// Each pass then measures the PostgreSQL ceiling in the same run: the same audit rows (copied out
// binary) COPYed raw into the emptied event_audit_log in one binary COPY; the Alerter's rate is
// printed as a fraction of it.
// "noise": the same run measures alternately without and with noise reduction active (global
// dedup_window_seconds = 300, one flapping rule, 50 maintenance windows), each pass on a fresh
// database and an empty Redis, and prints the with/without ratio (issue 15: must stay >= 0.90).
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Mutt.Testing;
using Mutt.Core.Configuration;
using Mutt.DbManager.Database;
using Mutt.Core.Events;
using Npgsql;
using StackExchange.Redis;

var events = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 300_000;
var batch = args.Length > 1 ? args[1] : "1000";
var noiseMode = args.Contains("noise");
var root = ServiceProcess.FindRepositoryRoot();
// ALERTER_ROOT: measure the Alerter (Release) of another checkout with this harness (old vs new in one sitting).
var alerterDll = ServiceProcess.AssemblyPath(Environment.GetEnvironmentVariable("ALERTER_ROOT") is { Length: > 0 } other ? other : root, "Mutt.Alerter");
Console.WriteLine($"alerter: {alerterDll}");
var work = Path.Combine(Path.GetTempPath(), "mutt-bench-alerter-" + Guid.NewGuid().ToString("N")[..6]);
Directory.CreateDirectory(work);

await using var redisServer = await RedisServer.StartAsync(Path.Combine(work, "redis"), appendOnly: false);
await using var postgres = await PostgresServer.StartAsync(Path.Combine(work, "pg"), fastAndLoose: true);
try
{
    var passes = noiseMode ? new[] { false, true, false, true } : [false];
    var rates = new List<(bool Noise, double Rate)>();
    for (var pass = 0; pass < passes.Length; pass++)
    {
        var rate = await PassAsync(pass, passes[pass]);
        if (double.IsNaN(rate))
        {
            return 1;
        }
        rates.Add((passes[pass], rate));
    }
    if (noiseMode)
    {
        var without = rates.Where(r => !r.Noise).Average(r => r.Rate);
        var with = rates.Where(r => r.Noise).Average(r => r.Rate);
        Console.WriteLine($"RESULT noise reduction: without {without:N0} events/s, with {with:N0} events/s (mean of {rates.Count / 2} interleaved passes each): ratio {with / without:F3}");
    }
    return 0;

    async Task<double> PassAsync(int pass, bool withNoise)
    {
        var label = withNoise ? "with noise reduction" : "without";
        var database = $"muttdb_{pass}";
        await postgres.EnsureDatabaseAsync(database);
        var db = postgres.ConnectionStringFor(database);
        // No command timeout: the ceiling's COPY of millions of rows (and the counts after it) outlast Npgsql's default 30 s.
        await using var dataSource = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(db) { CommandTimeout = 0 }.ConnectionString);
        await MigrationRunner.ApplyAsync(dataSource);

        // 200 rules: 80 contains, 60 regex, 60 oid_prefix; priorities spread so most events scan many rules.
        await using (var conn = await dataSource.OpenConnectionAsync())
        {
            for (var i = 0; i < 200; i++)
            {
                var (type, match, oid) = (i % 10) switch
                {
                    < 4 => ("contains", $"%FAC{i}-MNEMONIC", (string?)null),
                    < 7 => ("regex", $@"^%RGX{i}-\d+-[A-Z]+:", null),
                    _ => ("oid_prefix", "", $"1.3.6.1.4.1.{1000 + i}"),
                };
                await using var cmd = new NpgsqlCommand("INSERT INTO alert_rules (match_string, trap_oid, match_type, priority, prod_handling, dev_handling, team_assignment) VALUES (@m, @o, @t, @p, 'Ticket_only', 'Log_only', 'NETO')", conn);
                cmd.Parameters.AddWithValue("m", match);
                cmd.Parameters.AddWithValue("o", (object?)oid ?? DBNull.Value);
                cmd.Parameters.AddWithValue("t", type);
                cmd.Parameters.AddWithValue("p", 1 + i * 4);
                await cmd.ExecuteNonQueryAsync();
            }
        }

        using var redis = ConnectionMultiplexer.Connect(redisServer.ConnectionString + ",abortConnect=false,allowAdmin=true");
        await redis.GetServer(redis.GetEndPoints()[0]).FlushAllDatabasesAsync();
        var rdb = redis.GetDatabase();
        var config = new DynamicConfig(redis);
        if (withNoise)
        {
            // Dedup on for every forwarded event, one flapping rule every event is checked against, and 50
            // maintenance windows (exact names and patterns) that the bench's hosts are looked up in.
            await config.SetAsync(DynamicConfigKeys.DedupWindowSeconds, "300");
            await using var conn = await dataSource.OpenConnectionAsync();
            await using (var cmd = new NpgsqlCommand("INSERT INTO correlation_rules (name, open_pattern, close_pattern, window_seconds, threshold, team_assignment) VALUES ('link flap', 'changed state to down', 'changed state to up', 300, 3, 'NETO')", conn))
            {
                await cmd.ExecuteNonQueryAsync();
            }
            for (var w = 0; w < 50; w++)
            {
                await using var cmd = new NpgsqlCommand("INSERT INTO maintenance_windows (hosts, starts_at, ends_at, reason, created_by) VALUES (@h, now() - interval '1 hour', now() + interval '1 day', 'bench', 'bench')", conn);
                cmd.Parameters.AddWithValue("h", w % 2 == 0 ? new[] { $"maint-{w}-*", $"lab-{w}-?" } : new[] { $"maint-host-{w}", $"spare-{w}" });
                await cmd.ExecuteNonQueryAsync();
            }
        }
        await config.SetAsync(DynamicConfigKeys.AlerterQueueWarnThreshold, "100000000");
        await config.SetAsync(DynamicConfigKeys.AlerterQueueShedThreshold, "100000000");

        // Event mix: 1/3 match a late contains rule, 1/3 a regex rule, 1/6 an OID rule, 1/6 nothing (scan all 200).
        var random = new Random(42);
        var pushWatch = Stopwatch.StartNew();
        var pending = new List<Task>();
        for (var start = 0; start < events; start += 1000)
        {
            var chunk = new RedisValue[Math.Min(1000, events - start)];
            for (var j = 0; j < chunk.Length; j++)
            {
                var n = start + j;
                var r = random.Next(200);
                var evt = new MuttEvent
                {
                    Timestamp = DateTime.UtcNow.ToString("O"),
                    Hostname = $"host-{n % 1000}",
                    CorrelationId = $"bench-{n}",
                    SyslogSeverity = n % 8,
                    Source = "syslog",
                };
                switch (n % 6)
                {
                    case 0 or 1: evt.Message = $"%FAC{r / 10 * 10}-MNEMONIC: interface Gi0/{n % 48} changed state to down"; break;
                    case 2 or 3: evt.Message = $"%RGX{r / 10 * 10 + 4}-5-UPDOWN: line protocol on Gi0/{n % 48}"; break;
                    case 4: evt.Message = "coldStart"; evt.TrapOid = $"1.3.6.1.4.1.{1000 + r / 10 * 10 + 7}.2.1"; break;
                    default: evt.Message = $"unmatched chatter {n} from a chatty device"; break;
                }
                chunk[j] = JsonSerializer.Serialize(evt, MuttJsonContext.Default.MuttEvent);
            }
            pending.Add(rdb.ListLeftPushAsync("mutt:ingest_queue", chunk));
        }
        await Task.WhenAll(pending);
        Console.WriteLine($"preloaded {events:N0} events in {pushWatch.Elapsed.TotalSeconds:F1} s");

        var port = NativeProcess.FreeTcpPort();
        await using var alerter = ServiceProcess.Start("alerter", alerterDll, new Dictionary<string, string?>
        {
            ["ConnectionStrings__redis"] = redisServer.ConnectionString,
            ["ConnectionStrings__muttdb"] = db,
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["DOTNET_ENVIRONMENT"] = "Production",
            ["LOG_LEVEL"] = "WARNING",
            ["POD_NAME"] = "alerter-bench",
            ["ALERTER_BATCH_SIZE"] = batch,
            ["UNHANDLED_THRESHOLD"] = "1000000",
        });

        // The /metrics exporter starts listening on its first scrape; scrape once so the run is recorded.
        await alerter.WaitForHealthyAsync($"http://127.0.0.1:{port}/alive", TimeSpan.FromSeconds(30));
        using (var http = new HttpClient()) { await http.GetStringAsync($"http://127.0.0.1:{port}/metrics"); }
        // At least 60 s, and long enough for a large run at 10,000 events/s.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(Math.Max(60, events / 10_000));
        Stopwatch? drain = null;
        while (DateTime.UtcNow < deadline)
        {
            var left = await rdb.ListLengthAsync("mutt:ingest_queue");
            if (drain is null && left < events)
            {
                drain = Stopwatch.StartNew();
            }
            if (left == 0 && await rdb.ListLengthAsync("mutt:processing:alerter:alerter-bench") == 0)
            {
                break;
            }
            await Task.Delay(20);
        }
        drain?.Stop();
        alerter.Process.Refresh();
        var alerterCpu = alerter.Process.TotalProcessorTime.TotalSeconds;
        await using var count = dataSource.CreateCommand("SELECT count(*) FROM event_audit_log");
        var audited = (long)(await count.ExecuteScalarAsync())!;
        var alerts = await rdb.ListLengthAsync("mutt:alert_queue");
        var seconds = drain?.Elapsed.TotalSeconds ?? double.NaN;
        Console.WriteLine($"[{label}] batch size {batch}: drained {events:N0} events in {seconds:F2} s = {events / seconds:N0} events/s; audit rows {audited:N0}, alerts {alerts:N0}, dlq {await rdb.ListLengthAsync("mutt:dlq:alerter")}; " +
                          $"Alerter CPU {alerterCpu:F1} s since start ({alerterCpu * 1e6 / events:F1} µs/event)");
        using (var http = new HttpClient())
        {
            var metrics = await http.GetStringAsync($"http://127.0.0.1:{port}/metrics");
            foreach (var line in metrics.Split('\n').Where(l => (l.Contains("_sum") || l.Contains("_count")) && (l.Contains("db_write") || l.Contains("processing_latency"))))
            {
                Console.WriteLine(line);
            }
        }
        await using (var decisions = dataSource.CreateCommand("SELECT handling_decision, count(*) FROM event_audit_log GROUP BY 1 ORDER BY 1"))
        await using (var reader = await decisions.ExecuteReaderAsync())
        {
            var parts = new List<string>();
            while (await reader.ReadAsync()) { parts.Add($"{reader.GetString(0)} {reader.GetInt64(1):N0}"); }
            Console.WriteLine($"[{label}] decisions: {string.Join(", ", parts)}");
        }
        await alerter.StopAsync();
        if (audited == events)
        {
            var ceiling = await CopyCeilingAsync(dataSource, events);
            Console.WriteLine($"RESULT [{label}] one Alerter {events / seconds:N0} events/s = {events / seconds / ceiling:P0} of the binary COPY ceiling " +
                              $"{ceiling:N0} rows/s (same rows, same run); load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
        }
        if (audited != events)
        {
            Console.WriteLine("MISMATCH: audit rows != events (timed out?)");
            foreach (var line in alerter.Output.TakeLast(20)) { Console.WriteLine(line); }
            return double.NaN;
        }
        return events / seconds;
    }

    // The same rows, raw binary COPY into the emptied audit table (all partitions, its four indexes): what
    // PostgreSQL alone takes on this machine now, the bound of any audit writer.
    static async Task<double> CopyCeilingAsync(NpgsqlDataSource dataSource, long expected)
    {
        const string columns = "event_timestamp, hostname, matched_rule_id, handling_decision, forwarded_to_moog, correlation_id, raw_message, " +
                               "decision_count, maintenance_window_id, correlation_rule_id";
        await using var conn = await dataSource.OpenConnectionAsync();
        var rows = new MemoryStream();
        await using (var copyOut = await conn.BeginRawBinaryCopyAsync($"COPY (SELECT {columns} FROM event_audit_log) TO STDOUT (FORMAT BINARY)"))
        {
            await copyOut.CopyToAsync(rows);
        }
        await using (var truncate = new NpgsqlCommand("TRUNCATE event_audit_log", conn))
        {
            await truncate.ExecuteNonQueryAsync();
        }
        await using (var vacuum = new NpgsqlCommand("CHECKPOINT", conn))
        {
            await vacuum.ExecuteNonQueryAsync();
        }
        var watch = Stopwatch.StartNew();
        await using (var copyIn = await conn.BeginRawBinaryCopyAsync($"COPY event_audit_log ({columns}) FROM STDIN (FORMAT BINARY)"))
        {
            rows.Position = 0;
            await rows.CopyToAsync(copyIn);
        }
        watch.Stop();
        await using var count = new NpgsqlCommand("SELECT count(*) FROM event_audit_log", conn);
        var copied = (long)(await count.ExecuteScalarAsync())!;
        Console.WriteLine($"copy ceiling: {copied:N0} rows ({rows.Length / 1048576.0:N1} MB binary) in {watch.Elapsed.TotalSeconds:F2} s = {copied / watch.Elapsed.TotalSeconds:N0} rows/s");
        return copied == expected ? copied / watch.Elapsed.TotalSeconds : double.NaN;
    }
}
finally
{
    try { Directory.Delete(work, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
}
