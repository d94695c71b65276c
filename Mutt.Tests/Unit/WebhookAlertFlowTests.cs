using System.Text;
using System.Text.Json;
using Mutt.Alerter.Processing;
using Mutt.Core.Events;
using Mutt.Forwarder.Moogsoft;
using Mutt.Core.Rules;
using Mutt.Ingestor.Ingest;
using Mutt.Ingestor.Webhooks;

namespace Mutt.Tests.Unit;

/// <summary>
/// A webhook alert from the adapter through the Alerter's planner to the Moogsoft payload: rules on
/// source and labels, the clear forwarded exactly when its firing alert is, one signature for both.
/// </summary>
[Trait("Category", "Unit")]
public sealed class WebhookAlertFlowTests
{
    private static readonly BatchLimits Limits = new(["timestamp", "message", "hostname"], 32, 100);
    private readonly BatchPlanner _planner = new("pod-a", "mutt:ingest_queue", maxRetries: 3);

    private static AlertRule Rule(int id, string? source = null, Dictionary<string, string>? labels = null, string? match = null,
        string prod = Handling.PageAndTicket, int priority = 10) =>
        new()
        {
            Id = id, MatchType = MatchTypes.Contains, MatchString = match, MatchSource = source, MatchLabels = labels, Priority = priority,
            ProdHandling = prod, DevHandling = Handling.LogOnly, TeamAssignment = "NETO",
        };

    private static RuleSet Rules(params AlertRule[] rules) => new(rules, [], new Dictionary<string, string>(), TimeSpan.FromMilliseconds(50));

    private static byte[] Alertmanager(string payload) =>
        AlertWebhookParser.Parse(new IngestBody(Encoding.UTF8.GetBytes(AlertWebhookParserTests.Payload(payload)), false, Limits, null, DateTimeOffset.UtcNow, null),
            AlertWebhookFormat.Alertmanager, ["instance"]).Items[0];

    private BatchPlan Plan(RuleSet rules, params byte[][] items) => _planner.Plan(items, rules);

    private static AlertMessage AlertOf(PlannedItem item) => JsonSerializer.Deserialize(item.AlertJson!, MuttJsonContext.Default.AlertMessage)!;

    [Fact]
    public void Rules_match_on_source_and_labels_and_leave_other_events_alone()
    {
        var rules = Rules(
            Rule(1, source: "alertmanager", labels: new() { ["severity"] = "critical", ["job"] = "snmp" }),
            Rule(2, source: "ALERTMANAGER", prod: Handling.LogOnly, priority: 20),
            Rule(3, match: "LinkDown", prod: Handling.TicketOnly, priority: 30));

        var evt = JsonSerializer.Deserialize(Alertmanager("alertmanager-firing.json"), MuttJsonContext.Default.MuttEvent)!;
        Assert.Equal(1, rules.Match(evt).Rule?.Id);
        Assert.Equal(2, rules.Match(evt.Message, null, null, "h", "alertmanager", name => name == "severity" ? "warning" : null).Rule?.Id);
        // A REST event with the same text: neither source rule applies, the message rule does.
        Assert.Equal(3, rules.Match("LinkDown: Gi0/1 is down", null, null, "h", "rest").Rule?.Id);
        Assert.Equal(3, rules.Match("LinkDown: Gi0/1 is down", null, null, "h").Rule?.Id);
    }

    [Fact]
    public void Firing_and_resolved_share_one_signature_and_the_clear_has_severity_zero()
    {
        var plan = Plan(Rules(Rule(1, source: "alertmanager")), Alertmanager("alertmanager-firing.json"), Alertmanager("alertmanager-resolved.json"));

        var firing = AlertOf(plan.Items[0]);
        var clear = AlertOf(plan.Items[1]);
        Assert.False(firing.Clear);
        Assert.True(clear.Clear);
        Assert.Equal("alertmanager:7e1857a68a0e2a04", clear.StableKey);
        var firingEvent = MoogEventBuilder.Build(firing, "fwd");
        var clearEvent = MoogEventBuilder.Build(clear, "fwd");
        Assert.Equal(firingEvent.Signature, clearEvent.Signature);
        Assert.NotEqual(firing.CorrelationId, clear.CorrelationId);
        Assert.Equal(5, firingEvent.Severity); // critical, paged
        Assert.Equal(MoogEventBuilder.ClearSeverity, clearEvent.Severity); // even for a Page_and_ticket rule
        Assert.Equal("alertmanager:7e1857a68a0e2a04", clearEvent.CustomInfo.StableKey);
    }

    [Fact]
    public void A_clear_is_audited_and_not_forwarded_when_its_firing_alert_was_not()
    {
        var plan = Plan(Rules(Rule(1, source: "alertmanager", prod: Handling.LogOnly)), Alertmanager("alertmanager-firing.json"), Alertmanager("alertmanager-resolved.json"));

        Assert.All(plan.Items, i => Assert.Null(i.AlertJson));
        Assert.Equal(2, plan.AuditRows.Count());
    }

    [Fact]
    public void With_deduplication_on_the_firing_alert_is_a_candidate_and_its_clear_never_is()
    {
        var noise = new NoiseContext(Mutt.Core.Noise.NoiseRules.Empty, 300, DateTimeOffset.UtcNow);
        var plan = _planner.Plan([Alertmanager("alertmanager-firing.json"), Alertmanager("alertmanager-resolved.json")],
            Rules(Rule(1, source: "alertmanager")), null, noise);

        Assert.NotNull(plan.Items[0].Noise?.DedupHash);
        Assert.Null(plan.Items[1].Noise); // a change of state, not a repeat: always forwarded when its rule forwards
        Assert.True(AlertOf(plan.Items[1]).Clear);
    }

    [Fact]
    public void Events_without_a_stable_key_keep_the_per_alert_signature()
    {
        var a = new AlertMessage { CorrelationId = "c-1", Hostname = "h", RuleId = 1, Team = "NETO" };
        var b = new AlertMessage { CorrelationId = "c-2", Hostname = "h", RuleId = 1, Team = "NETO" };
        Assert.NotEqual(MoogEventBuilder.Signature(a), MoogEventBuilder.Signature(b));
        a.StableKey = "x:1";
        b.StableKey = "x:1";
        b.Team = "other";
        Assert.Equal(MoogEventBuilder.Signature(a), MoogEventBuilder.Signature(b));
    }

    [Fact]
    public void A_sender_odd_webhook_field_does_not_make_the_event_poison()
    {
        var plan = Plan(Rules(Rule(1, match: "odd")),
            """{"timestamp":"2026-01-01T00:00:00Z","message":"odd","hostname":"h","stable_key":5,"alert_status":["x"],"labels":"flat"}"""u8.ToArray());
        Assert.Equal(0, plan.Poison);
        var alert = AlertOf(plan.Items[0]);
        Assert.Null(alert.StableKey);
        Assert.False(alert.Clear);
    }

    [Fact]
    public void A_mapped_source_with_a_status_path_clears_its_alert_under_one_signature()
    {
        var mapping = new Mutt.Core.Webhooks.MappedSource(new Mutt.Core.Webhooks.WebhookMapping
        {
            Name = "nagios", HostnamePath = "host", MessagePath = "output", StableKeyPath = "service", StatusPath = "state", ResolvedValues = ["OK"],
        });
        byte[] Mapped(string state) => MappedSourceParser.Parse(new IngestBody(Encoding.UTF8.GetBytes(
            $$"""{"host":"core-rtr-02","service":"PING","state":"{{state}}","output":"PING {{state}}"}"""), false, Limits, null, DateTimeOffset.UtcNow, null), mapping).Items[0];

        var plan = Plan(Rules(Rule(1, source: "nagios")), Mapped("CRITICAL"), Mapped("OK"));

        var firing = AlertOf(plan.Items[0]);
        var clear = AlertOf(plan.Items[1]);
        Assert.False(firing.Clear);
        Assert.True(clear.Clear);
        var firingEvent = MoogEventBuilder.Build(firing, "fwd");
        var clearEvent = MoogEventBuilder.Build(clear, "fwd");
        Assert.Equal(firingEvent.Signature, clearEvent.Signature);
        Assert.Equal("nagios:PING", clearEvent.CustomInfo.StableKey);
        Assert.Equal(MoogEventBuilder.ClearSeverity, clearEvent.Severity);
    }
}
