using System.Text.Json.Serialization;
using Mutt.Core.Configuration;
using Mutt.Core.Noise;
using Mutt.Core.Rules;
using Mutt.Dashboard.Data;
using StackExchange.Redis;

namespace Mutt.Dashboard.Services;

public sealed record RuleTestResult(
    [property: JsonPropertyName("matched")] bool Matched,
    [property: JsonPropertyName("rule")] AlertRule? Rule,
    [property: JsonPropertyName("handling")] string Handling,
    [property: JsonPropertyName("team")] string? Team,
    [property: JsonPropertyName("is_development_host")] bool IsDevelopmentHost,
    [property: JsonPropertyName("forwarded")] bool Forwarded)
{
    /// <summary>What the Alerter would audit now, after maintenance, flapping and deduplication: a handling or one of their decisions.</summary>
    [JsonPropertyName("decision")] public string Decision { get; init; } = "";
    /// <summary>Whether this event, sent now, would reach Moogsoft (as itself or as the Flapping alert).</summary>
    [JsonPropertyName("would_forward")] public bool WouldForward { get; init; }
    [JsonPropertyName("explanation")] public string Explanation { get; init; } = "";
    [JsonPropertyName("maintenance_window")] public MaintenanceWindow? MaintenanceWindow { get; init; }
    [JsonPropertyName("dedup")] public DedupState? Dedup { get; init; }
    [JsonPropertyName("flapping")] public FlappingState? Flapping { get; init; }
}

/// <summary>The deduplication window that applies to the sample event and its state in Redis now.</summary>
public sealed record DedupState(
    [property: JsonPropertyName("window_seconds")] int WindowSeconds,
    [property: JsonPropertyName("window_source")] string WindowSource,
    [property: JsonPropertyName("key")] string? Key,
    [property: JsonPropertyName("window_open")] bool WindowOpen,
    [property: JsonPropertyName("repeats_in_window")] long RepeatsInWindow,
    [property: JsonPropertyName("expires_in_seconds")] double? ExpiresInSeconds,
    [property: JsonPropertyName("repeats_to_report")] long RepeatsToReport);

/// <summary>The flapping rule that sees the sample event and the state of its host and interface in Redis now.</summary>
public sealed record FlappingState(
    [property: JsonPropertyName("rule_id")] int RuleId,
    [property: JsonPropertyName("rule_name")] string RuleName,
    [property: JsonPropertyName("interface")] string Interface,
    [property: JsonPropertyName("kind")] string Kind,
    [property: JsonPropertyName("transitions_in_window")] long TransitionsInWindow,
    [property: JsonPropertyName("threshold")] int Threshold,
    [property: JsonPropertyName("window_seconds")] int WindowSeconds,
    [property: JsonPropertyName("is_flapping")] bool IsFlapping,
    [property: JsonPropertyName("last_kind")] string? LastKind);

/// <summary>
/// Runs a sample event through Mutt.Core's RuleSet (the Alerter's own matcher) over the current rules and
/// hosts, then through the same maintenance schedule and flapping rules the Alerter compiles, and reads
/// the deduplication and flapping state the event would meet in Redis. Nothing is written: the tester
/// explains, it does not count.
/// </summary>
public sealed class RuleTester(AlertRuleStore rules, HostStore hosts, MaintenanceWindowStore windows, CorrelationRuleStore correlation,
    IConnectionMultiplexer redis, DynamicConfig config)
{
    /// <summary>A whole queue item as the Alerter reads it (the webhook mapping tester's events): its source and labels too.</summary>
    public Task<RuleTestResult> TestAsync(Mutt.Core.Events.MuttEvent evt, CancellationToken ct = default) =>
        TestAsync(evt.Message, evt.Hostname, evt.TrapOid, evt.SyslogSeverity, ct, evt.Source, evt.Label);

    /// <param name="eventSource">The event's source (rules with match_source compare it).</param>
    /// <param name="label">The event's kept labels by name (rules with match_labels read them).</param>
    public async Task<RuleTestResult> TestAsync(string? message, string? hostname, string? trapOid, int? severity, CancellationToken ct = default,
        string? eventSource = null, Func<string, string?>? label = null)
    {
        var devHosts = await hosts.ListDevHostsAsync(ct);
        var teams = await hosts.ListTeamsAsync(ct);
        var timeout = TimeSpan.FromMilliseconds(100);
        var set = new RuleSet(await rules.ListAsync(ct), devHosts.Select(h => h.Hostname), teams.ToDictionary(t => t.Hostname, t => t.TeamAssignment), timeout);
        trapOid = string.IsNullOrWhiteSpace(trapOid) ? null : trapOid.Trim();
        var host = string.IsNullOrWhiteSpace(hostname) ? "unknown" : hostname.Trim();
        var match = set.Match(message, trapOid, severity, host, string.IsNullOrWhiteSpace(eventSource) ? null : eventSource.Trim(), label);
        var result = new RuleTestResult(match.Matched, match.Rule, match.Handling, match.Team, match.IsDevelopmentHost, match.Forward);

        var now = DateTimeOffset.UtcNow;
        if (new MaintenanceSchedule(await windows.ListAsync(current: true, ct)).Find(host, match.Rule?.Id, match.Team, now) is { } window)
        {
            return result with
            {
                Decision = Handling.SuppressedMaintenance,
                MaintenanceWindow = window,
                Explanation = $"Maintenance window {window.Id} ({window.Reason}) covers {host} until {window.EndsAt:u}: audited {Handling.SuppressedMaintenance}, never forwarded.",
            };
        }

        var db = redis.GetDatabase();
        if (new FlappingRuleSet(await correlation.ListAsync(ct), timeout).Observe(message, trapOid) is { } flap)
        {
            var flapping = await ReadFlappingAsync(db, flap, host);
            var transition = flapping.LastKind != flapping.Kind;
            var (decision, forward, why) = flapping.IsFlapping
                ? (Handling.Flapping, false, $"{flap.Interface} on {host} is flapping (correlation rule {flap.Rule.Id}): audited {Handling.Flapping}, not forwarded, until quiet for {flap.Rule.WindowSeconds} s.")
                : transition && flapping.TransitionsInWindow + 1 >= flap.Rule.Threshold
                    ? (Handling.Flapping, true, $"This transition would be number {flapping.TransitionsInWindow + 1} within {flap.Rule.WindowSeconds} s (threshold {flap.Rule.Threshold}): one Flapping alert is forwarded instead of the event.")
                    : (match.Handling, match.Forward, $"Correlation rule {flap.Rule.Id} counts it ({flapping.TransitionsInWindow + (transition ? 1 : 0)} of {flap.Rule.Threshold} transitions); below the threshold the rule's handling applies.");
            return result with { Decision = decision, WouldForward = forward, Flapping = flapping, Explanation = why };
        }

        if (!match.Forward)
        {
            return result with { Decision = match.Handling, Explanation = match.Matched ? $"{match.Handling}: audited, not forwarded." : "No rule matches: audited as unhandled (counted for the unhandled meta-alert)." };
        }
        var global = (int)await config.GetInt64Async(DynamicConfigKeys.DedupWindowSeconds, 0);
        var (seconds, source) = match.Rule!.DedupWindowSeconds is { } own ? (own, $"rule {match.Rule.Id}") : (global, DynamicConfigKeys.DedupWindowSeconds);
        if (seconds <= 0)
        {
            return result with
            {
                Decision = match.Handling, WouldForward = true,
                Dedup = new DedupState(0, source, null, false, 0, null, 0),
                Explanation = $"{match.Handling}: forwarded (deduplication off: {source} = 0).",
            };
        }
        var hash = NoiseKeys.DedupHash(host, message, trapOid);
        var key = NoiseKeys.DedupWindow(hash);
        var count = await db.HashGetAsync(key, "count");
        var ttl = await db.KeyTimeToLiveAsync(key);
        var pending = await db.StringGetAsync(NoiseKeys.DedupRepeats(hash));
        var state = new DedupState(seconds, source, key, !count.IsNull, count.IsNull ? 0 : (long)count - 1, ttl?.TotalSeconds, pending.IsNull ? 0 : (long)pending);
        return state.WindowOpen
            ? result with
            {
                Decision = Handling.Deduplicated, Dedup = state,
                Explanation = $"An identical event was forwarded {seconds - (ttl?.TotalSeconds ?? 0):0} s ago: audited {Handling.Deduplicated} (repeat {state.RepeatsInWindow + 1}), not forwarded.",
            }
            : result with
            {
                Decision = match.Handling, WouldForward = true, Dedup = state,
                Explanation = $"{match.Handling}: forwarded, and opens a {seconds} s deduplication window ({source})" +
                    (state.RepeatsToReport > 0 ? $"; its Moogsoft event reports {state.RepeatsToReport} earlier repeat(s)." : "."),
            };
    }

    private static async Task<FlappingState> ReadFlappingAsync(IDatabase db, FlapObservation flap, string host)
    {
        var stateKey = NoiseKeys.FlappingState(flap.Rule.Id, host, flap.Interface);
        var fields = (await db.HashGetAllAsync(stateKey)).ToDictionary(e => (string)e.Name!, e => (string?)e.Value);
        var isFlapping = fields.GetValueOrDefault("flapping") == "1";
        var window = flap.Rule.WindowSeconds * 1000L;
        var nowMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var transitions = isFlapping && long.TryParse(fields.GetValueOrDefault("count"), out var c) ? c
            : await db.SortedSetLengthAsync(NoiseKeys.FlappingTransitions(stateKey), nowMs - window, double.PositiveInfinity);
        return new FlappingState(flap.Rule.Id, flap.Rule.Name, flap.Interface, flap.Kind == FlapKind.Open ? "open" : "close",
            transitions, flap.Rule.Threshold, flap.Rule.WindowSeconds, isFlapping, fields.GetValueOrDefault("kind") is { } last ? (last == "o" ? "open" : "close") : null);
    }
}
