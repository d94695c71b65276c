using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Npgsql;

using Mutt.Tests.Infrastructure;

namespace Mutt.Tests.Reliability;

/// <summary>
/// Real traffic for a running system and the exact counts the reliability suite checks:
/// accepted correlation ids (from 202 answers), audit rows by correlation id, alerts at the sink.
/// </summary>
public static class SystemTraffic
{
    private static readonly JsonSerializerOptions Json = new();

    /// <summary>One valid event; <paramref name="message"/> decides the rule it matches.</summary>
    public static string Event(string correlationId, string message, string hostname = "core-router-01") =>
        JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["timestamp"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture),
            ["message"] = message,
            ["hostname"] = hostname,
            ["source"] = "reliability",
            ["syslog_severity"] = 2,
            ["correlation_id"] = correlationId,
        }, Json);

    public static HttpClient IngestClient(MuttAppHost app)
    {
        var http = new HttpClient { BaseAddress = app.IngestorUrl, Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Add("X-API-KEY", app.IngestApiKey);
        return http;
    }

    /// <summary>POSTs a JSON body to /api/v2/ingest; the status and the accepted correlation ids (empty unless 202).</summary>
    public static async Task<(HttpStatusCode Status, IReadOnlyList<string> Accepted)> PostAsync(HttpClient http, string body, CancellationToken cancellationToken = default)
    {
        using var content = new StringContent(body, Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await http.PostAsync("/api/v2/ingest", content, cancellationToken);
        if (response.StatusCode != HttpStatusCode.Accepted)
        {
            return (response.StatusCode, []);
        }
        var answer = JsonNode.Parse(await response.Content.ReadAsStringAsync(cancellationToken))!;
        return (response.StatusCode, answer["correlation_ids"]!.AsArray().Select(n => (string)n!).ToList());
    }

    /// <summary>
    /// Sends batches of <paramref name="batchSize"/> events with ids <c>{prefix}-{n}</c> until
    /// <paramref name="stop"/> is cancelled and at least <paramref name="minimum"/> were accepted, or
    /// <paramref name="maximum"/> were accepted. A refused batch (503 while Redis is down, a
    /// connection error) is resent unchanged, as a real sender does: the same correlation ids and
    /// timestamps, so a batch that landed despite the error is deduplicated by the audit's unique key.
    /// </summary>
    public sealed class Stream(MuttAppHost app, string prefix, string message, int batchSize = 100, int eventsPerSecond = 400)
    {
        private readonly ConcurrentDictionary<string, byte> _accepted = new();
        private int _retries;

        public IReadOnlyCollection<string> Accepted => (IReadOnlyCollection<string>)_accepted.Keys;
        public int AcceptedCount => _accepted.Count;
        public int Retries => Volatile.Read(ref _retries);
        public string Prefix => prefix;

        public async Task RunAsync(CancellationToken stop, int minimum, int maximum, TimeSpan deadline)
        {
            using var http = IngestClient(app);
            var until = DateTime.UtcNow + deadline;
            var batch = 0;
            var pace = System.Diagnostics.Stopwatch.StartNew();
            while (_accepted.Count < maximum && (!stop.IsCancellationRequested || _accepted.Count < minimum))
            {
                if (DateTime.UtcNow > until)
                {
                    throw new TimeoutException($"{prefix}: only {_accepted.Count} events accepted within {deadline}");
                }
                var body = "[" + string.Join(',', Enumerable.Range(0, batchSize).Select(i => Event($"{prefix}-{batch * batchSize + i}", $"{message} {batch}/{i}"))) + "]";
                while (true)
                {
                    try
                    {
                        var (status, ids) = await PostAsync(http, body);
                        if (status == HttpStatusCode.Accepted)
                        {
                            Assert.Equal(batchSize, ids.Count);
                            foreach (var id in ids)
                            {
                                _accepted.TryAdd(id, 0);
                            }
                            break;
                        }
                        Assert.True(status == HttpStatusCode.ServiceUnavailable, $"{prefix}: ingest answered {status}");
                    }
                    catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                    {
                    }
                    if (DateTime.UtcNow > until)
                    {
                        throw new TimeoutException($"{prefix}: batch {batch} not accepted within {deadline}");
                    }
                    Interlocked.Increment(ref _retries);
                    // A sender's retry pause (Retry-After is about this order), not a wait for an outcome.
                    await Task.Delay(200, CancellationToken.None);
                }
                batch++;
                // Paced, so the stream spans the fault instead of finishing before it.
                var due = TimeSpan.FromSeconds((double)batch * batchSize / eventsPerSecond) - pace.Elapsed;
                if (due > TimeSpan.Zero)
                {
                    await Task.Delay(due, CancellationToken.None);
                }
            }
        }
    }

    /// <summary>Distinct audited correlation ids with the prefix; null while PostgreSQL does not answer.</summary>
    public static async Task<HashSet<string>?> AuditedIdsAsync(string connectionString, string prefix)
    {
        try
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT DISTINCT correlation_id FROM event_audit_log WHERE correlation_id LIKE @p", connection);
            command.Parameters.AddWithValue("p", prefix + "-%");
            var ids = new HashSet<string>(StringComparer.Ordinal);
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                ids.Add(reader.GetString(0));
            }
            return ids;
        }
        catch (Exception ex) when (ex is NpgsqlException or System.Net.Sockets.SocketException or InvalidOperationException)
        {
            NpgsqlConnection.ClearAllPools();
            return null;
        }
    }

    /// <summary>One audit row's decision for a correlation id, or null when there is none (yet).</summary>
    public static async Task<(string Handling, bool Forwarded, int? RuleId, int Rows)?> AuditRowAsync(string connectionString, string correlationId)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT handling_decision, forwarded_to_moog, matched_rule_id, count(*) OVER () FROM event_audit_log WHERE correlation_id = @id", connection);
        command.Parameters.AddWithValue("id", correlationId);
        await using var reader = await command.ExecuteReaderAsync();
        if (!await reader.ReadAsync())
        {
            return null;
        }
        return (reader.GetString(0), reader.GetBoolean(1), reader.IsDBNull(2) ? null : reader.GetInt32(2), (int)reader.GetInt64(3));
    }

    /// <summary>The sink's recorded events for one correlation id (external_id or custom_info.correlation_id).</summary>
    public static Task<IReadOnlyList<JsonNode>> SinkEventsAsync(HttpClient http, Uri sinkUrl, string correlationId) =>
        SinkEventsAsync(http, sinkUrl, id => id == correlationId);

    /// <summary>The sink's recorded events whose correlation id matches.</summary>
    public static async Task<IReadOnlyList<JsonNode>> SinkEventsAsync(HttpClient http, Uri sinkUrl, Func<string, bool> match)
    {
        var text = await http.GetStringAsync(new Uri(sinkUrl, "/sink/events"));
        return JsonNode.Parse(text)!.AsArray()
            .Where(e => e is not null && match((string?)e["external_id"] ?? (string?)e["custom_info"]?["correlation_id"] ?? ""))
            .Select(e => e!).ToList();
    }

    /// <summary>Alerts at the sink by correlation id: distinct signatures and the ids they carry.</summary>
    public static async Task<(int DistinctSignatures, HashSet<string> Ids, int Deliveries)> SinkAlertsAsync(HttpClient http, Uri sinkUrl, string prefix)
    {
        var events = await SinkEventsAsync(http, sinkUrl, id => id.StartsWith(prefix + "-", StringComparison.Ordinal));
        var ids = events.Select(e => (string)e["external_id"]!).ToHashSet(StringComparer.Ordinal);
        return (events.Select(e => (string)e["signature"]!).Distinct(StringComparer.Ordinal).Count(), ids, events.Count);
    }

    public static async Task SetSinkModeAsync(HttpClient http, Uri sinkUrl, string json)
    {
        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        using var response = await http.PostAsync(new Uri(sinkUrl, "/sink/mode"), content);
        response.EnsureSuccessStatusCode();
    }

    public static async Task<JsonNode> SinkStatsAsync(HttpClient http, Uri sinkUrl) =>
        JsonNode.Parse(await http.GetStringAsync(new Uri(sinkUrl, "/sink/stats")))!;

    public static async Task<bool> IsHealthyAsync(HttpClient http, Uri url)
    {
        try
        {
            using var response = await http.GetAsync(url);
            return response.StatusCode == HttpStatusCode.OK;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }
}
