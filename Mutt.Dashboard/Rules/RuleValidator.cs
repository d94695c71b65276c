using System.Text;
using System.Text.RegularExpressions;
using Mutt.Core.Rules;

namespace Mutt.Dashboard.Rules;

/// <summary>
/// Spec 004 "Alert Rule" validation. Errors are keyed by the JSON field name so the API's
/// validation problem and the forms point at the same field.
/// </summary>
public static class RuleValidator
{
    public static readonly TimeSpan ProbeTimeout = TimeSpan.FromMilliseconds(100);

    public static Dictionary<string, string[]> Validate(AlertRule rule)
    {
        var errors = new Dictionary<string, string[]>();
        void Fail(string field, string message) => errors[field] = errors.TryGetValue(field, out var e) ? [.. e, message] : [message];

        if (!MatchTypes.All.Contains(rule.MatchType))
        {
            Fail("match_type", $"match_type must be one of: {string.Join(", ", MatchTypes.All)}.");
        }
        if (rule.Priority is < 1 or > 1000)
        {
            Fail("priority", "priority must be between 1 and 1000.");
        }
        if (!Handling.Prod.Contains(rule.ProdHandling))
        {
            Fail("prod_handling", $"prod_handling must be one of: {string.Join(", ", Handling.Prod)}.");
        }
        if (!Handling.Dev.Contains(rule.DevHandling))
        {
            Fail("dev_handling", $"dev_handling must be one of: {string.Join(", ", Handling.Dev)}.");
        }
        if (string.IsNullOrWhiteSpace(rule.TeamAssignment))
        {
            Fail("team_assignment", "team_assignment is required.");
        }
        if (rule.SyslogSeverity is < 0 or > 7)
        {
            Fail("syslog_severity", "syslog_severity must be between 0 and 7, or null.");
        }
        if (rule.DedupWindowSeconds is < 0 or > Mutt.Core.Configuration.DynamicConfigKeys.MaxDedupWindowSeconds)
        {
            Fail("dedup_window_seconds", $"dedup_window_seconds must be between 0 (off) and {Mutt.Core.Configuration.DynamicConfigKeys.MaxDedupWindowSeconds}, or null (the global dedup_window_seconds).");
        }
        if (rule.MatchSource is { } source && (source.Length > 128 || source.Trim().Length == 0))
        {
            Fail("match_source", "match_source is a source name of at most 128 characters, e.g. alertmanager, grafana or a mapping's name.");
        }
        if (rule.MatchLabels is { } labels && labels.Any(l => string.IsNullOrWhiteSpace(l.Key) || l.Value is null))
        {
            Fail("match_labels", "match_labels maps label names to the exact values they must have.");
        }
        switch (rule.MatchType)
        {
            case MatchTypes.Contains when string.IsNullOrEmpty(rule.MatchString) && !rule.HasEventFilter:
                Fail("match_string", "match_string is required for match_type contains (unless match_source or match_labels chooses the events).");
                break;
            case MatchTypes.Regex when string.IsNullOrEmpty(rule.MatchString):
                Fail("match_string", "match_string is required for match_type regex.");
                break;
            case MatchTypes.Regex:
                if (RegexProblem(rule.MatchString!) is { } problem)
                {
                    Fail("match_string", problem);
                }
                break;
            case MatchTypes.OidPrefix when string.IsNullOrWhiteSpace(rule.TrapOid) && string.IsNullOrWhiteSpace(rule.MatchString):
                Fail("trap_oid", "trap_oid (or match_string) is required for match_type oid_prefix.");
                break;
            case MatchTypes.OidPrefix when !IsOid(rule.TrapOid ?? rule.MatchString!):
                Fail(rule.TrapOid is null ? "match_string" : "trap_oid", "An OID prefix is dotted numbers, e.g. 1.3.6.1.4.1.9.");
                break;
        }
        return errors;
    }

    private static bool IsOid(string value) => Regex.IsMatch(value.Trim('.'), @"^\d+(\.\d+)*$", RegexOptions.None, ProbeTimeout);

    /// <summary>
    /// A rule's regex runs on every event, so a pattern that backtracks catastrophically would
    /// stall the Alerter (bounded only by the match timeout). Refused: patterns that do not
    /// compile, nested quantifiers like (a+)+ or (\w*)*, and any pattern that times out on
    /// adversarial inputs built from its own characters.
    /// </summary>
    public static string? RegexProblem(string pattern)
    {
        Regex regex;
        try
        {
            regex = new Regex(pattern, RegexOptions.CultureInvariant, ProbeTimeout);
        }
        catch (ArgumentException ex)
        {
            return "match_string is not a valid regular expression: " + ex.Message;
        }
        if (HasNestedQuantifier(pattern))
        {
            return "match_string has a nested quantifier (like (a+)+), which can backtrack catastrophically.";
        }
        foreach (var input in AdversarialInputs(pattern))
        {
            try
            {
                regex.IsMatch(input);
            }
            catch (RegexMatchTimeoutException)
            {
                return "match_string takes too long on adversarial input (catastrophic backtracking).";
            }
        }
        return null;
    }

    /// <summary>True when a group that contains a quantifier is itself quantified with +, * or {n,}.</summary>
    public static bool HasNestedQuantifier(string pattern)
    {
        var groupHasQuantifier = new Stack<bool>();
        var inClass = false;
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            if (c == '\\')
            {
                i++;
                continue;
            }
            if (inClass)
            {
                inClass = c != ']';
                continue;
            }
            switch (c)
            {
                case '[':
                    inClass = true;
                    break;
                case '(':
                    groupHasQuantifier.Push(false);
                    break;
                case ')':
                    if (groupHasQuantifier.Count == 0)
                    {
                        break;
                    }
                    var inner = groupHasQuantifier.Pop();
                    var quantified = IsUnboundedQuantifierAt(pattern, i + 1);
                    if (inner && quantified)
                    {
                        return true;
                    }
                    if ((inner || quantified) && groupHasQuantifier.Count > 0)
                    {
                        groupHasQuantifier.Push(groupHasQuantifier.Pop() | true);
                    }
                    break;
                case '+' or '*':
                    MarkQuantifier(groupHasQuantifier);
                    break;
                case '{' when IsUnboundedQuantifierAt(pattern, i):
                    MarkQuantifier(groupHasQuantifier);
                    break;
            }
        }
        return false;

        static void MarkQuantifier(Stack<bool> stack)
        {
            if (stack.Count > 0)
            {
                stack.Pop();
                stack.Push(true);
            }
        }
    }

    private static bool IsUnboundedQuantifierAt(string pattern, int i)
    {
        if (i >= pattern.Length)
        {
            return false;
        }
        if (pattern[i] is '+' or '*')
        {
            return true;
        }
        var m = Regex.Match(pattern[i..], @"^\{(\d+)(,(\d*))?\}", RegexOptions.None, ProbeTimeout);
        return m.Success && m.Groups[2].Success && (m.Groups[3].Value.Length == 0 || int.Parse(m.Groups[3].Value, System.Globalization.CultureInfo.InvariantCulture) > 10);
    }

    private static IEnumerable<string> AdversarialInputs(string pattern)
    {
        var chars = pattern.Where(char.IsLetterOrDigit).Distinct().Take(8).ToList();
        chars.AddRange(['a', '0', ' ', '-']);
        foreach (var c in chars.Distinct())
        {
            yield return new string(c, 3000) + "\u0001";
        }
        var literal = new StringBuilder();
        foreach (var c in pattern.Where(ch => char.IsLetterOrDigit(ch) || ch is ' ' or '-' or '_' or ':'))
        {
            literal.Append(c);
        }
        if (literal.Length > 0)
        {
            yield return string.Concat(Enumerable.Repeat(literal.ToString(), Math.Max(1, 3000 / literal.Length))) + "\u0001";
        }
    }
}
