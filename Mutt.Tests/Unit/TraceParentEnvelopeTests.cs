using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Mutt.Alerter.Processing;
using Mutt.Core.Events;
using Mutt.Core.Rules;
using Mutt.Core.Telemetry;
using Mutt.Ingestor.Ingest;
using Mutt.Ingestor.Snmp;
using Mutt.Ingestor.Syslog;

namespace Mutt.Tests.Unit;

/// <summary>The W3C traceparent travels in the envelopes: written by the Ingestor, read by the Alerter, continued into the alert.</summary>
[Trait("Category", "Unit")]
public sealed class TraceParentEnvelopeTests
{
    private const string Sampled = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    private const string Unsampled = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";
    private static readonly BatchLimits Limits = new(["timestamp", "message", "hostname"], 32, 100);
    private static readonly DateTimeOffset Now = new(2025, 3, 15, 12, 0, 0, TimeSpan.Zero);

    private static readonly RuleSet Rules = new(
        [new AlertRule { Id = 1, MatchType = MatchTypes.Contains, MatchString = "DOWN", Priority = 10, ProdHandling = Handling.PageAndTicket, DevHandling = Handling.Suppress, TeamAssignment = "NETO" }],
        [], new Dictionary<string, string>(), TimeSpan.FromSeconds(5));

    private static ParsedBatch Parse(string body, bool ndjson = false, string? traceParent = Sampled) =>
        EventBatchParser.Parse(Encoding.UTF8.GetBytes(body), ndjson, Limits, null, Now, traceParent);

    private static MuttEvent Read(byte[] item) => JsonSerializer.Deserialize(item, MuttJsonContext.Default.MuttEvent)!;

    [Fact]
    public void Only_a_recorded_activity_puts_a_traceparent_in_the_envelope()
    {
        // ASP.NET Core starts an unrecorded request activity even when nothing traces: it must not reach the queue.
        using var unrecorded = new Activity("request").SetIdFormat(ActivityIdFormat.W3C).Start();
        Assert.False(unrecorded.Recorded);
        Assert.Null(MuttTracing.TraceParentOf(unrecorded));

        using var recorded = new Activity("request").SetIdFormat(ActivityIdFormat.W3C);
        recorded.ActivityTraceFlags = ActivityTraceFlags.Recorded;
        recorded.Start();
        Assert.Equal(recorded.Id, MuttTracing.TraceParentOf(recorded));
        Assert.Null(MuttTracing.TraceParentOf(null));
    }

    [Theory]
    [InlineData("""{"timestamp":"2025-03-15T11:00:00Z","message":"m","hostname":"h"}""", false)] // spliced bytes
    [InlineData("""{"timestamp":"2025-03-15T11:00:00Z","message":"m","hostname":"h","retry_count":7}""", false)] // re-serialised
    [InlineData("""[{"timestamp":"2025-03-15T11:00:00Z","message":"a","hostname":"h"},{"timestamp":"2025-03-15T11:00:00Z","message":"b","hostname":"h","correlation_id":"x"}]""", false)]
    [InlineData("{\"timestamp\":\"2025-03-15T11:00:00Z\",\"message\":\"a\",\"hostname\":\"h\"}\n{\"timestamp\":\"2025-03-15T11:00:00Z\",\"message\":\"b\",\"hostname\":\"h\"}", true)]
    public void Rest_items_carry_the_request_traceparent_and_MuttEvent_reads_it(string body, bool ndjson)
    {
        var batch = Parse(body, ndjson);

        Assert.Equal(BatchOutcome.Accepted, batch.Outcome);
        Assert.All(batch.Items, item =>
        {
            using var document = JsonDocument.Parse(item);
            Assert.Equal(Sampled, document.RootElement.GetProperty(EnvelopeFields.TraceParent).GetString());
            Assert.Equal(Sampled, Read(item).TraceParent);
        });
    }

    [Fact]
    public void A_sender_traceparent_field_is_replaced_and_untraced_requests_carry_none()
    {
        const string body = """{"timestamp":"2025-03-15T11:00:00Z","message":"m","hostname":"h","traceparent":"00-11111111111111111111111111111111-2222222222222222-01"}""";

        Assert.Equal(Sampled, Read(Parse(body).Items[0]).TraceParent);
        var untraced = Parse(body, traceParent: null).Items[0];
        Assert.Null(Read(untraced).TraceParent);
        Assert.DoesNotContain("traceparent", Encoding.UTF8.GetString(untraced));
        Assert.DoesNotContain("traceparent", Encoding.UTF8.GetString(Parse("""{"timestamp":"2025-03-15T11:00:00Z","message":"m","hostname":"h"}""", traceParent: null).Items[0]));
    }

    [Fact]
    public void A_malformed_traceparent_is_never_spliced_into_the_json()
    {
        var item = Parse("""{"timestamp":"2025-03-15T11:00:00Z","message":"m","hostname":"h"}""", traceParent: "00-\"},\"x\":\"-01").Items[0];

        Assert.Null(Read(item).TraceParent);
        Assert.False(JsonDocument.Parse(item).RootElement.TryGetProperty("x", out _));
    }

    [Fact]
    public void Syslog_and_snmp_items_carry_the_listener_traceparent()
    {
        var message = SyslogParser.Parse("<13>1 2025-03-15T11:00:00Z host app - - - LINK DOWN", Now);
        Assert.Equal(Sampled, Read(SyslogEventWriter.Write(message, "192.0.2.1", Now, false, "udp", Sampled)).TraceParent);
        Assert.Null(Read(SyslogEventWriter.Write(message, "192.0.2.1", Now, false, "udp")).TraceParent);

        var trap = SnmpDecoder.Decode(Convert.FromHexString(SnmpDecoderTests.V1Trap));
        Assert.Equal(Sampled, Read(SnmpEventWriter.Write(trap, "192.0.2.1", Now, Sampled)).TraceParent);
        Assert.Null(Read(SnmpEventWriter.Write(trap, "192.0.2.1", Now)).TraceParent);
    }

    [Fact]
    public void Alert_envelope_round_trips_the_traceparent_and_omits_it_when_absent()
    {
        var alert = new AlertMessage { CorrelationId = "c1", Hostname = "h", Message = "m", TraceParent = Sampled };
        var json = JsonSerializer.Serialize(alert, MuttJsonContext.Default.AlertMessage);

        Assert.Contains("\"traceparent\":\"" + Sampled + "\"", json);
        Assert.Equal(Sampled, JsonSerializer.Deserialize(json, MuttJsonContext.Default.AlertMessage)!.TraceParent);
        Assert.DoesNotContain("traceparent", JsonSerializer.Serialize(new AlertMessage { CorrelationId = "c2" }, MuttJsonContext.Default.AlertMessage));
    }

    [Fact]
    public void Without_tracing_the_alert_keeps_the_event_traceparent_and_a_retry_keeps_it_too()
    {
        var planner = new BatchPlanner("pod-a", "mutt:ingest_queue", maxRetries: 3);
        var evt = Event("c1", "LINK DOWN", Sampled);

        var plan = planner.Plan([evt], Rules, trace: null);

        var alert = JsonSerializer.Deserialize(plan.Alerts.Single(), MuttJsonContext.Default.AlertMessage)!;
        Assert.Equal(Sampled, alert.TraceParent);
        Assert.Null(plan.Items.Single().Activity);
        planner.Fail(plan, evt, JsonSerializer.Deserialize(evt, MuttJsonContext.Default.MuttEvent), "boom");
        Assert.Equal(Sampled, JsonSerializer.Deserialize(plan.Retries.Single(), MuttJsonContext.Default.MuttEvent)!.TraceParent);
    }

    [Fact]
    public void With_tracing_each_event_gets_a_span_in_its_own_trace_linked_to_a_batch_span()
    {
        using var recorder = new SpanRecorder(MuttTracing.AlerterSourceName);
        var planner = new BatchPlanner("pod-a", "mutt:ingest_queue", maxRetries: 3);

        var trace = BatchTrace.Start("mutt:ingest_queue", 3)!;
        var plan = planner.Plan([Event("c1", "LINK DOWN", Sampled), Event("c2", "LINK DOWN", Unsampled), Event("c3", "LINK DOWN", null)], Rules, trace);
        trace.Audited(plan, DateTimeOffset.UtcNow.AddMilliseconds(-5), DateTimeOffset.UtcNow);
        trace.End(plan, committed: true, error: null);

        var parent = ActivityContext.Parse(Sampled, null);
        var alerts = plan.Alerts.Select(a => JsonSerializer.Deserialize(a, MuttJsonContext.Default.AlertMessage)!).ToDictionary(a => a.CorrelationId);
        var eventSpan = recorder.Single(MuttTracing.Spans.AlerterEvent);
        Assert.Equal(parent.TraceId, eventSpan.TraceId);
        Assert.Equal(parent.SpanId, eventSpan.ParentSpanId);
        Assert.Equal("alert", eventSpan.GetTagItem(MuttTracing.Tags.Outcome));
        Assert.Equal(eventSpan.Id, alerts["c1"].TraceParent); // the Forwarder continues under the event span
        Assert.Equal(Unsampled, alerts["c2"].TraceParent); // unsampled: no span, the context passes through untouched
        Assert.Null(alerts["c3"].TraceParent);

        var batchSpan = recorder.Single(MuttTracing.Spans.AlerterBatch);
        Assert.Equal(default, batchSpan.ParentSpanId);
        Assert.Equal([parent.SpanId], batchSpan.Links.Select(l => l.Context.SpanId));
        Assert.Equal(batchSpan.SpanId, eventSpan.Links.Single().Context.SpanId);
        var audit = recorder.Single(MuttTracing.Spans.AlerterAudit);
        Assert.Equal(eventSpan.SpanId, audit.ParentSpanId);
        Assert.Equal(parent.TraceId, audit.TraceId);
    }

    private static string Event(string id, string message, string? traceParent) =>
        JsonSerializer.Serialize(new MuttEvent { Timestamp = "2025-06-01T12:00:00Z", Message = message, Hostname = "core-r1", CorrelationId = id, TraceParent = traceParent },
            MuttJsonContext.Default.MuttEvent);

    /// <summary>Records the stopped spans of one source that belong to this test's traces (listeners are process-wide).</summary>
    private sealed class SpanRecorder : IDisposable
    {
        private readonly ActivityListener _listener;
        private readonly List<Activity> _stopped = [];

        public SpanRecorder(string source)
        {
            _listener = new ActivityListener
            {
                ShouldListenTo = s => s.Name == source,
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
                ActivityStopped = activity =>
                {
                    lock (_stopped)
                    {
                        _stopped.Add(activity);
                    }
                },
            };
            ActivitySource.AddActivityListener(_listener);
        }

        public Activity Single(string name)
        {
            var parent = ActivityContext.Parse(Sampled, null).TraceId;
            lock (_stopped)
            {
                // The batch span is a root of its own trace: pick the one that links to this test's event.
                return Assert.Single(_stopped, a => a.DisplayName == name
                    && (a.TraceId == parent || a.Links.Any(l => l.Context.TraceId == parent)));
            }
        }

        public void Dispose() => _listener.Dispose();
    }
}
