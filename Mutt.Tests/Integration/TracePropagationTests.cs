using System.Diagnostics;
using System.Net;
using System.Text;
using Mutt.Core.Rules;
using Mutt.Core.Telemetry;
using Mutt.Tests.Infrastructure;
using static Mutt.Tests.Integration.AlerterTestData;

namespace Mutt.Tests.Integration;

/// <summary>
/// Ingestor, Alerter and Forwarder in this process, each exporting its spans to an in-memory
/// exporter, against real Redis, PostgreSQL and the Moogsoft stand-in: one REST event must be one
/// trace from the HTTP request to the Moogsoft POST, and health probes must not be traced.
/// </summary>
[Collection(InfrastructureCollection.Name)]
[Trait("Category", "Integration")]
public sealed class TracePropagationTests(InfrastructureFixture infra)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    private const string ApiKey = "trace-test-key";

    [Fact]
    public async Task One_rest_event_is_one_trace_from_ingest_through_alerter_and_audit_to_the_moogsoft_post()
    {
        await FlushRedisAsync(infra.RedisConnectionString);
        var db = await infra.CreateDatabaseAsync();
        await InsertRuleAsync(db, MatchTypes.Contains, "TRACE-DOWN", 10, Handling.PageAndTicket, Handling.Suppress, "NETO");
        await using var sink = new ForwarderTestHost(infra.RedisConnectionString);
        var sinkUrl = await sink.StartSinkAsync();

        ExportedSpans ingestSpans = new(), alerterSpans = new(), forwarderSpans = new();
        await using var ingestor = await InProcessServiceHost.StartAsync("Mutt.Ingestor", new Dictionary<string, string?>
        {
            ["ConnectionStrings:redis"] = infra.RedisConnectionString,
            ["INGEST_API_KEY"] = ApiKey,
            ["SYSLOG_ENABLED"] = "false",
            ["SNMP_ENABLED"] = "false",
            ["OTEL_ENABLED"] = "true",
            ["LOG_LEVEL"] = "WARNING",
        }, Mutt.Ingestor.Extensions.Extensions.AddApplicationServices, app => Mutt.Ingestor.Apis.IngestApi.MapIngestApi(app), ingestSpans.AddTo);
        await using var alerter = await AlerterTestHost.StartAsync(infra.RedisConnectionString, db, "alerter-trace",
            new Dictionary<string, string?> { ["OTEL_ENABLED"] = "true" }, alerterSpans.AddTo);
        await using var forwarder = await InProcessServiceHost.StartAsync("Mutt.Forwarder", new Dictionary<string, string?>
        {
            ["ConnectionStrings:redis"] = infra.RedisConnectionString,
            ["services:moog-sink:http:0"] = sinkUrl,
            ["POD_NAME"] = "forwarder-trace",
            ["MOOG_RATE_LIMIT"] = "100000",
            ["OTEL_ENABLED"] = "true",
            ["LOG_LEVEL"] = "WARNING",
        }, Mutt.Forwarder.Extensions.Extensions.AddApplicationServices, configureServices: forwarderSpans.AddTo);

        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v2/ingest")
        {
            Content = new StringContent("""{"timestamp":"2025-06-01T12:00:00Z","message":"%TRACE-DOWN Gi0/7","hostname":"core-r1"}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("X-API-KEY", ApiKey);
        using var response = await ingestor.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var correlationId = response.Headers.GetValues("X-Correlation-ID").Single();

        var server = await SpanAsync(ingestSpans, s => s.Kind == ActivityKind.Server && Tag(s, "url.path") == "/api/v2/ingest", "the ingest HTTP server span");
        var traceId = server.TraceId;
        var post = await SpanAsync(forwarderSpans, s => s.TraceId == traceId && s.Kind == ActivityKind.Client
            && Tag(s, "url.full")?.StartsWith(sinkUrl, StringComparison.Ordinal) == true, "the Forwarder's Moogsoft POST in the event's trace");
        var send = await SpanAsync(ingestSpans, s => s.TraceId == traceId && s.DisplayName == MuttTracing.Spans.IngestSend, "the ingest send span");
        var alerterEvent = await SpanAsync(alerterSpans, s => s.TraceId == traceId && s.DisplayName == MuttTracing.Spans.AlerterEvent, "the Alerter's event span");
        var audit = await SpanAsync(alerterSpans, s => s.TraceId == traceId && s.DisplayName == MuttTracing.Spans.AlerterAudit, "the Alerter's audit span");
        var batch = await SpanAsync(forwarderSpans, s => s.TraceId == traceId && s.DisplayName == MuttTracing.Spans.ForwarderBatch, "the Forwarder's batch span");

        // ingest → alerter → audit → forwarder → Moogsoft POST, each the parent of the next.
        Assert.Equal(server.SpanId, send.ParentSpanId);
        Assert.Equal(send.SpanId, alerterEvent.ParentSpanId);
        Assert.Equal(alerterEvent.SpanId, audit.ParentSpanId);
        Assert.Equal(alerterEvent.SpanId, batch.ParentSpanId);
        Assert.Equal(batch.SpanId, post.ParentSpanId);
        Assert.Equal(correlationId, Tag(alerterEvent, MuttTracing.Tags.CorrelationId));
        Assert.Equal("alert", Tag(alerterEvent, MuttTracing.Tags.Outcome));
        Assert.Equal("delivered", Tag(batch, MuttTracing.Tags.Outcome));
        var alerterBatch = Assert.Single(alerterSpans.Snapshot(), s => s.DisplayName == MuttTracing.Spans.AlerterBatch && s.Links.Any(l => l.Context.TraceId == traceId));
        Assert.NotEqual(traceId, alerterBatch.TraceId); // the batch is a root of its own, linked to each event
        Assert.Equal(1, await ScalarAsync(db, $"SELECT count(*) FROM event_audit_log WHERE correlation_id = '{correlationId}'"));
        Assert.Equal(1, await sink.StatAsync("events"));

        // Probes are never traced, on any service; a request after them proves their spans would have arrived by now.
        using var alerterHttp = new HttpClient { BaseAddress = new Uri(alerter.BaseAddress) };
        foreach (var http in new[] { ingestor.Http, alerterHttp, forwarder.Http })
        {
            foreach (var path in new[] { "/health", "/alive", "/metrics" })
            {
                using var probe = await http.GetAsync(path);
            }
            using var sentinel = await http.GetAsync("/not-a-probe");
            Assert.Equal(HttpStatusCode.NotFound, sentinel.StatusCode);
        }
        await SpanAsync(forwarderSpans, s => s.Kind == ActivityKind.Server && Tag(s, "url.path") == "/not-a-probe"
            && s.GetTagItem("server.port")?.ToString() == new Uri(forwarder.BaseAddress).Port.ToString(), "the sentinel request's span");
        foreach (var spans in new[] { ingestSpans, alerterSpans, forwarderSpans })
        {
            Assert.DoesNotContain(spans.Snapshot(), s => IsProbe(Tag(s, "url.path")) || IsProbe(Tag(s, "url.full") is { } url ? new Uri(url).AbsolutePath : null));
        }
    }

    private static bool IsProbe(string? path) => path is "/health" or "/alive" or "/metrics";

    private static string? Tag(Activity span, string name) => span.GetTagItem(name)?.ToString();

    private static async Task<Activity> SpanAsync(ExportedSpans spans, Func<Activity, bool> match, string what) =>
        (await Eventually.WaitForAsync(() => Task.FromResult(spans.Snapshot().FirstOrDefault(match)), s => s is not null, Deadline, what))!;
}
