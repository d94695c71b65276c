using System.Text.RegularExpressions;
using Mutt.Core.Events;

namespace Mutt.Core.Rules;

/// <summary>What the rules decided for one event.</summary>
public sealed record MatchResult(
    AlertRule? Rule,
    string Handling,
    string? Team,
    bool IsDevelopmentHost,
    bool Forward,
    int RegexTimeouts)
{
    public bool Matched => Rule is not null;
}

/// <summary>
/// The compiled, immutable rule cache: active rules in priority order, regexes compiled once
/// with a match timeout, and the host lookups. Built once per cache load and swapped
/// atomically, so matching takes no locks. Both the Alerter and the Dashboard's rule tester
/// call <see cref="Match"/>; there is no second implementation.
/// </summary>
public sealed class RuleSet
{
    /// <summary>Precedence: the LOWEST priority number wins (spec 002: "lowest priority wins"); ties go to the lower id.</summary>
    public static readonly Comparison<AlertRule> Precedence = (a, b) =>
        a.Priority != b.Priority ? a.Priority.CompareTo(b.Priority) : a.Id.CompareTo(b.Id);

    private readonly CompiledRule[] _rules;
    private readonly HashSet<string> _devHosts;
    private readonly Dictionary<string, string> _teams;

    public RuleSet(IEnumerable<AlertRule> rules, IEnumerable<string> developmentHosts, IReadOnlyDictionary<string, string> deviceTeams, TimeSpan regexTimeout)
    {
        var active = rules.Where(r => r.IsActive).ToList();
        active.Sort(Precedence);
        _rules = active.Select(r => new CompiledRule(r, regexTimeout)).ToArray();
        _devHosts = new HashSet<string>(developmentHosts, StringComparer.OrdinalIgnoreCase);
        _teams = new Dictionary<string, string>(deviceTeams, StringComparer.OrdinalIgnoreCase);
        InvalidRules = _rules.Where(r => r.Error is not null).Select(r => (r.Rule, r.Error!)).ToList();
        _usesLabels = _rules.Any(r => r.Rule.MatchLabels is { Count: > 0 });
    }

    /// <summary>Only then does matching an event look at its labels (a lookup delegate per event otherwise for nothing).</summary>
    private readonly bool _usesLabels;

    public static RuleSet Empty { get; } = new([], [], new Dictionary<string, string>(), TimeSpan.FromMilliseconds(100));

    public int RuleCount => _rules.Length;
    public int DevHostCount => _devHosts.Count;
    public int TeamCount => _teams.Count;

    /// <summary>Rules whose regex did not compile; they never match and are reported at load.</summary>
    public IReadOnlyList<(AlertRule Rule, string Error)> InvalidRules { get; }

    public bool IsDevelopmentHost(string? hostname) => hostname is not null && _devHosts.Contains(hostname);

    /// <summary>The device_teams team of a host, when it has one (it overrides a rule's team).</summary>
    public string? TeamOverride(string? hostname) => hostname is not null && _teams.TryGetValue(hostname, out var team) ? team : null;

    public MatchResult Match(MuttEvent evt) =>
        Match(evt.Message, evt.TrapOid, evt.SyslogSeverity, evt.Hostname, evt.Source, _usesLabels ? evt.Label : null);

    /// <param name="source">The event's <c>source</c> (rules with match_source compare it).</param>
    /// <param name="label">The event's kept labels by name (rules with match_labels read them); null: the event has none.</param>
    public MatchResult Match(string? message, string? trapOid, int? syslogSeverity, string? hostname, string? source = null, Func<string, string?>? label = null)
    {
        var isDev = IsDevelopmentHost(hostname);
        var timeouts = 0;
        foreach (var compiled in _rules)
        {
            if (!compiled.MatchesEvent(source, label))
            {
                continue;
            }
            var outcome = compiled.Matches(message, trapOid, syslogSeverity);
            if (outcome == RuleOutcome.TimedOut)
            {
                timeouts++;
                continue;
            }
            if (outcome != RuleOutcome.Matched)
            {
                continue;
            }
            var rule = compiled.Rule;
            var handling = isDev ? rule.DevHandling : rule.ProdHandling;
            var team = hostname is not null && _teams.TryGetValue(hostname, out var overridden) ? overridden : rule.TeamAssignment;
            return new MatchResult(rule, handling, team, isDev, Handling.IsForwarded(handling), timeouts);
        }
        var defaultTeam = hostname is not null && _teams.TryGetValue(hostname, out var hostTeam) ? hostTeam : null;
        return new MatchResult(null, Handling.Unhandled, defaultTeam, isDev, false, timeouts);
    }

    private enum RuleOutcome { NoMatch, Matched, TimedOut }

    private sealed class CompiledRule
    {
        private readonly Regex? _regex;
        private readonly RegexLiteralPrefix? _prefix;

        public CompiledRule(AlertRule rule, TimeSpan regexTimeout)
        {
            Rule = rule;
            if (rule.MatchType == MatchTypes.Regex && !string.IsNullOrEmpty(rule.MatchString))
            {
                try
                {
                    _regex = new Regex(rule.MatchString, RegexOptions.Compiled | RegexOptions.CultureInvariant, regexTimeout);
                    _prefix = RegexLiteralPrefix.Of(rule.MatchString);
                }
                catch (ArgumentException ex)
                {
                    Error = ex.Message;
                }
            }
        }

        public AlertRule Rule { get; }
        public string? Error { get; }

        /// <summary>The rule's source and label conditions (all must hold); a rule without them takes every event.</summary>
        public bool MatchesEvent(string? source, Func<string, string?>? label)
        {
            if (Rule.MatchSource is { Length: > 0 } wanted && !string.Equals(wanted, source, StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }
            if (Rule.MatchLabels is { Count: > 0 } labels)
            {
                if (label is null)
                {
                    return false;
                }
                foreach (var (name, value) in labels)
                {
                    if (!string.Equals(label(name), value, StringComparison.Ordinal))
                    {
                        return false;
                    }
                }
            }
            return true;
        }

        public RuleOutcome Matches(string? message, string? trapOid, int? syslogSeverity)
        {
            if (Rule.SyslogSeverity is { } wanted && syslogSeverity != wanted)
            {
                return RuleOutcome.NoMatch;
            }
            switch (Rule.MatchType)
            {
                case MatchTypes.Contains when string.IsNullOrEmpty(Rule.MatchString) && Rule.HasEventFilter:
                    return RuleOutcome.Matched; // source/labels already chose the events; every message
                case MatchTypes.Contains:
                    return !string.IsNullOrEmpty(Rule.MatchString) && message is not null
                        && message.Contains(Rule.MatchString, StringComparison.Ordinal) ? RuleOutcome.Matched : RuleOutcome.NoMatch;
                case MatchTypes.Regex:
                    if (_regex is null || message is null || (_prefix is { } literal && !literal.MayMatch(message)))
                    {
                        return RuleOutcome.NoMatch;
                    }
                    try
                    {
                        return _regex.IsMatch(message) ? RuleOutcome.Matched : RuleOutcome.NoMatch;
                    }
                    catch (RegexMatchTimeoutException)
                    {
                        return RuleOutcome.TimedOut;
                    }
                case MatchTypes.OidPrefix:
                    var prefix = Rule.TrapOid ?? Rule.MatchString;
                    return !string.IsNullOrEmpty(prefix) && trapOid is not null
                        && Oids.IsPrefix(prefix, trapOid) ? RuleOutcome.Matched : RuleOutcome.NoMatch;
                default:
                    return RuleOutcome.NoMatch;
            }
        }
    }
}

public static class Oids
{
    /// <summary>OID prefix on arc boundaries: 1.3.6.1.4.1.9 matches 1.3.6.1.4.1.9.9.41 but not 1.3.6.1.4.1.99.</summary>
    public static bool IsPrefix(string prefix, string oid)
    {
        prefix = prefix.TrimStart('.').TrimEnd('.');
        oid = oid.TrimStart('.');
        return oid.StartsWith(prefix, StringComparison.Ordinal) && (oid.Length == prefix.Length || oid[prefix.Length] == '.');
    }
}
