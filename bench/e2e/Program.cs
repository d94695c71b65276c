// End-to-end benchmark helper (bench/e2e/run.sh drives it).
//
//   drive --state-dir DIR [--rate 10000] [--duration 30] [--events 0] [--connections 8] [--batch 100]
//         [--warmup 0] [--warmup-lines 0] [--drain-timeout 300] [--label text] [--json out.json]
//                                          posts batches of events with unique correlation ids at a target
//                                          rate, waits until every accepted event is audited and every
//                                          alert reached the sink, checks the counts exactly, prints figures
//         [--source syslog --lines N]      instead: N RFC 5424 lines, octet-counted over TCP to the Ingestor's
//                                          syslog port (--connections of them, paced at --rate lines/s or as fast
//                                          as the sockets take them); every line is audited, every 10th
//                                          (LINK-DOWN, seeded rule 2) forwarded; the other 90 % match no rule
//                                          and are audited as unhandled (spread over enough hosts that no
//                                          host reaches the unhandled meta-alert threshold of 100)
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Npgsql;
using NpgsqlTypes;
using StackExchange.Redis;

if (args.Length == 0 || args[0] is not "drive")
{
    Console.Error.WriteLine("usage: Mutt.Bench.E2e drive --state-dir DIR [options] (bench/e2e/run.sh starts MUTT with the AppHost)");
    return 2;
}
return await Drive.RunAsync(Options.Parse(args.Skip(1).ToArray()));

internal sealed class Options(Dictionary<string, string> values)
{
    public static Options Parse(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            values[args[i].TrimStart('-')] = args[i + 1];
        }
        return new Options(values);
    }

    public string? Get(string name) => values.GetValueOrDefault(name);
    public string Required(string name) => Get(name) ?? throw new ArgumentException($"--{name} is required");
    public double Number(string name, double fallback) => Get(name) is { } v ? double.Parse(v, CultureInfo.InvariantCulture) : fallback;
}

internal static class Drive
{
    private sealed record Endpoints(string IngestUrl, string SinkUrl, string Redis, string MuttDb, string ApiKey, Uri SyslogTcp);

    public static async Task<int> RunAsync(Options options)
    {
        var stateDir = options.Required("state-dir");
        var rate = options.Number("rate", 10_000);
        var duration = TimeSpan.FromSeconds(options.Number("duration", 30));
        var maxEvents = (long)options.Number("events", 0);
        var connections = (int)options.Number("connections", 8);
        var batch = (int)options.Number("batch", 100);
        var drainTimeout = TimeSpan.FromSeconds(options.Number("drain-timeout", 300));
        var label = options.Get("label") ?? "";
        var endpoints = ReadEndpoints(stateDir);
        var runId = DateTime.UtcNow.ToString("HHmmss", CultureInfo.InvariantCulture) + "x" + Random.Shared.Next(1000, 9999).ToString(CultureInfo.InvariantCulture);

        using var http = new HttpClient(new SocketsHttpHandler
        {
            MaxConnectionsPerServer = connections,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            AutomaticDecompression = DecompressionMethods.None,
        })
        { Timeout = TimeSpan.FromSeconds(30) };

        var warmup = TimeSpan.FromSeconds(options.Number("warmup", 0));
        var syslog = options.Get("source") == "syslog";
        var warmupLines = (long)options.Number("warmup-lines", 0);
        long sinkBaseEvents = 0, sinkBaseSignatures = 0;
        if (syslog ? warmupLines > 0 : warmup > TimeSpan.Zero)
        {
            // The same load (--warmup seconds of REST, or --warmup-lines syslog lines) under other ids,
            // drained before the measured run: JIT and tiered compilation, connection pools and
            // PostgreSQL's caches are warm, as in a system that has been running.
            Console.WriteLine(syslog ? $"warm-up: {warmupLines:N0} syslog lines" : $"warm-up: {warmup.TotalSeconds:N0} s at the same rate");
            var warm = syslog
                ? await SyslogLoad.RunAsync(endpoints.SyslogTcp, runId + "w", warmupLines, rate, connections)
                : await LoadAsync(http, endpoints, runId + "w", rate, warmup, 0, connections, batch);
            // Syslog: every 10th line (sequence 0, 10, ...) is forwarded.
            var warmAlerts = syslog ? (warm.Accepted + 9) / 10 : warm.Accepted;
            using var warmMux = await ConnectionMultiplexer.ConnectAsync(endpoints.Redis + ",allowAdmin=true,abortConnect=false");
            var warmDb = warmMux.GetDatabase();
            var warmServer = warmMux.GetServer(warmMux.GetEndPoints()[0]);
            var warmClock = Stopwatch.StartNew();
            while (warmClock.Elapsed < drainTimeout)
            {
                long depth = await warmDb.ListLengthAsync("mutt:ingest_queue") + await warmDb.ListLengthAsync("mutt:alert_queue");
                // {prefix}:{pod} lists only: the prefix key itself is the set of pods (the janitor's registry).
                foreach (var key in warmServer.Keys(pattern: "mutt:processing:*:*", pageSize: 100))
                {
                    depth += await warmDb.ListLengthAsync(key);
                }
                var stats = JsonNode.Parse(await http.GetStringAsync(endpoints.SinkUrl + "sink/stats"))!;
                sinkBaseEvents = (long)stats["events"]!;
                sinkBaseSignatures = (long)stats["distinct_signatures"]!;
                if (depth == 0 && sinkBaseEvents >= warmAlerts)
                {
                    break;
                }
                await Task.Delay(TimeSpan.FromSeconds(1));
            }
            Console.WriteLine($"warm-up: {warm.Accepted:N0} events accepted and drained in {warmClock.Elapsed.TotalSeconds:N0} s after the load");
        }

        // ---- load ----
        LoadResult load;
        if (syslog)
        {
            var lines = (long)options.Number("lines", 1_000_000);
            Console.WriteLine($"drive[{runId}]: {lines:N0} syslog lines (RFC 5424, octet-counted TCP), {(rate > 0 ? $"{rate:N0} lines/s target" : "as fast as the sockets take them")}, " +
                              $"{connections} connections, 10 % LINK-DOWN (forwarded) -> {endpoints.SyslogTcp}");
            load = await SyslogLoad.RunAsync(endpoints.SyslogTcp, runId, lines, rate, connections);
        }
        else
        {
            Console.WriteLine($"drive[{runId}]: {(rate > 0 ? $"{rate:N0} events/s target" : "as fast as possible")}, {connections} connections, batches of {batch}, " +
                              $"{(maxEvents > 0 ? $"{maxEvents:N0} events or " : "")}{duration.TotalSeconds:N0} s -> {endpoints.IngestUrl}api/v2/ingest");
            load = await LoadAsync(http, endpoints, runId, rate, duration, maxEvents, connections, batch);
        }
        var ingestSeconds = (load.LastResponse - load.Start).TotalSeconds;
        Console.WriteLine($"load: sent {load.Sent:N0} events in {ingestSeconds:N1} s; accepted {load.Accepted:N0} ({load.Accepted / ingestSeconds:N0} events/s); " +
                          $"statuses {string.Join(", ", load.Statuses.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key}x{kv.Value}"))}; " +
                          $"request p50 {load.RequestP50Ms:N1} ms p99 {load.RequestP99Ms:N1} ms; schedule lag at end {load.LagSeconds:N1} s");

        // ---- drain ----
        var mux = await ConnectionMultiplexer.ConnectAsync(endpoints.Redis + ",allowAdmin=true,abortConnect=false");
        var db = mux.GetDatabase();
        var server = mux.GetServer(mux.GetEndPoints()[0]);
        await using var dataSource = NpgsqlDataSource.Create(endpoints.MuttDb);
        // REST events are ours by correlation id; syslog lines (ids made by the Ingestor) by host name.
        var prefix = syslog ? SyslogLoad.HostPrefix(runId) : $"e2e-{runId}-";
        var column = syslog ? "hostname" : "correlation_id";
        var deadline = Stopwatch.StartNew();
        long audited = 0, alerts = 0, sinkEvents = 0;
        var drained = false;
        long lastAudited = -1, lastSink = -1;
        var stalledPolls = 0;
        while (deadline.Elapsed < drainTimeout)
        {
            var ingestDepth = await db.ListLengthAsync("mutt:ingest_queue");
            var alertDepth = await db.ListLengthAsync("mutt:alert_queue");
            long inFlight = 0;
            foreach (var key in server.Keys(pattern: "mutt:processing:*:*", pageSize: 100))
            {
                inFlight += await db.ListLengthAsync(key);
            }
            // Counting a table of millions of rows costs PostgreSQL a core for a moment: only once
            // nothing is left to audit, so the poll does not take CPU from the system it measures.
            if (ingestDepth == 0 && inFlight == 0)
            {
                (audited, alerts) = await CountAuditAsync(dataSource, column, prefix);
            }
            sinkEvents = await SinkEventsAsync(http, endpoints.SinkUrl) - sinkBaseEvents;
            Console.WriteLine($"drain +{deadline.Elapsed.TotalSeconds:N0}s: ingest_queue {ingestDepth:N0}, alert_queue {alertDepth:N0}, in flight {inFlight:N0}, " +
                              $"audited {audited:N0}/{load.Accepted:N0}, sink events {sinkEvents:N0}/{alerts:N0}");
            var queuesEmpty = ingestDepth == 0 && alertDepth == 0 && inFlight == 0;
            if (audited >= load.Accepted && sinkEvents >= alerts && queuesEmpty)
            {
                drained = true;
                break;
            }
            // Nothing left anywhere and nothing moving for three polls: the missing events are gone
            // (DLQ, shed, lost); waiting for --drain-timeout would not bring them back.
            stalledPolls = queuesEmpty && audited == lastAudited && sinkEvents == lastSink ? stalledPolls + 1 : 0;
            (lastAudited, lastSink) = (audited, sinkEvents);
            if (stalledPolls >= 3)
            {
                Console.WriteLine("drain: queues empty and counts unchanged for three polls; stopping the wait");
                break;
            }
            await Task.Delay(TimeSpan.FromSeconds(2));
        }

        // ---- exact checks ----
        var check = syslog ? await SyslogLoad.CheckAsync(dataSource, prefix, load) : await ExactCheckAsync(dataSource, prefix, load);
        var sink = await SinkSummaryAsync(http, endpoints.SinkUrl);
        sink = sink with { Events = sink.Events - sinkBaseEvents, DistinctSignatures = sink.DistinctSignatures - sinkBaseSignatures };
        var dlq = 0L;
        foreach (var key in server.Keys(pattern: "mutt:dlq:*", pageSize: 100))
        {
            dlq += await db.ListLengthAsync(key);
        }
        var lastDone = check.LastAudit > sink.LastRequest ? check.LastAudit : sink.LastRequest;
        var drainSeconds = (lastDone - load.Start).TotalSeconds;
        var zeroLoss = drained && check.Missing == 0 && check.Duplicates == 0 && check.Audited == load.Accepted
                       && sink.Events == check.Alerts && sink.DistinctSignatures == check.Alerts
                       && (load.ExpectedAlerts is not { } expected || (check.Alerts == expected && check.WronglyForwarded == 0));

        var result = new JsonObject
        {
            ["label"] = label,
            ["warmup_seconds"] = warmup.TotalSeconds,
            ["run_id"] = runId,
            ["rate_target"] = rate,
            ["connections"] = connections,
            ["batch"] = batch,
            ["sent"] = load.Sent,
            ["accepted"] = load.Accepted,
            ["statuses"] = new JsonObject(load.Statuses.OrderBy(kv => kv.Key).Select(kv => KeyValuePair.Create(kv.Key.ToString(CultureInfo.InvariantCulture), (JsonNode?)kv.Value))),
            ["ingest_seconds"] = Math.Round(ingestSeconds, 2),
            ["ingest_rate"] = Math.Round(load.Accepted / ingestSeconds),
            ["request_p50_ms"] = Math.Round(load.RequestP50Ms, 1),
            ["request_p99_ms"] = Math.Round(load.RequestP99Ms, 1),
            ["drained"] = drained,
            ["drain_seconds"] = Math.Round(drainSeconds, 2),
            ["end_to_end_rate"] = Math.Round(load.Accepted / drainSeconds),
            ["last_audit_after_s"] = Math.Round((check.LastAudit - load.Start).TotalSeconds, 2),
            ["last_sink_after_s"] = Math.Round((sink.LastRequest - load.Start).TotalSeconds, 2),
            ["audited"] = check.Audited,
            ["missing_in_audit"] = check.Missing,
            ["duplicate_audit_rows"] = check.Duplicates,
            ["source"] = syslog ? "syslog-tcp" : "rest",
            ["alerts_expected"] = load.ExpectedAlerts ?? check.Alerts,
            ["alerts_audited"] = check.Alerts,
            ["wrongly_forwarded"] = check.WronglyForwarded,
            ["sink_events"] = sink.Events,
            ["sink_distinct_signatures"] = sink.DistinctSignatures,
            ["sink_non_200_requests"] = sink.Non200,
            ["dlq_items"] = dlq,
            ["latency_p50_ms"] = Math.Round(check.P50Ms, 1),
            ["latency_p99_ms"] = Math.Round(check.P99Ms, 1),
            ["latency_max_ms"] = Math.Round(check.MaxMs, 1),
            ["zero_loss"] = zeroLoss,
        };
        await PrintLatencyWindowsAsync(dataSource, column, prefix);
        await PrintServiceMetricsAsync(http, stateDir);
        var text = result.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
        Console.WriteLine(text);
        if (options.Get("json") is { } jsonPath)
        {
            await File.WriteAllTextAsync(jsonPath, text);
        }
        Console.WriteLine(zeroLoss
            ? $"RESULT {label}: zero loss; ingest {load.Accepted / ingestSeconds:N0} {(syslog ? "lines" : "events")}/s, end-to-end {load.Accepted / drainSeconds:N0} {(syslog ? "lines" : "events")}/s, " +
              $"{check.Alerts:N0} forwarded, ingest->audit p50 {check.P50Ms:N0} ms p99 {check.P99Ms:N0} ms"
            : $"RESULT {label}: COUNTS DO NOT MATCH (drained={drained}, audited {check.Audited}/{load.Accepted}, missing {check.Missing}, duplicates {check.Duplicates}, " +
              $"forwarded {check.Alerts}/{load.ExpectedAlerts ?? check.Alerts} (wrongly {check.WronglyForwarded}), sink {sink.Events}/{check.Alerts})");
        return zeroLoss ? 0 : 1;
    }

    private static Endpoints ReadEndpoints(string stateDir)
    {
        var endpoints = JsonNode.Parse(File.ReadAllText(Path.Combine(stateDir, "endpoints.json")))!["resources"]!;
        var parameters = JsonNode.Parse(File.ReadAllText(Path.Combine(stateDir, "parameters.json")))!;
        static string Slash(string url) => url.EndsWith('/') ? url : url + "/";
        return new Endpoints(
            Slash((string)endpoints["ingestor"]!["urls"]!["http"]!),
            Slash((string)endpoints["moog-sink"]!["urls"]!["http"]!),
            (string)endpoints["redis"]!["connectionString"]!,
            (string)endpoints["muttdb"]!["connectionString"]!,
            (string)parameters["ingest-api-key"]!,
            new Uri((string)endpoints["ingestor"]!["urls"]!["syslog-tcp"]!));
    }

    internal sealed class LoadResult
    {
        /// <summary>Alerts the load must produce (syslog: its LINK-DOWN lines); null: whatever the audit says (REST: every event).</summary>
        public long? ExpectedAlerts;
        public DateTimeOffset Start;
        public DateTimeOffset LastResponse;
        public long Sent;
        public long Accepted;
        public double LagSeconds;
        public double RequestP50Ms;
        public double RequestP99Ms;
        public Dictionary<int, long> Statuses = [];
        /// <summary>Sequence number of every accepted request: the correlation ids are regenerated from them.</summary>
        public List<long> AcceptedRequests = [];
        public int AcceptedBatch;
        public string RunId = "";
    }

    public static string CorrelationId(string runId, long request, int index) =>
        string.Create(CultureInfo.InvariantCulture, $"e2e-{runId}-{request}-{index}");

    private static async Task<LoadResult> LoadAsync(HttpClient http, Endpoints endpoints, string runId, double rate, TimeSpan duration,
        long maxEvents, int connections, int batch)
    {
        var url = new Uri(endpoints.IngestUrl + "api/v2/ingest");
        // Request k of worker w is due at start + (k * connections + w) * interval: the workers together pace `rate` events/s.
        var interval = rate > 0 ? TimeSpan.FromSeconds(batch / rate) : TimeSpan.Zero;
        var maxRequests = maxEvents > 0 ? (maxEvents + batch - 1) / batch : long.MaxValue;
        var result = new LoadResult { Start = DateTimeOffset.UtcNow };
        var clock = Stopwatch.StartNew();
        var latencies = new List<double>[connections];
        var accepted = new List<long>[connections];
        var statuses = new Dictionary<int, long>[connections];
        var lag = new double[connections];
        var lastResponse = new long[connections];
        var nextRequest = -1L;

        async Task Worker(int w)
        {
            latencies[w] = [];
            accepted[w] = [];
            statuses[w] = [];
            var body = new StringBuilder(batch * 260);
            while (true)
            {
                var k = Interlocked.Increment(ref nextRequest);
                if (k >= maxRequests)
                {
                    return;
                }
                var due = TimeSpan.FromTicks(interval.Ticks * k);
                if (due >= duration || clock.Elapsed >= duration)
                {
                    return;
                }
                var wait = due - clock.Elapsed;
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait);
                }
                else
                {
                    lag[w] = -wait.TotalSeconds;
                }
                body.Clear().Append('[');
                var now = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
                for (var i = 0; i < batch; i++)
                {
                    if (i > 0)
                    {
                        body.Append(',');
                    }
                    // LINK-DOWN matches seeded rule 2 (Page_and_ticket in production): every event is audited and forwarded.
                    body.Append(CultureInfo.InvariantCulture,
                        $"{{\"timestamp\":\"{now}\",\"message\":\"%LINK-3-UPDOWN: LINK-DOWN Interface GigabitEthernet0/{i % 48} changed state to down\",\"hostname\":\"bench-sw-{(k * batch + i) % 997}\",\"source\":\"syslog\",\"syslog_severity\":3,\"correlation_id\":\"{CorrelationId(runId, k, i)}\"}}");
                }
                body.Append(']');
                using var content = new StringContent(body.ToString(), Encoding.UTF8, "application/json");
                using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = content };
                request.Headers.Add("X-API-KEY", endpoints.ApiKey);
                var sentAt = clock.Elapsed;
                int status;
                try
                {
                    using var response = await http.SendAsync(request);
                    status = (int)response.StatusCode;
                    await response.Content.ReadAsByteArrayAsync();
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                {
                    status = 0;
                }
                var done = clock.Elapsed;
                latencies[w].Add((done - sentAt).TotalMilliseconds);
                statuses[w][status] = statuses[w].GetValueOrDefault(status) + 1;
                Interlocked.Add(ref result.Sent, batch);
                if (status == 202)
                {
                    accepted[w].Add(k);
                    Interlocked.Add(ref result.Accepted, batch);
                }
                lastResponse[w] = done.Ticks;
            }
        }

        await Task.WhenAll(Enumerable.Range(0, connections).Select(w => Task.Run(() => Worker(w))));
        result.LastResponse = result.Start + TimeSpan.FromTicks(lastResponse.Max());
        result.LagSeconds = lag.Max();
        var all = latencies.SelectMany(l => l).Order().ToArray();
        result.RequestP50Ms = all.Length > 0 ? all[all.Length / 2] : 0;
        result.RequestP99Ms = all.Length > 0 ? all[Math.Min(all.Length - 1, (int)(all.Length * 0.99))] : 0;
        foreach (var s in statuses)
        {
            foreach (var (code, count) in s)
            {
                result.Statuses[code] = result.Statuses.GetValueOrDefault(code) + count;
            }
        }
        result.AcceptedRequests = accepted.SelectMany(a => a).ToList();
        result.AcceptedBatch = batch;
        result.RunId = runId;
        return result;
    }

    private static async Task<(long Audited, long Alerts)> CountAuditAsync(NpgsqlDataSource dataSource, string column, string prefix)
    {
        await using var command = dataSource.CreateCommand(
            $"SELECT count(*), count(*) FILTER (WHERE forwarded_to_moog) FROM event_audit_log WHERE starts_with({column}, $1)");
        command.Parameters.AddWithValue(prefix);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetInt64(0), reader.GetInt64(1));
    }

    internal sealed record Check(long Audited, long Alerts, long Missing, long Duplicates, DateTimeOffset LastAudit, double P50Ms, double P99Ms, double MaxMs, long WronglyForwarded = 0);

    /// <summary>Every accepted correlation id has an audit row (anti-join), no id has two, plus the ingest-to-audit latency.</summary>
    private static async Task<Check> ExactCheckAsync(NpgsqlDataSource dataSource, string prefix, LoadResult load)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        await using (var create = new NpgsqlCommand("CREATE TEMP TABLE accepted_ids (id text PRIMARY KEY)", connection))
        {
            await create.ExecuteNonQueryAsync();
        }
        await using (var writer = await connection.BeginBinaryImportAsync("COPY accepted_ids (id) FROM STDIN (FORMAT BINARY)"))
        {
            foreach (var request in load.AcceptedRequests)
            {
                for (var i = 0; i < load.AcceptedBatch; i++)
                {
                    await writer.StartRowAsync();
                    await writer.WriteAsync(CorrelationId(load.RunId, request, i), NpgsqlDbType.Text);
                }
            }
            await writer.CompleteAsync();
        }
        await using var command = new NpgsqlCommand(
            """
            WITH ours AS (SELECT correlation_id, forwarded_to_moog, created_at, (raw_message->>'received_at')::timestamptz AS received_at
                          FROM event_audit_log WHERE starts_with(correlation_id, $1))
            SELECT (SELECT count(*) FROM ours),
                   (SELECT count(*) FROM ours WHERE forwarded_to_moog),
                   (SELECT count(*) FROM accepted_ids a WHERE NOT EXISTS (SELECT 1 FROM event_audit_log l WHERE l.correlation_id = a.id)),
                   (SELECT count(*) - count(DISTINCT correlation_id) FROM ours),
                   (SELECT max(created_at) FROM ours),
                   (SELECT percentile_cont(ARRAY[0.5, 0.99, 1.0]) WITHIN GROUP (ORDER BY extract(epoch FROM created_at - received_at) * 1000) FROM ours)
            """, connection);
        command.Parameters.AddWithValue(prefix);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        var percentiles = reader.IsDBNull(5) ? [0d, 0d, 0d] : reader.GetFieldValue<double[]>(5);
        return new Check(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3),
            reader.IsDBNull(4) ? load.Start : reader.GetFieldValue<DateTimeOffset>(4), percentiles[0], percentiles[1], percentiles[2]);
    }

    /// <summary>Ingest-to-audit latency per 5 s of arrival: shows whether the tail is steady or a few stalls.</summary>
    private static async Task PrintLatencyWindowsAsync(NpgsqlDataSource dataSource, string column, string prefix)
    {
        await using var command = dataSource.CreateCommand(
            $$"""
            WITH ours AS (SELECT created_at, (raw_message->>'received_at')::timestamptz AS received_at
                          FROM event_audit_log WHERE starts_with({{column}}, $1)),
                 t0 AS (SELECT min(received_at) AS t FROM ours)
            SELECT floor(extract(epoch FROM received_at - t0.t) / 5)::int * 5 AS window_s, count(*),
                   percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP (ORDER BY extract(epoch FROM created_at - received_at) * 1000),
                   max(extract(epoch FROM created_at - received_at) * 1000)::float8
            FROM ours, t0 GROUP BY 1 ORDER BY 1
            """);
        command.Parameters.AddWithValue(prefix);
        await using var reader = await command.ExecuteReaderAsync();
        Console.WriteLine("ingest->audit latency by arrival window (s: events, p50/p99/max ms):");
        var line = new StringBuilder();
        while (await reader.ReadAsync())
        {
            var p = reader.GetFieldValue<double[]>(2);
            line.Append(CultureInfo.InvariantCulture, $"  {reader.GetInt32(0),3}s: {reader.GetInt64(1),7:N0} {p[0],6:N0}/{p[1],6:N0}/{reader.GetDouble(3),6:N0}");
            if (line.Length > 150)
            {
                Console.WriteLine(line);
                line.Clear();
            }
        }
        if (line.Length > 0)
        {
            Console.WriteLine(line);
        }
    }

    /// <summary>Per-replica means of the Alerter's audit write and batch latency and the Forwarder's request latency, from /metrics.</summary>
    private static async Task PrintServiceMetricsAsync(HttpClient http, string stateDir)
    {
        var resources = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(stateDir, "endpoints.json")))!["resources"]!.AsObject();
        string[] wanted = ["mutt_db_write_latency_ms", "mutt_alerter_processing_latency_seconds", "mutt_moog_request_duration_seconds", "mutt_moog_request_latency_seconds"];
        foreach (var (name, node) in resources)
        {
            if (name is not ("alerter" or "forwarder") || node?["replicas"] is not JsonArray replicas)
            {
                continue;
            }
            foreach (var replica in replicas)
            {
                var url = (string?)replica?["urls"]?["health"] ?? (string?)replica?["urls"]?["http"];
                if (url is null)
                {
                    continue;
                }
                string metrics;
                try
                {
                    metrics = await http.GetStringAsync(url.TrimEnd('/') + "/metrics");
                }
                catch (HttpRequestException)
                {
                    continue;
                }
                var sums = new Dictionary<string, double>();
                foreach (var raw in metrics.Split('\n'))
                {
                    var parts = raw.Split(' ');
                    if (parts.Length < 2 || raw.StartsWith('#'))
                    {
                        continue;
                    }
                    var metric = parts[0].Split('{')[0];
                    if (wanted.Any(w => metric == w + "_sum" || metric == w + "_count") && double.TryParse(parts[^1], CultureInfo.InvariantCulture, out var v))
                    {
                        sums[metric] = sums.GetValueOrDefault(metric) + v;
                    }
                }
                var summary = string.Join(", ", wanted.Where(w => sums.GetValueOrDefault(w + "_count") > 0)
                    .Select(w => $"{w} mean {sums[w + "_sum"] / sums[w + "_count"]:N3} x {sums[w + "_count"]:N0} (total {sums[w + "_sum"]:N1})"));
                Console.WriteLine($"  {(string?)replica?["name"]}: {summary}");
            }
        }
    }

    private static async Task<long> SinkEventsAsync(HttpClient http, string sinkUrl)
    {
        var stats = JsonNode.Parse(await http.GetStringAsync(sinkUrl + "sink/stats"))!;
        return (long)stats["events"]!;
    }

    private sealed record SinkSummary(long Events, long DistinctSignatures, long Non200, DateTimeOffset LastRequest);

    private static async Task<SinkSummary> SinkSummaryAsync(HttpClient http, string sinkUrl)
    {
        var stats = JsonNode.Parse(await http.GetStringAsync(sinkUrl + "sink/stats"))!;
        var requests = JsonNode.Parse(await http.GetStringAsync(sinkUrl + "sink/requests"))!.AsArray();
        var last = requests.Count == 0 ? DateTimeOffset.MinValue : requests.Max(r => DateTimeOffset.Parse((string)r!["received_at"]!, CultureInfo.InvariantCulture));
        var non200 = requests.Count(r => (int)r!["status"]! != 200);
        return new SinkSummary((long)stats["events"]!, (long)stats["distinct_signatures"]!, non200, last);
    }
}

/// <summary>
/// The syslog TCP source: RFC 5424 lines, octet-counted (RFC 6587 3.4.1), over plain TCP to the
/// Ingestor's syslog port. Every 10th line (sequence number divisible by 10) is a LINK-DOWN that
/// seeded rule 2 forwards; the others match no rule and are audited as unhandled. Lines are ours by
/// host name (the Ingestor makes the correlation ids); each carries its sequence number in the
/// message, so missing and duplicated lines are counted exactly.
/// </summary>
internal static class SyslogLoad
{
    private const int ChunkLines = 500;

    public static string HostPrefix(string runId) => $"s{runId}-";

    /// <summary>Hosts enough that each sees fewer than ~50 unhandled lines (the meta-alert threshold is 100).</summary>
    private static long Hosts(long lines) => Math.Max(1, lines / 50);

    private static byte[] Line(string runId, long seq, long hosts, string timestamp)
    {
        var forwarded = seq % 10 == 0;
        var message = forwarded
            ? string.Create(CultureInfo.InvariantCulture, $"%LINK-3-UPDOWN: LINK-DOWN Interface GigabitEthernet0/{seq % 48} changed state to down seq={runId}-{seq}")
            : string.Create(CultureInfo.InvariantCulture, $"%LINEPROTO-5-NOTICE: keepalive on GigabitEthernet0/{seq % 48} ok seq={runId}-{seq}");
        var line = string.Create(CultureInfo.InvariantCulture,
            $"<{(forwarded ? 187 : 189)}>1 {timestamp} {HostPrefix(runId)}{seq % hosts} ifmgr 1234 LINK - {message}");
        var bytes = Encoding.UTF8.GetBytes(line);
        var frame = Encoding.ASCII.GetBytes(bytes.Length.ToString(CultureInfo.InvariantCulture) + " ");
        return [.. frame, .. bytes];
    }

    public static async Task<Drive.LoadResult> RunAsync(Uri syslogTcp, string runId, long lines, double rate, int connections)
    {
        var hosts = Hosts(lines);
        var timestamp = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
        // The payload is built before the clock starts: the sender's CPU is not the Ingestor's.
        var chunks = new List<byte[]>[connections];
        for (var c = 0; c < connections; c++)
        {
            chunks[c] = [];
        }
        var chunkCount = 0;
        for (long first = 0; first < lines; first += ChunkLines)
        {
            using var buffer = new MemoryStream(ChunkLines * 140);
            for (var seq = first; seq < Math.Min(lines, first + ChunkLines); seq++)
            {
                buffer.Write(Line(runId, seq, hosts, timestamp));
            }
            chunks[chunkCount++ % connections].Add(buffer.ToArray());
        }
        var result = new Drive.LoadResult { Start = DateTimeOffset.UtcNow, RunId = runId, ExpectedAlerts = (lines + 9) / 10 };
        var clock = Stopwatch.StartNew();
        var interval = rate > 0 ? TimeSpan.FromSeconds(ChunkLines / rate) : TimeSpan.Zero;
        var lag = 0d;
        var nextChunk = -1L;
        async Task Send(int c)
        {
            using var client = new TcpClient { NoDelay = false, SendBufferSize = 1 << 20 };
            await client.ConnectAsync(syslogTcp.Host, syslogTcp.Port);
            var stream = client.GetStream();
            foreach (var chunk in chunks[c])
            {
                if (interval > TimeSpan.Zero)
                {
                    var wait = TimeSpan.FromTicks(interval.Ticks * Interlocked.Increment(ref nextChunk)) - clock.Elapsed;
                    if (wait > TimeSpan.Zero)
                    {
                        await Task.Delay(wait);
                    }
                    else
                    {
                        lag = Math.Max(lag, -wait.TotalSeconds);
                    }
                }
                await stream.WriteAsync(chunk);
            }
            await stream.FlushAsync();
            // A graceful close: the Ingestor reads everything before it sees the end of the stream.
            client.Client.Shutdown(SocketShutdown.Send);
            var rest = new byte[256];
            while (await stream.ReadAsync(rest) > 0)
            {
            }
        }
        await Task.WhenAll(Enumerable.Range(0, connections).Select(c => Task.Run(() => Send(c))));
        result.LastResponse = result.Start + clock.Elapsed;
        result.Sent = lines;
        result.Accepted = lines;
        result.LagSeconds = lag;
        result.Statuses[0] = lines;
        return result;
    }

    /// <summary>Every line audited once (distinct sequence numbers), the LINK-DOWN lines and only they forwarded, plus the ingest-to-audit latency.</summary>
    public static async Task<Drive.Check> CheckAsync(NpgsqlDataSource dataSource, string prefix, Drive.LoadResult load)
    {
        await using var command = dataSource.CreateCommand(
            """
            WITH ours AS (SELECT forwarded_to_moog, created_at, raw_message->>'message' AS message,
                                 (raw_message->>'received_at')::timestamptz AS received_at
                          FROM event_audit_log WHERE starts_with(hostname, $1))
            SELECT (SELECT count(*) FROM ours),
                   (SELECT count(*) FROM ours WHERE forwarded_to_moog),
                   (SELECT count(DISTINCT message) FROM ours),
                   (SELECT count(*) FROM ours WHERE forwarded_to_moog <> (position('LINK-DOWN' in message) > 0)),
                   (SELECT max(created_at) FROM ours),
                   (SELECT percentile_cont(ARRAY[0.5, 0.99, 1.0]) WITHIN GROUP (ORDER BY extract(epoch FROM created_at - received_at) * 1000) FROM ours)
            """);
        command.Parameters.AddWithValue(prefix);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        var audited = reader.GetInt64(0);
        var distinct = reader.GetInt64(2);
        var percentiles = reader.IsDBNull(5) ? [0d, 0d, 0d] : reader.GetFieldValue<double[]>(5);
        return new Drive.Check(audited, reader.GetInt64(1), load.Accepted - distinct, audited - distinct,
            reader.IsDBNull(4) ? load.Start : reader.GetFieldValue<DateTimeOffset>(4), percentiles[0], percentiles[1], percentiles[2], reader.GetInt64(3));
    }
}
