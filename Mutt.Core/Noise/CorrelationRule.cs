using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Mutt.Core.Rules;

namespace Mutt.Core.Noise;

/// <summary>
/// A row of <c>correlation_rules</c>. Type <c>flapping</c>: an opening event (<see cref="OpenPattern"/>
/// regex on the message, or a trap OID prefix) and a closing one, per host and interface;
/// <see cref="Threshold"/> transitions within <see cref="WindowSeconds"/> make the interface flapping.
/// </summary>
public sealed record CorrelationRule
{
    public const string FlappingType = "flapping";

    [JsonPropertyName("id")] public int Id { get; init; }
    [JsonPropertyName("name")] public string Name { get; init; } = "";
    [JsonPropertyName("rule_type")] public string RuleType { get; init; } = FlappingType;
    [JsonPropertyName("open_pattern")] public string? OpenPattern { get; init; }
    [JsonPropertyName("close_pattern")] public string? ClosePattern { get; init; }
    [JsonPropertyName("open_trap_oid")] public string? OpenTrapOid { get; init; }
    [JsonPropertyName("close_trap_oid")] public string? CloseTrapOid { get; init; }
    /// <summary>Regex whose first non-empty group names the interface; null = <see cref="FlappingRuleSet.DefaultInterfacePattern"/>.</summary>
    [JsonPropertyName("interface_pattern")] public string? InterfacePattern { get; init; }
    [JsonPropertyName("window_seconds")] public int WindowSeconds { get; init; } = 300;
    [JsonPropertyName("threshold")] public int Threshold { get; init; } = 3;
    [JsonPropertyName("handling")] public string Handling { get; init; } = Rules.Handling.PageAndTicket;
    [JsonPropertyName("team_assignment")] public string TeamAssignment { get; init; } = "";
    [JsonPropertyName("is_active")] public bool IsActive { get; init; } = true;
}

/// <summary>Which side of a flap an event is.</summary>
public enum FlapKind { Open, Close }

/// <summary>An event seen by a flapping rule: the rule, the interface, and whether it opens or closes.</summary>
public sealed record FlapObservation(CorrelationRule Rule, string Interface, FlapKind Kind);

/// <summary>
/// The active flapping rules of one cache load, compiled once (regexes with a match timeout), used
/// by the Alerter and the rule tester. The first rule (lowest id) that sees an event wins.
/// </summary>
public sealed class FlappingRuleSet
{
    /// <summary>
    /// Interface names as network gear logs them (Gi0/1, GigabitEthernet1/0/24, xe-0/0/1, Ethernet1/1,
    /// Port-channel12, Vlan100), or the ifIndex of an IF-MIB trap varbind (1.3.6.1.2.1.2.2.1.1.N,
    /// ifIndex; the Ingestor writes varbinds into the message as oid=value).
    /// </summary>
    public const string DefaultInterfacePattern =
        @"\b((?:[A-Za-z][A-Za-z-]*?)\d+(?:[/:]\d+)+(?:\.\d+)?|(?:Vlan|Port-channel|port-channel|Tunnel|Loopback)\d+)\b|1\.3\.6\.1\.2\.1\.2\.2\.1\.1\.(\d+)=";

    /// <summary>The interface key of an event with none: the whole host flaps.</summary>
    public const string NoInterface = "-";

    private readonly Compiled[] _rules;

    public FlappingRuleSet(IEnumerable<CorrelationRule> rules, TimeSpan regexTimeout)
    {
        _rules = rules.Where(r => r.IsActive && r.RuleType == CorrelationRule.FlappingType).OrderBy(r => r.Id)
            .Select(r => new Compiled(r, regexTimeout)).ToArray();
        InvalidRules = _rules.Where(r => r.Error is not null).Select(r => (r.Rule, r.Error!)).ToList();
    }

    public static FlappingRuleSet Empty { get; } = new([], TimeSpan.FromMilliseconds(50));

    public int Count => _rules.Length;
    public bool IsEmpty => _rules.Length == 0;
    public IReadOnlyList<(CorrelationRule Rule, string Error)> InvalidRules { get; }

    /// <summary>The first rule that sees the event as an opening or closing event, with its interface; null when none does.</summary>
    public FlapObservation? Observe(string? message, string? trapOid)
    {
        foreach (var rule in _rules)
        {
            if (rule.Observe(message, trapOid) is { } observation)
            {
                return observation;
            }
        }
        return null;
    }

    private sealed class Compiled
    {
        private readonly Regex? _open;
        private readonly Regex? _close;
        private readonly Regex? _interface;

        public Compiled(CorrelationRule rule, TimeSpan timeout)
        {
            Rule = rule;
            try
            {
                _open = Build(rule.OpenPattern, timeout);
                _close = Build(rule.ClosePattern, timeout);
                _interface = Build(string.IsNullOrWhiteSpace(rule.InterfacePattern) ? DefaultInterfacePattern : rule.InterfacePattern, timeout);
            }
            catch (ArgumentException ex)
            {
                Error = ex.Message;
            }
        }

        public CorrelationRule Rule { get; }
        public string? Error { get; }

        public FlapObservation? Observe(string? message, string? trapOid)
        {
            if (Error is not null)
            {
                return null;
            }
            try
            {
                // Closing first: "LINK-UP" must not be read as an opening event by a loose opening pattern.
                FlapKind? kind = Sees(_close, Rule.CloseTrapOid, message, trapOid) ? FlapKind.Close
                    : Sees(_open, Rule.OpenTrapOid, message, trapOid) ? FlapKind.Open : null;
                return kind is { } k ? new FlapObservation(Rule, Interface(message), k) : null;
            }
            catch (RegexMatchTimeoutException)
            {
                return null;
            }
        }

        private string Interface(string? message)
        {
            if (message is null || _interface is null || _interface.Match(message) is not { Success: true } match)
            {
                return NoInterface;
            }
            for (var g = 1; g < match.Groups.Count; g++)
            {
                if (match.Groups[g].Success && match.Groups[g].Length > 0)
                {
                    return match.Groups[g].Value;
                }
            }
            return match.Value;
        }

        private static bool Sees(Regex? pattern, string? oidPrefix, string? message, string? trapOid) =>
            (pattern is not null && message is not null && pattern.IsMatch(message))
            || (!string.IsNullOrEmpty(oidPrefix) && trapOid is not null && Oids.IsPrefix(oidPrefix, trapOid));

        private static Regex? Build(string? pattern, TimeSpan timeout) =>
            string.IsNullOrWhiteSpace(pattern) ? null : new Regex(pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant, timeout);
    }
}
