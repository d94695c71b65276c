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
    public async Task<RuleTestResult> TestAsync(string? message, string? hostname, string? trapOid, int? severity, CancellationToken ct = default,
        string? source = null, IReadOnlyDictionary<string, string>? labels = null)
    {
        var set = await CompileAsync(ct);
        var result = set.Match(message, string.IsNullOrWhiteSpace(trapOid) ? null : trapOid.Trim(), severity, string.IsNullOrWhiteSpace(hostname) ? null : hostname.Trim(),
            string.IsNullOrWhiteSpace(source) ? null : source.Trim(), labels is null ? null : name => labels.GetValueOrDefault(name));
        return ToResult(result);
    }

    /// <summary>A whole queue item as the Alerter reads it (the webhook mapping tester's event).</summary>
    public async Task<RuleTestResult> TestAsync(Mutt.Core.Events.MuttEvent evt, CancellationToken ct = default) => ToResult((await CompileAsync(ct)).Match(evt));

    private async Task<RuleSet> CompileAsync(CancellationToken ct)
    {
        var devHosts = await hosts.ListDevHostsAsync(ct);
        var teams = await hosts.ListTeamsAsync(ct);
        return new RuleSet(await rules.ListAsync(ct), devHosts.Select(h => h.Hostname), teams.ToDictionary(t => t.Hostname, t => t.TeamAssignment), TimeSpan.FromMilliseconds(100));
    }

    private static RuleTestResult ToResult(MatchResult result) =>
        new(result.Matched, result.Rule, result.Handling, result.Team, result.IsDevelopmentHost, result.Forward);
}
