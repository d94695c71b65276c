using System.Text.Json;
using Mutt.Alerter.Processing;
using Mutt.Core.Events;
using Mutt.Forwarder.Moogsoft;
using Mutt.Core.Noise;
using Mutt.Core.Redis;
using Mutt.Core.Rules;
using Mutt.Dashboard.Rules;

namespace Mutt.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class MaintenanceScheduleTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);

    private static MaintenanceWindow Window(int id, string[] hosts, int? rule = null, string? team = null, int startMin = -10, int endMin = 60) => new()
    {
        Id = id, Hosts = hosts, RuleId = rule, Team = team, StartsAt = Now.AddMinutes(startMin), EndsAt = Now.AddMinutes(endMin), Reason = "CHG-1", CreatedBy = "op",
    };

    [Theory]
    [InlineData("core-*", "core-r1", true)]
    [InlineData("core-*", "CORE-R1", true)]
    [InlineData("core-*", "edge-core-1", false)]
    [InlineData("*-r?", "core-r1", true)]
    [InlineData("*-r?", "core-r10", false)]
    [InlineData("a*b*c", "axxbyyc", true)]
    [InlineData("a*b*c", "axxbyy", false)]
    [InlineData("*", "anything", true)]
    public void Host_patterns_are_case_insensitive_globs(string pattern, string host, bool expected) =>
        Assert.Equal(expected, HostPattern.Matches(pattern, host));

    [Fact]
    public void A_window_applies_only_while_open_and_only_to_its_hosts_rule_and_team()
    {
        var schedule = new MaintenanceSchedule(
        [
            Window(1, ["core-r1"]),
            Window(2, ["edge-*"], rule: 7),
            Window(3, ["fw-*"], team: "SECOPS"),
            Window(4, ["later-1"], startMin: 30),
            Window(5, ["ended-1"], startMin: -60, endMin: -1),
        ]);

        Assert.Equal(1, schedule.Find("CORE-R1", null, null, Now)?.Id);
        Assert.Null(schedule.Find("core-r2", null, null, Now));
        Assert.Equal(2, schedule.Find("edge-9", 7, "NETO", Now)?.Id);
        Assert.Null(schedule.Find("edge-9", 8, "NETO", Now));
        Assert.Null(schedule.Find("edge-9", null, "NETO", Now));
        Assert.Equal(3, schedule.Find("fw-1", 1, "secops", Now)?.Id);
        Assert.Null(schedule.Find("fw-1", 1, "NETO", Now));
        Assert.Null(schedule.Find("later-1", null, null, Now));
        Assert.Equal(4, schedule.Find("later-1", null, null, Now.AddMinutes(30))?.Id);
        Assert.Null(schedule.Find("ended-1", null, null, Now));
        // The end is exclusive: a window that ended on its own simply stops matching.
        Assert.Null(schedule.Find("core-r1", null, null, Now.AddMinutes(60)));
    }

    [Fact]
    public void The_lowest_window_id_wins_between_an_exact_name_and_a_pattern()
    {
        var schedule = new MaintenanceSchedule([Window(9, ["core-r1"]), Window(3, ["core-*"])]);
        Assert.Equal(3, schedule.Find("core-r1", null, null, Now)?.Id);
        Assert.Equal(new[] { 3, 9 }, schedule.ForHost("core-r1").Select(w => w.Id));
    }
}

[Trait("Category", "Unit")]
public sealed class FlappingRuleSetTests
{
    private static readonly CorrelationRule LinkRule = new()
    {
        Id = 4, Name = "link flap", OpenPattern = "LINK-DOWN|changed state to down", ClosePattern = "LINK-UP|changed state to up",
        OpenTrapOid = "1.3.6.1.6.3.1.1.5.3", CloseTrapOid = "1.3.6.1.6.3.1.1.5.4", WindowSeconds = 300, Threshold = 3, TeamAssignment = "NETO",
    };

    private readonly FlappingRuleSet _rules = new([LinkRule], TimeSpan.FromSeconds(5));

    [Theory]
    [InlineData("%LINK-3-UPDOWN: LINK-DOWN Interface GigabitEthernet1/0/24", null, FlapKind.Open, "GigabitEthernet1/0/24")]
    [InlineData("%LINK-3-UPDOWN: Interface Gi0/1, changed state to up", null, FlapKind.Close, "Gi0/1")]
    [InlineData("xe-0/0/1 LINK-UP", null, FlapKind.Close, "xe-0/0/1")]
    [InlineData("SNMP trap 1.3.6.1.6.3.1.1.5.3 from 10.0.0.1 1.3.6.1.2.1.2.2.1.1.12=12", "1.3.6.1.6.3.1.1.5.3", FlapKind.Open, "12")]
    [InlineData("SNMP trap 1.3.6.1.6.3.1.1.5.4 from 10.0.0.1 1.3.6.1.2.1.2.2.1.1.12=12", "1.3.6.1.6.3.1.1.5.4", FlapKind.Close, "12")]
    [InlineData("LINK-DOWN somewhere", null, FlapKind.Open, FlappingRuleSet.NoInterface)]
    public void Opening_and_closing_events_are_seen_with_their_interface(string message, string? oid, FlapKind kind, string iface)
    {
        var seen = _rules.Observe(message, oid);
        Assert.NotNull(seen);
        Assert.Equal((4, kind, iface), (seen.Rule.Id, seen.Kind, seen.Interface));
    }

    [Fact]
    public void Other_events_and_inactive_or_invalid_rules_are_not_seen()
    {
        Assert.Null(_rules.Observe("fan failure", "1.3.6.1.4.1.9.9.41.2"));
        var broken = new FlappingRuleSet([LinkRule with { Id = 5, OpenPattern = "(" }, LinkRule with { Id = 6, IsActive = false }], TimeSpan.FromSeconds(5));
        Assert.Single(broken.InvalidRules);
        Assert.Null(broken.Observe("LINK-DOWN Gi0/1", null));
    }
}

[Trait("Category", "Unit")]
public sealed class NoisePlannerTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);
    private static readonly RuleSet Rules = new(
        [
            new AlertRule { Id = 1, MatchType = MatchTypes.Contains, MatchString = "LINK", Priority = 10, ProdHandling = Handling.PageAndTicket, DevHandling = Handling.LogOnly, TeamAssignment = "NETO" },
            new AlertRule { Id = 2, MatchType = MatchTypes.Contains, MatchString = "fan", Priority = 20, ProdHandling = Handling.TicketOnly, DevHandling = Handling.LogOnly, TeamAssignment = "FAC", DedupWindowSeconds = 0 },
            new AlertRule { Id = 3, MatchType = MatchTypes.Contains, MatchString = "chatter", Priority = 30, ProdHandling = Handling.LogOnly, DevHandling = Handling.LogOnly, TeamAssignment = "NETO" },
        ],
        [], new Dictionary<string, string> { ["core-r1"] = "CORE" }, TimeSpan.FromSeconds(5));

    private static readonly NoiseRules Noise = new(
        new MaintenanceSchedule([new MaintenanceWindow { Id = 11, Hosts = ["maint-*"], StartsAt = Now.AddHours(-1), EndsAt = Now.AddHours(1), Reason = "CHG" }]),
        new FlappingRuleSet([new CorrelationRule { Id = 4, Name = "flap", OpenPattern = "LINK-DOWN", ClosePattern = "LINK-UP", WindowSeconds = 120, Threshold = 3, TeamAssignment = "NETO" }],
            TimeSpan.FromSeconds(5)));

    private readonly BatchPlanner _planner = new("pod-a", "mutt:ingest_queue", maxRetries: 3);

    private static string Event(string id, string message, string host = "core-r1", string? receivedAt = null) =>
        $$"""{"timestamp":"2025-06-01T12:00:00Z","message":"{{message}}","hostname":"{{host}}","correlation_id":"{{id}}","syslog_severity":3{{(receivedAt is null ? "" : $",\"received_at\":\"{receivedAt}\"")}}}""";

    [Fact]
    public void Maintenance_suppresses_before_anything_else_and_names_the_window()
    {
        var plan = _planner.Plan([Event("m1", "fan failure", "maint-7"), Event("m2", "nobody matches", "maint-8"), Event("m3", "LINK-DOWN Gi0/1", "maint-9")],
            Rules, null, new NoiseContext(Noise, 60, Now));

        Assert.All(plan.AuditRows, r => Assert.Equal((Handling.SuppressedMaintenance, false, (int?)11), (r.HandlingDecision, r.ForwardedToMoog, r.MaintenanceWindowId)));
        Assert.Equal(2, plan.AuditRows.First().MatchedRuleId);
        Assert.Empty(plan.Alerts);
        Assert.All(plan.Items, i => Assert.Null(i.UnhandledHost));
        Assert.Equal(0, plan.NoiseCandidates); // nothing asks Redis: a window leaves no state behind
        Assert.Equal(3, plan.SuppressedMaintenance);
    }

    [Fact]
    public void An_event_received_after_its_window_ended_is_handled_as_usual()
    {
        var plan = _planner.Plan([Event("m1", "fan failure", "maint-7", receivedAt: Now.AddHours(2).ToString("O"))], Rules, null, new NoiseContext(Noise, 60, Now));
        Assert.Equal(Handling.TicketOnly, Assert.Single(plan.AuditRows).HandlingDecision);
    }

    [Fact]
    public void Only_forwarded_events_are_dedup_candidates_with_the_rule_window_winning_over_the_global_one()
    {
        var plan = _planner.Plan([Event("d1", "LINK flapped once"), Event("d2", "fan failure"), Event("d3", "chatter")], Rules, null, new NoiseContext(Noise, 60, Now));

        Assert.Equal(60, plan.Items[0].Noise?.DedupWindowSeconds);
        Assert.Equal(NoiseKeys.DedupHash("core-r1", "LINK flapped once", null), plan.Items[0].Noise?.DedupHash);
        Assert.Null(plan.Items[1].Noise); // rule 2: dedup_window_seconds = 0
        Assert.Null(plan.Items[2].Noise); // Log_only: nothing to reduce
        Assert.Null(_planner.Plan([Event("d4", "LINK x")], Rules, null, new NoiseContext(Noise, 0, Now)).Items[0].Noise); // global off
    }

    [Fact]
    public void Repeats_become_Deduplicated_with_their_number_and_the_next_forward_carries_the_count()
    {
        var plan = _planner.Plan([Event("a", "LINK x"), Event("b", "LINK x"), Event("c", "LINK y")], Rules, null, new NoiseContext(Noise, 60, Now));
        var requests = NoisePlanner.Collect(plan, Rules);
        Assert.Equal(3, requests.Dedup.Count);

        NoisePlanner.Apply(plan, requests, [new DedupOutcome(1, 0), new DedupOutcome(2, 0), new DedupOutcome(1, 41)], [], Rules);

        var rows = plan.AuditRows.ToList();
        Assert.Equal(Handling.PageAndTicket, rows[0].HandlingDecision);
        Assert.Equal((Handling.Deduplicated, false, (int?)1, (int?)1), (rows[1].HandlingDecision, rows[1].ForwardedToMoog, rows[1].DecisionCount, rows[1].MatchedRuleId));
        var alerts = plan.Alerts.Select(a => JsonSerializer.Deserialize(a, MuttJsonContext.Default.AlertMessage)!).ToList();
        Assert.Equal(["a", "c"], alerts.Select(a => a.CorrelationId));
        Assert.Null(alerts[0].RepeatCount);
        Assert.Equal(41, alerts[1].RepeatCount);
        Assert.Equal((1, 1), (plan.Deduplicated, plan.Handled - 1));
    }

    [Fact]
    public void Flapping_transitions_are_not_deduplicated_and_one_Flapping_alert_replaces_the_event()
    {
        var plan = _planner.Plan([Event("f1", "LINK-DOWN Gi0/1"), Event("f2", "LINK-UP Gi0/1"), Event("f3", "LINK-DOWN Gi0/1", "lonely-9")],
            Rules, null, new NoiseContext(Noise, 60, Now));
        var requests = NoisePlanner.Collect(plan, Rules);
        Assert.Empty(requests.Dedup);
        Assert.Equal(3, requests.Flaps.Count);
        Assert.Equal(NoiseKeys.FlappingState(4, "core-r1", "Gi0/1"), requests.Flaps[0].StateKey);

        NoisePlanner.Apply(plan, requests, [], [new(FlapCode.StartedFlapping, 3), new(FlapCode.Flapping, 4), new(FlapCode.NotFlapping, 1)], Rules);

        var rows = plan.AuditRows.ToList();
        Assert.Equal((Handling.Flapping, true, (int?)3, (int?)4), (rows[0].HandlingDecision, rows[0].ForwardedToMoog, rows[0].DecisionCount, rows[0].CorrelationRuleId));
        Assert.Equal((Handling.Flapping, false), (rows[1].HandlingDecision, rows[1].ForwardedToMoog));
        Assert.Equal(Handling.PageAndTicket, rows[2].HandlingDecision);
        var alerts = plan.Alerts.Select(a => JsonSerializer.Deserialize(a, MuttJsonContext.Default.AlertMessage)!).ToList();
        Assert.Equal(2, alerts.Count);
        var flapping = alerts[0];
        Assert.Equal((FlappingStates.Started, 3L, "Gi0/1", "CORE", 4), (flapping.Flapping, flapping.TransitionCount!.Value, flapping.Interface, flapping.Team, flapping.CorrelationRuleId!.Value));
        Assert.Equal(NoiseKeys.FlappingCorrelationId(4, "core-r1", "Gi0/1"), flapping.CorrelationId);
        Assert.Equal(2, plan.Flapping);

        // The clear has the Flapping alert's signature, so Moogsoft closes that alert; severity 0.
        var armed = Assert.Single(plan.FlappingClears); // one episode started: its clear is stored with the batch's completion
        Assert.Equal(("f1", requests.Flaps[0].StateKey), (armed.StartedBy, armed.StateKey));
        var clear = JsonSerializer.Deserialize(armed.ClearJson, MuttJsonContext.Default.AlertMessage)!;
        clear.TransitionCount = 20;
        Assert.Equal(MoogEventBuilder.Signature(flapping), MoogEventBuilder.Signature(clear));
        var moog = MoogEventBuilder.Build(clear, "here");
        Assert.Equal((0, "MUTT_FLAPPING", FlappingStates.Cleared, 20L), (moog.Severity, moog.Type, moog.CustomInfo.Flapping, moog.CustomInfo.TransitionCount!.Value));
    }

    [Fact]
    public void An_unhandled_flapping_transition_does_not_count_towards_the_unhandled_meta_alert()
    {
        var rules = new RuleSet([], [], new Dictionary<string, string>(), TimeSpan.FromSeconds(5));
        var plan = _planner.Plan([Event("u1", "LINK-DOWN Gi0/2")], rules, null, new NoiseContext(Noise, 60, Now));
        Assert.Equal("core-r1", plan.Items[0].UnhandledHost);
        var requests = NoisePlanner.Collect(plan, rules);
        NoisePlanner.Apply(plan, requests, [], [new(FlapCode.Flapping, 5)], rules);
        Assert.Null(plan.Items[0].UnhandledHost);
        Assert.Equal((0, 1), (plan.Unhandled, plan.Flapping));
    }

    [Fact]
    public void The_dedup_identity_ignores_whitespace_runs_and_host_case_but_not_the_message_or_trap()
    {
        Assert.Equal(NoiseKeys.DedupHash("Core-R1", "  LINK  down\tGi0/1 ", null), NoiseKeys.DedupHash("core-r1", "LINK down Gi0/1", null));
        Assert.NotEqual(NoiseKeys.DedupHash("core-r1", "LINK down Gi0/1", null), NoiseKeys.DedupHash("core-r1", "LINK down Gi0/2", null));
        Assert.NotEqual(NoiseKeys.DedupHash("core-r1", "x", "1.3.6.1.6.3.1.1.5.3"), NoiseKeys.DedupHash("core-r1", "x", "1.3.6.1.6.3.1.1.5.4"));
        Assert.Equal(32, NoiseKeys.DedupHash("h", "m", null).Length);
    }

    [Fact]
    public void The_moogsoft_event_carries_the_repeat_count()
    {
        var moog = MoogEventBuilder.Build(new AlertMessage { CorrelationId = "c", Hostname = "h", Message = "m", Handling = Handling.TicketOnly, RepeatCount = 9999 }, "here");
        Assert.Equal(9999, moog.CustomInfo.RepeatCount);
        Assert.Contains("\"repeat_count\":9999", JsonSerializer.Serialize(moog, MoogJsonContext.Default.MoogEvent));
        Assert.DoesNotContain("repeat_count", JsonSerializer.Serialize(MoogEventBuilder.Build(new AlertMessage { CorrelationId = "c", Hostname = "h" }, "here"), MoogJsonContext.Default.MoogEvent));
    }
}

[Trait("Category", "Unit")]
public sealed class NoiseRuleValidatorTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Maintenance_window_problems_name_their_fields()
    {
        var errors = NoiseRuleValidator.Validate(new MaintenanceWindow { Hosts = ["core r1;drop"], StartsAt = Now, EndsAt = Now.AddMinutes(-1), Reason = " " }, Now, creating: true);
        Assert.Equal(["ends_at", "hosts", "reason"], errors.Keys.Order());
        Assert.Empty(NoiseRuleValidator.Validate(new MaintenanceWindow { Hosts = ["core-*", "fw-1"], StartsAt = Now, EndsAt = Now.AddHours(1), Reason = "CHG-1" }, Now, creating: true));
        Assert.Contains("ends_at", NoiseRuleValidator.Validate(new MaintenanceWindow { Hosts = ["a"], StartsAt = Now.AddHours(-2), EndsAt = Now.AddHours(-1), Reason = "r" }, Now, creating: true).Keys);
        Assert.Empty(NoiseRuleValidator.Validate(new MaintenanceWindow { Hosts = ["a"], StartsAt = Now.AddHours(-2), EndsAt = Now.AddHours(-1), Reason = "r" }, Now, creating: false));
    }

    [Fact]
    public void Correlation_rule_problems_name_their_fields()
    {
        var errors = NoiseRuleValidator.Validate(new CorrelationRule { Name = "", OpenPattern = "(a+)+$", CloseTrapOid = "linkUp", WindowSeconds = 0, Threshold = 1, Handling = Handling.LogOnly });
        Assert.Equal(["close_trap_oid", "handling", "name", "open_pattern", "team_assignment", "threshold", "window_seconds"], errors.Keys.Order());
        Assert.Empty(NoiseRuleValidator.Validate(new CorrelationRule { Name = "link", OpenTrapOid = "1.3.6.1.6.3.1.1.5.3", CloseTrapOid = "1.3.6.1.6.3.1.1.5.4", TeamAssignment = "NETO" }));
    }
}
