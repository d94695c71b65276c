using System.Diagnostics;
using Mutt.Core.Rules;

namespace Mutt.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class RuleSetTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    private static RuleSet Rules(params AlertRule[] rules) => new(rules, [], new Dictionary<string, string>(), Timeout);

    private static AlertRule Rule(int id, string type, string? match = null, string? oid = null, int priority = 100, int? severity = null,
        string prod = Handling.TicketOnly, string dev = Handling.LogOnly, string team = "NETO", bool active = true) =>
        new() { Id = id, MatchType = type, MatchString = match, TrapOid = oid, Priority = priority, SyslogSeverity = severity, ProdHandling = prod, DevHandling = dev, TeamAssignment = team, IsActive = active };

    [Fact]
    public void Contains_matches_a_substring_case_sensitively()
    {
        var rules = Rules(Rule(1, MatchTypes.Contains, "LINK-DOWN"));
        Assert.Equal(1, rules.Match("%LINK-DOWN: Gi0/1", null, null, "r1").Rule?.Id);
        Assert.False(rules.Match("%link-down: Gi0/1", null, null, "r1").Matched);
    }

    [Fact]
    public void Regex_matches_the_message()
    {
        var rules = Rules(Rule(1, MatchTypes.Regex, @"BGP-\d-ADJCHANGE"));
        Assert.True(rules.Match("%BGP-5-ADJCHANGE: neighbor down", null, null, "r1").Matched);
        Assert.False(rules.Match("%BGP-X-ADJCHANGE", null, null, "r1").Matched);
    }

    [Fact]
    public void Oid_prefix_matches_on_arc_boundaries_only()
    {
        var rules = Rules(Rule(1, MatchTypes.OidPrefix, oid: "1.3.6.1.4.1.9"));
        Assert.True(rules.Match("trap", "1.3.6.1.4.1.9.9.41.2", null, "r1").Matched);
        Assert.True(rules.Match("trap", "1.3.6.1.4.1.9", null, "r1").Matched);
        Assert.False(rules.Match("trap", "1.3.6.1.4.1.99.1", null, "r1").Matched);
        Assert.False(rules.Match("1.3.6.1.4.1.9 in the message only", null, null, "r1").Matched);
    }

    [Fact]
    public void Lowest_priority_number_wins()
    {
        var rules = Rules(Rule(1, MatchTypes.Contains, "DOWN", priority: 50, team: "A"), Rule(2, MatchTypes.Contains, "LINK", priority: 10, team: "B"));
        Assert.Equal(2, rules.Match("LINK DOWN", null, null, "r1").Rule?.Id);
    }

    [Fact]
    public void Equal_priority_goes_to_the_lower_id()
    {
        var rules = Rules(Rule(7, MatchTypes.Contains, "DOWN", priority: 10), Rule(3, MatchTypes.Regex, "LINK", priority: 10));
        Assert.Equal(3, rules.Match("LINK DOWN", null, null, "r1").Rule?.Id);
    }

    [Fact]
    public void Inactive_rules_never_match()
    {
        var rules = Rules(Rule(1, MatchTypes.Contains, "DOWN", active: false));
        Assert.False(rules.Match("DOWN", null, null, "r1").Matched);
    }

    [Fact]
    public void Severity_filter_restricts_a_rule_to_that_severity()
    {
        var rules = Rules(Rule(1, MatchTypes.Contains, "DOWN", priority: 1, severity: 2, team: "CRIT"), Rule(2, MatchTypes.Contains, "DOWN", priority: 5, team: "ANY"));
        Assert.Equal(1, rules.Match("DOWN", null, 2, "r1").Rule?.Id);
        Assert.Equal(2, rules.Match("DOWN", null, 5, "r1").Rule?.Id);
        Assert.Equal(2, rules.Match("DOWN", null, null, "r1").Rule?.Id);
    }

    [Fact]
    public void Development_host_gets_dev_handling_and_others_prod_handling()
    {
        var rules = new RuleSet([Rule(1, MatchTypes.Contains, "DOWN", prod: Handling.PageAndTicket, dev: Handling.Suppress)], ["lab-r1"], new Dictionary<string, string>(), Timeout);
        var dev = rules.Match("DOWN", null, null, "LAB-R1");
        Assert.True(dev.IsDevelopmentHost);
        Assert.Equal(Handling.Suppress, dev.Handling);
        Assert.False(dev.Forward);
        var prod = rules.Match("DOWN", null, null, "core-r1");
        Assert.Equal(Handling.PageAndTicket, prod.Handling);
        Assert.True(prod.Forward);
    }

    [Fact]
    public void Log_only_is_not_forwarded()
    {
        var rules = Rules(Rule(1, MatchTypes.Contains, "x", prod: Handling.LogOnly));
        Assert.False(rules.Match("x", null, null, "h").Forward);
    }

    [Fact]
    public void Device_team_overrides_the_rule_team()
    {
        var rules = new RuleSet([Rule(1, MatchTypes.Contains, "DOWN", team: "NETO")], [], new Dictionary<string, string> { ["fw-1"] = "SECOPS" }, Timeout);
        Assert.Equal("SECOPS", rules.Match("DOWN", null, null, "fw-1").Team);
        Assert.Equal("NETO", rules.Match("DOWN", null, null, "sw-1").Team);
    }

    [Fact]
    public void Catastrophic_regex_times_out_quickly_and_that_rule_is_skipped()
    {
        var rules = new RuleSet(
            [Rule(1, MatchTypes.Regex, "(a+)+$", priority: 1, team: "EVIL"), Rule(2, MatchTypes.Contains, "aaa", priority: 2, team: "SAFE")],
            [], new Dictionary<string, string>(), TimeSpan.FromMilliseconds(20));
        var watch = Stopwatch.StartNew();
        var result = rules.Match("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", null, null, "h");
        watch.Stop();
        Assert.Equal(1, result.RegexTimeouts);
        Assert.Equal(2, result.Rule?.Id);
        // Unbounded, (a+)+$ on 30 a's takes minutes; the timeout keeps it to milliseconds (generous bound for a loaded box).
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"took {watch.Elapsed}");
    }

    [Fact]
    public void Invalid_regex_is_reported_and_never_matches()
    {
        var rules = Rules(Rule(1, MatchTypes.Regex, "([unclosed"));
        Assert.Single(rules.InvalidRules);
        Assert.False(rules.Match("([unclosed", null, null, "h").Matched);
    }

    [Fact]
    public void No_match_is_unhandled_with_the_device_team_if_any()
    {
        var rules = new RuleSet([], [], new Dictionary<string, string> { ["fw-1"] = "SECOPS" }, Timeout);
        var result = rules.Match("anything", null, null, "fw-1");
        Assert.False(result.Matched);
        Assert.Equal(Handling.Unhandled, result.Handling);
        Assert.Equal("SECOPS", result.Team);
    }
}
