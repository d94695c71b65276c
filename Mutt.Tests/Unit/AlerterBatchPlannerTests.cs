using System.Text.Json;
using Mutt.Alerter.Processing;
using Mutt.Core.Events;
using Mutt.Core.Rules;

namespace Mutt.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class AlerterBatchPlannerTests
{
    private static readonly RuleSet Rules = new(
        [
            new AlertRule { Id = 1, MatchType = MatchTypes.Contains, MatchString = "DOWN", Priority = 10, ProdHandling = Handling.PageAndTicket, DevHandling = Handling.Suppress, TeamAssignment = "NETO" },
            new AlertRule { Id = 2, MatchType = MatchTypes.Contains, MatchString = "NOISE", Priority = 20, ProdHandling = Handling.LogOnly, DevHandling = Handling.LogOnly, TeamAssignment = "NETO" },
        ],
        ["lab-1"], new Dictionary<string, string>(), TimeSpan.FromSeconds(5));

    private readonly BatchPlanner _planner = new("pod-a", "mutt:ingest_queue", maxRetries: 3);

    [Fact]
    public void Unparseable_json_goes_straight_to_the_dlq_with_a_reason()
    {
        var plan = _planner.Plan(["{not json", "null"], Rules);
        Assert.Equal(2, plan.Poison);
        Assert.Empty(plan.Retries);
        var dead = JsonSerializer.Deserialize(plan.DeadLetters[0], MuttJsonContext.Default.DeadLetter)!;
        Assert.Equal("{not json", dead.Payload);
        Assert.StartsWith("poison", dead.Reason);
        Assert.Equal("mutt:ingest_queue", dead.SourceQueue);
    }

    [Fact]
    public void Item_bytes_go_to_the_audit_row_unchanged_and_invalid_utf8_is_still_processed()
    {
        var good = System.Text.Encoding.UTF8.GetBytes("""{"timestamp":"2025-01-02T03:04:05Z","message":"LINK DOWN caf\u00e9","hostname":"r1","correlation_id":"b1"}""");
        var invalid = System.Text.Encoding.UTF8.GetBytes("""{"timestamp":"2025-01-02T03:04:05Z","message":"LINK DOWN X","hostname":"r2","correlation_id":"b2"}""");
        invalid[Array.IndexOf(invalid, (byte)'X')] = 0xFF; // not UTF-8: decoded leniently (U+FFFD) as before

        var plan = _planner.Plan([good, invalid], Rules);

        Assert.Equal(0, plan.Poison);
        var rows = plan.AuditRows.ToList();
        Assert.Equal(2, rows.Count);
        Assert.Equal(good, rows[0].RawMessageUtf8.ToArray());
        Assert.True(System.Text.Unicode.Utf8.IsValid(rows[1].RawMessageUtf8.Span));
        Assert.Contains("LINK DOWN \uFFFD", rows[1].RawMessage);
        Assert.Equal(2, plan.Alerts.Count());
    }

    [Fact]
    public void Forwarded_match_makes_an_audit_row_and_an_alert()
    {
        var plan = _planner.Plan(["""{"timestamp":"2025-01-02T03:04:05Z","message":"LINK DOWN","hostname":"r1","correlation_id":"c1","syslog_severity":3}"""], Rules);
        var row = Assert.Single(plan.AuditRows);
        Assert.Equal("c1", row.CorrelationId);
        Assert.Equal(1, row.MatchedRuleId);
        Assert.True(row.ForwardedToMoog);
        Assert.Equal(DateTimeKind.Utc, row.EventTimestamp.Kind);
        var alert = JsonSerializer.Deserialize(Assert.Single(plan.Alerts), MuttJsonContext.Default.AlertMessage)!;
        Assert.Equal(("c1", "NETO", Handling.PageAndTicket, 1, "r1"), (alert.CorrelationId, alert.Team, alert.Handling, alert.RuleId!.Value, alert.Hostname));
    }

    [Fact]
    public void Log_only_and_suppress_are_audited_but_not_alerted()
    {
        var plan = _planner.Plan(
        [
            """{"message":"NOISE","hostname":"r1","correlation_id":"a"}""",
            """{"message":"DOWN","hostname":"lab-1","correlation_id":"b"}""",
        ], Rules);
        Assert.Equal(2, plan.AuditRows.Count());
        Assert.All(plan.AuditRows, r => Assert.False(r.ForwardedToMoog));
        Assert.Empty(plan.Alerts);
        Assert.Equal(Handling.Suppress, plan.AuditRows.Single(r => r.CorrelationId == "b").HandlingDecision);
    }

    [Fact]
    public void Unmatched_event_is_audited_as_unhandled_and_counted_for_its_host()
    {
        var plan = _planner.Plan(["""{"message":"hello","hostname":"r9","correlation_id":"u1"}"""], Rules);
        var item = Assert.Single(plan.Items);
        Assert.Equal(Handling.Unhandled, item.Audit!.HandlingDecision);
        Assert.Null(item.Audit.MatchedRuleId);
        Assert.Equal("r9", item.UnhandledHost);
        Assert.Equal(1, plan.Unhandled);
    }

    [Fact]
    public void Missing_correlation_id_is_derived_deterministically_from_the_payload()
    {
        const string raw = """{"timestamp":"2025-01-02T03:04:05Z","message":"DOWN","hostname":"r1"}""";
        var first = _planner.Plan([raw], Rules).AuditRows.Single().CorrelationId;
        var second = _planner.Plan([raw], Rules).AuditRows.Single().CorrelationId;
        Assert.Equal(first, second);
        Assert.NotEqual(first, _planner.Plan([raw.Replace("r1", "r2")], Rules).AuditRows.Single().CorrelationId);
    }

    [Fact]
    public void Failed_item_is_requeued_with_retry_count_plus_one_then_dead_lettered_past_the_limit()
    {
        var plan = new BatchPlan();
        var evt = new MuttEvent { Message = "m", Hostname = "h", CorrelationId = "c", RetryCount = 2 };
        _planner.Fail(plan, "raw", evt, "boom");
        var retried = JsonSerializer.Deserialize(Assert.Single(plan.Retries), MuttJsonContext.Default.MuttEvent)!;
        Assert.Equal(3, retried.RetryCount);
        Assert.Equal("c", retried.CorrelationId);

        var exhausted = new BatchPlan();
        _planner.Fail(exhausted, "raw-3", new MuttEvent { RetryCount = 3 }, "boom");
        Assert.Empty(exhausted.Retries);
        var dead = JsonSerializer.Deserialize(Assert.Single(exhausted.DeadLetters), MuttJsonContext.Default.DeadLetter)!;
        Assert.Equal(("raw-3", "boom"), (dead.Payload, dead.Error));
        Assert.Equal("max_retries_exceeded", dead.Reason);
    }
}
