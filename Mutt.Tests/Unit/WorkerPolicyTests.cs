using Mutt.Alerter.Processing;
using Mutt.Core.Rules;
using Mutt.Forwarder.Moogsoft;

namespace Mutt.Tests.Unit;

/// <summary>The policy that used to live inside the workers, called directly.</summary>
[Trait("Category", "Unit")]
public sealed class WorkerPolicyTests
{
    [Theory]
    [InlineData(999, null, BackpressureLevel.None, false, false)]
    [InlineData(1000, null, BackpressureLevel.Warn, false, false)]
    [InlineData(1999, "defer", BackpressureLevel.Warn, false, false)]
    [InlineData(2000, null, BackpressureLevel.Shed, true, false)]
    [InlineData(2000, "dlq", BackpressureLevel.Shed, true, false)]
    [InlineData(5000, "defer", BackpressureLevel.Shed, false, true)]
    [InlineData(5000, "nonsense", BackpressureLevel.Shed, true, false)]
    public void Alert_queue_depth_decides_warn_shed_or_defer(long depth, string? mode, BackpressureLevel level, bool sheds, bool defers)
    {
        var decision = BackpressurePolicy.Decide(depth, warn: 1000, shed: 2000, mode);
        Assert.Equal(level, decision.Level);
        Assert.Equal(sheds, decision.Sheds);
        Assert.Equal(defers, decision.Defers);
        Assert.Equal(depth, decision.Depth);
    }

    [Fact]
    public void Success_acks_and_records_the_circuit_only_when_it_can_change_it()
    {
        Assert.Equal(new DeliveryStep(DeliveryAction.Ack, "success", null, 2), DeliveryPolicy.Decide(SendResult.Success, 2, 5, circuitNeedsRecord: false));
        Assert.Equal(new DeliveryStep(DeliveryAction.Ack, "success", true, 0), DeliveryPolicy.Decide(SendResult.Success, 0, 5, circuitNeedsRecord: true));
    }

    [Fact]
    public void A_429_waits_and_resends_without_spending_a_retry()
    {
        var step = DeliveryPolicy.Decide(SendResult.Throttled, 3, 5, circuitNeedsRecord: false);
        Assert.Equal(DeliveryAction.WaitAndResend, step.Action);
        Assert.Equal("rate_limited", step.Status);
        Assert.Equal(3, step.Retries);
        Assert.Null(step.CircuitSuccess);
    }

    [Fact]
    public void A_client_error_dead_letters_at_once_and_counts_as_moogsoft_reachable()
    {
        var step = DeliveryPolicy.Decide(SendResult.Rejected, 0, 5, circuitNeedsRecord: true);
        Assert.Equal(new DeliveryStep(DeliveryAction.DeadLetter, "dlq", true, 0, "http_4xx"), step);
    }

    [Fact]
    public void Retryable_failures_retry_until_the_limit_then_dead_letter_and_always_record_a_circuit_failure()
    {
        var retries = 0;
        for (var attempt = 1; attempt <= 2; attempt++)
        {
            var step = DeliveryPolicy.Decide(SendResult.Retryable, retries, maxRetries: 2, circuitNeedsRecord: false);
            Assert.Equal(new DeliveryStep(DeliveryAction.Retry, "retry", false, attempt), step);
            retries = step.Retries;
        }
        Assert.Equal(new DeliveryStep(DeliveryAction.DeadLetter, "dlq", false, 3, "max_retries"),
            DeliveryPolicy.Decide(SendResult.Retryable, retries, maxRetries: 2, circuitNeedsRecord: false));
        Assert.Equal(DeliveryAction.DeadLetter, DeliveryPolicy.Decide(SendResult.Retryable, 0, maxRetries: 0, circuitNeedsRecord: false).Action);
    }

    [Fact]
    public void Unhandled_events_are_counted_per_host_with_one_meta_alert_each()
    {
        var planner = new BatchPlanner("pod", "mutt:ingest_queue", 3);
        var plan = planner.Plan(
        [
            """{"hostname":"a","message":"x"}""", """{"hostname":"b","message":"x"}""",
            """{"hostname":"a","message":"y"}""", """{"message":"no host"}""",
        ], RuleSet.Empty);
        Assert.Equal([("a", 2), ("b", 1), (BatchPlanner.UnknownHost, 1)], BatchPlanner.UnhandledByHost(plan));
    }

    [Theory]
    [InlineData("core-r1")]
    [InlineData("edge \"01\" <sw-ü> & 100%")]
    public void The_meta_alert_template_with_the_escaped_host_filled_in_is_the_host_s_meta_alert(string hostname)
    {
        var now = new DateTime(2026, 12, 6, 0, 0, 0, DateTimeKind.Utc);
        var template = BatchPlanner.MetaAlertTemplate(100, TimeSpan.FromHours(24), "NETO", now, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");

        // What unhandled.lua does: every 0x01 becomes the host as escaped for a JSON string.
        var filled = template.Replace(BatchPlanner.HostSlot, System.Text.Json.JsonEncodedText.Encode(hostname).Value, StringComparison.Ordinal);

        Assert.Equal(3, template.Split(BatchPlanner.HostSlot).Length - 1); // correlation id, hostname, message
        Assert.Equal(BatchPlanner.MetaAlertJson(hostname, 100, TimeSpan.FromHours(24), "NETO", now, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"), filled);
        var alert = System.Text.Json.JsonSerializer.Deserialize(filled, Mutt.Core.Events.MuttJsonContext.Default.AlertMessage)!;
        Assert.Equal((hostname, $"meta-unhandled-{hostname}-20261206000000"), (alert.Hostname, alert.CorrelationId));
    }
}
