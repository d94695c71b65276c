using System.Net;
using System.Text.Json;
using Mutt.Core.Events;
using Mutt.Ingestor.Ingest;
using Mutt.Tests.Infrastructure;

namespace Mutt.Tests.Integration;

[Collection(InfrastructureCollection.Name)]
[Trait("Category", "Integration")]
public sealed class IngestApiTests(InfrastructureFixture infrastructure)
{
    private const string Good = """{"timestamp":"2025-03-15T11:00:00Z","message":"Interface down","hostname":"router-1","syslog_severity":3,"source":"syslog","site":"lon1"}""";

    private static string Event(int i) => Good.Replace("Interface down", $"event {i}");

    [Fact]
    public async Task Single_event_is_enqueued_with_the_callers_correlation_id_echoed()
    {
        await using var host = await IngestorTestHost.StartAsync(infrastructure);
        using var request = host.Post("/api/v2/ingest", Good);
        request.Headers.Add("X-Correlation-ID", "caller-id-42");

        using var response = await host.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("caller-id-42", response.Headers.GetValues("X-Correlation-ID").Single());
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("accepted", body.RootElement.GetProperty("status").GetString());
        Assert.Equal(1, body.RootElement.GetProperty("count").GetInt32());
        Assert.Equal("caller-id-42", body.RootElement.GetProperty("correlation_ids")[0].GetString());

        var item = Assert.Single(await host.QueueItemsAsync());
        var evt = item.Deserialize(MuttJsonContext.Default.MuttEvent)!;
        Assert.Equal("router-1", evt.Hostname);
        Assert.Equal("Interface down", evt.Message);
        Assert.Equal(3, evt.SyslogSeverity);
        Assert.Equal("caller-id-42", evt.CorrelationId);
        Assert.NotNull(evt.ReceivedAt);
        Assert.Equal("lon1", evt.Extra!["site"].GetString());
    }

    [Fact]
    public async Task V1_and_webhook_routes_are_aliases_of_v2()
    {
        await using var host = await IngestorTestHost.StartAsync(infrastructure);
        foreach (var path in new[] { "/api/v1/ingest", "/webhook" })
        {
            using var response = await host.Http.SendAsync(host.Post(path, Good));
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        }
        Assert.Equal(2, await host.QueueLengthAsync());
    }

    [Fact]
    public async Task Batch_and_ndjson_are_enqueued_in_order_with_one_id_each()
    {
        await using var host = await IngestorTestHost.StartAsync(infrastructure);
        var batch = "[" + string.Join(",", Enumerable.Range(0, 100).Select(Event)) + "]";
        using var batchResponse = await host.Http.SendAsync(host.Post("/api/v2/ingest", batch));
        Assert.Equal(HttpStatusCode.Accepted, batchResponse.StatusCode);
        using var batchBody = JsonDocument.Parse(await batchResponse.Content.ReadAsStringAsync());
        Assert.Equal(100, batchBody.RootElement.GetProperty("count").GetInt32());
        Assert.Equal(100, batchBody.RootElement.GetProperty("correlation_ids").EnumerateArray().Select(e => e.GetString()).Distinct().Count());

        var ndjson = string.Join("\n", Enumerable.Range(100, 3).Select(Event)) + "\n";
        using var ndjsonResponse = await host.Http.SendAsync(host.Post("/api/v2/ingest", ndjson, "application/x-ndjson"));
        Assert.Equal(HttpStatusCode.Accepted, ndjsonResponse.StatusCode);

        var items = await host.QueueItemsAsync();
        Assert.Equal(Enumerable.Range(0, 103).Select(i => $"event {i}"), items.Select(i => i.GetProperty("message").GetString()));
    }

    public sealed record BadCase(string Name, string Body, HttpStatusCode Status, string ContentType = "application/json", string? ErrorKey = null);

    [Fact]
    public async Task Every_bad_input_gets_its_status_and_enqueues_nothing()
    {
        await using var host = await IngestorTestHost.StartAsync(infrastructure, new Dictionary<string, string?>
        {
            ["INGEST_MAX_BODY_BYTES"] = "65536",
            ["INGEST_MAX_BATCH_SIZE"] = "50",
        });
        var deep = Good.Replace("}", ",\"x\":" + new string('[', 40) + new string(']', 40) + "}");
        BadCase[] cases =
        [
            new("malformed JSON", "{\"timestamp\":", HttpStatusCode.BadRequest),
            new("not an object", "\"hello\"", HttpStatusCode.BadRequest, ErrorKey: "$"),
            new("empty array", "[]", HttpStatusCode.BadRequest, ErrorKey: "$"),
            new("missing hostname", Good.Replace("\"hostname\":\"router-1\",", ""), HttpStatusCode.BadRequest, ErrorKey: "hostname"),
            new("missing message", Good.Replace("\"message\":\"Interface down\",", ""), HttpStatusCode.BadRequest, ErrorKey: "message"),
            new("missing timestamp", Good.Replace("\"timestamp\":\"2025-03-15T11:00:00Z\",", ""), HttpStatusCode.BadRequest, ErrorKey: "timestamp"),
            new("timestamp not ISO 8601", Good.Replace("2025-03-15T11:00:00Z", "15/03/2025"), HttpStatusCode.BadRequest, ErrorKey: "timestamp"),
            new("message not a string", Good.Replace("\"Interface down\"", "42"), HttpStatusCode.BadRequest, ErrorKey: "message"),
            new("severity out of range", Good.Replace("\"syslog_severity\":3", "\"syslog_severity\":8"), HttpStatusCode.BadRequest, ErrorKey: "syslog_severity"),
            new("severity negative", Good.Replace("\"syslog_severity\":3", "\"syslog_severity\":-1"), HttpStatusCode.BadRequest, ErrorKey: "syslog_severity"),
            new("severity a string", Good.Replace("\"syslog_severity\":3", "\"syslog_severity\":\"3\""), HttpStatusCode.BadRequest, ErrorKey: "syslog_severity"),
            new("trap_oid not a string", Good.Replace("}", ",\"trap_oid\":[1]}"), HttpStatusCode.BadRequest, ErrorKey: "trap_oid"),
            new("one bad item in a batch", $"[{Good},{Good},{Good},{Good.Replace("\"hostname\":\"router-1\",", "")}]", HttpStatusCode.BadRequest, ErrorKey: "[3].hostname"),
            new("bad NDJSON line", $"{Good}\n{{oops\n", HttpStatusCode.BadRequest, "application/x-ndjson", "[1]"),
            new("NDJSON item invalid", $"{Good}\n{Good.Replace("2025-03-15T11:00:00Z", "soon")}\n", HttpStatusCode.BadRequest, "application/x-ndjson", "[1].timestamp"),
            new("JSON nested too deep", deep, HttpStatusCode.BadRequest),
            new("body over the limit", "[" + string.Join(",", Enumerable.Repeat(Good.Replace("Interface down", new string('x', 2000)), 40)) + "]", HttpStatusCode.RequestEntityTooLarge),
            new("batch over the limit", "[" + string.Join(",", Enumerable.Repeat(Good, 51)) + "]", HttpStatusCode.RequestEntityTooLarge),
        ];

        foreach (var bad in cases)
        {
            using var response = await host.Http.SendAsync(host.Post("/api/v2/ingest", bad.Body, bad.ContentType));
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(bad.Status == response.StatusCode, $"{bad.Name}: expected {bad.Status}, got {response.StatusCode}: {text}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            if (bad.ErrorKey is not null)
            {
                using var problem = JsonDocument.Parse(text);
                Assert.True(problem.RootElement.GetProperty("errors").TryGetProperty(bad.ErrorKey, out _), $"{bad.Name}: no error for {bad.ErrorKey} in {text}");
            }
            Assert.True(await host.QueueLengthAsync() == 0, $"{bad.Name}: something was enqueued");
        }
    }

    [Fact]
    public async Task Missing_or_wrong_api_key_is_401_while_health_and_metrics_stay_open()
    {
        await using var host = await IngestorTestHost.StartAsync(infrastructure);
        foreach (var key in new[] { null, "wrong-key", IngestorTestHost.ApiKey + "x" })
        {
            using var response = await host.Http.SendAsync(host.Post("/api/v2/ingest", Good, apiKey: key));
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.Equal("invalid or missing API key", problem.RootElement.GetProperty("detail").GetString());
        }
        Assert.Equal(0, await host.QueueLengthAsync());
        Assert.Equal(HttpStatusCode.OK, (await host.Http.GetAsync("/health")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await host.Http.GetAsync("/metrics")).StatusCode);
        Assert.Contains("reason=\"auth\"", await host.MetricsAsync());
    }

    [Fact]
    public async Task Full_queue_answers_503_with_retry_after_and_enqueues_nothing()
    {
        await using var host = await IngestorTestHost.StartAsync(infrastructure, new Dictionary<string, string?> { ["MAX_INGEST_QUEUE_SIZE"] = "5" });
        await infrastructure.Multiplexer.GetDatabase().KeyDeleteAsync("mutt:config:max_ingest_queue_size");
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.Accepted, (await host.Http.SendAsync(host.Post("/api/v2/ingest", Event(i)))).StatusCode);
        }

        // The depth is sampled, so a request or two may still slip in before the sample catches up.
        var refused = await Eventually.WaitForAsync(async () => await host.Http.SendAsync(host.Post("/api/v2/ingest", Good)),
            r => r.StatusCode == HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(30), "a 503 once the queue is full");
        Assert.NotNull(refused.Headers.RetryAfter);
        var depth = await host.QueueLengthAsync();
        using (var again = await host.Http.SendAsync(host.Post("/api/v2/ingest", $"[{Good},{Good}]")))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, again.StatusCode);
        }
        Assert.Equal(depth, await host.QueueLengthAsync());
        Assert.Contains("reason=\"backpressure\"", await host.MetricsAsync());
        // /health shows the sampled depth: a sample taken while the last accepted LPUSH was in flight
        // lags by that request until the next sample (INGEST_QUEUE_DEPTH_SAMPLE_MS).
        var healthText = await Eventually.WaitForAsync(() => host.Http.GetStringAsync("/health"),
            text => JsonDocument.Parse(text).RootElement.GetProperty("queue_depth").GetInt64() == depth, TimeSpan.FromSeconds(30), "/health to show the sampled depth");
        using (var health = JsonDocument.Parse(healthText))
        {
            Assert.Equal("degraded", health.RootElement.GetProperty("ingest_queue").GetString());
        }

        // Consumers drain the queue: ingestion resumes by itself.
        await host.Redis.KeyDeleteAsync(host.QueueName);
        await Eventually.WaitForAsync(async () => (await host.Http.SendAsync(host.Post("/api/v2/ingest", Good))).StatusCode == HttpStatusCode.Accepted,
            TimeSpan.FromSeconds(30), "ingestion to resume after the queue drains");
    }

    [Fact]
    public async Task Dynamic_config_cap_overrides_the_environment_default()
    {
        await using var host = await IngestorTestHost.StartAsync(infrastructure);
        var config = new Mutt.Core.Configuration.DynamicConfig(infrastructure.Multiplexer);
        await config.SetAsync("max_ingest_queue_size", "2");
        try
        {
            await host.Http.SendAsync(host.Post("/api/v2/ingest", $"[{Good},{Good}]"));
            await Eventually.WaitForAsync(async () => (await host.Http.SendAsync(host.Post("/api/v2/ingest", Good))).StatusCode == HttpStatusCode.ServiceUnavailable,
                TimeSpan.FromSeconds(30), "503 from the dynamic cap");
        }
        finally
        {
            await config.DeleteAsync("max_ingest_queue_size");
        }
    }

    [Fact]
    public async Task Redis_down_is_503_not_500()
    {
        var deadPort = Mutt.Testing.NativeProcess.FreeTcpPort();
        await using var host = await IngestorTestHost.StartAsync(infrastructure, new Dictionary<string, string?>
        {
            ["ConnectionStrings__redis"] = $"127.0.0.1:{deadPort},connectTimeout=500",
        }, readyPath: "/alive");

        using var response = await host.Http.SendAsync(host.Post("/api/v2/ingest", Good));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("reason=\"redis_error\"", await host.MetricsAsync());
    }

    [Fact]
    public async Task Accepted_events_are_counted_in_redis_minute_hour_and_day_buckets()
    {
        var db = infrastructure.Multiplexer.GetDatabase();
        async Task<(long Minute, long Hour, long Day)> CountsAsync()
        {
            // Sum the current and previous bucket so a test running across a boundary still adds up.
            var now = DateTimeOffset.UtcNow;
            async Task<long> SumAsync(string a, string b) => (await db.StringGetAsync([a, b])).Sum(v => v.IsNull ? 0 : (long)v);
            return (await SumAsync(ThroughputCounters.MinuteKey(now), ThroughputCounters.MinuteKey(now.AddMinutes(-1))),
                await SumAsync(ThroughputCounters.HourKey(now), ThroughputCounters.HourKey(now.AddHours(-1))),
                await SumAsync(ThroughputCounters.DayKey(now), ThroughputCounters.DayKey(now.AddDays(-1))));
        }
        await using var host = await IngestorTestHost.StartAsync(infrastructure);
        var before = await CountsAsync();
        var batch = "[" + string.Join(",", Enumerable.Range(0, 7).Select(Event)) + "]";
        Assert.Equal(HttpStatusCode.Accepted, (await host.Http.SendAsync(host.Post("/api/v2/ingest", batch))).StatusCode);

        await Eventually.WaitForAsync(async () =>
        {
            var after = await CountsAsync();
            return after.Minute - before.Minute == 7 && after.Hour - before.Hour == 7 && after.Day - before.Day == 7;
        }, TimeSpan.FromSeconds(30), "7 events in the minute, hour and day counters");
        var ttl = await db.KeyTimeToLiveAsync(ThroughputCounters.MinuteKey(DateTimeOffset.UtcNow));
        Assert.True(ttl is null || ttl <= TimeSpan.FromHours(2));
    }
}
