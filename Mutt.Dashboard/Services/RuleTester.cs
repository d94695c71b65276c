using System.Text.Json.Serialization;
using Mutt.Core.Rules;
using Mutt.Dashboard.Data;

namespace Mutt.Dashboard.Services;

public sealed record RuleTestResult(
    [property: JsonPropertyName("matched")] bool Matched,
    [property: JsonPropertyName("rule")] AlertRule? Rule,
    [property: JsonPropertyName("handling")] string Handling,
    [property: JsonPropertyName("team")] string? Team,
    [property: JsonPropertyName("is_development_host")] bool IsDevelopmentHost,
    [property: JsonPropertyName("forwarded")] bool Forwarded);

/// <summary>Runs a sample event through Mutt.Core's RuleSet, the Alerter's own matcher, over the current rules and hosts.</summary>
public sealed class RuleTester(AlertRuleStore rules, HostStore hosts)
{
    public async Task<RuleTestResult> TestAsync(string? message, string? hostname, string? trapOid, int? severity, CancellationToken ct = default)
    {
        var devHosts = await hosts.ListDevHostsAsync(ct);
        var teams = await hosts.ListTeamsAsync(ct);
        var set = new RuleSet(await rules.ListAsync(ct), devHosts.Select(h => h.Hostname), teams.ToDictionary(t => t.Hostname, t => t.TeamAssignment), TimeSpan.FromMilliseconds(100));
        var result = set.Match(message, string.IsNullOrWhiteSpace(trapOid) ? null : trapOid.Trim(), severity, string.IsNullOrWhiteSpace(hostname) ? null : hostname.Trim());
        return new RuleTestResult(result.Matched, result.Rule, result.Handling, result.Team, result.IsDevelopmentHost, result.Forward);
    }
}
