using System.Text.RegularExpressions;
using Mutt.Core.Noise;
using Mutt.Core.Rules;

namespace Mutt.Dashboard.Rules;

/// <summary>
/// Validation of maintenance windows and correlation rules. Errors are keyed by the JSON field name,
/// as <see cref="RuleValidator"/>'s, so the API's validation problem and the forms name the same field.
/// </summary>
public static class NoiseRuleValidator
{
    public const int MaxHosts = 1000;
    public static readonly TimeSpan MaxWindowLength = TimeSpan.FromDays(366);

    public static Dictionary<string, string[]> Validate(MaintenanceWindow window, DateTimeOffset now, bool creating)
    {
        var errors = new Dictionary<string, string[]>();
        void Fail(string field, string message) => errors[field] = errors.TryGetValue(field, out var e) ? [.. e, message] : [message];

        if (window.Hosts.Count == 0)
        {
            Fail("hosts", "hosts needs at least one host name or pattern (e.g. core-r1, core-*).");
        }
        else if (window.Hosts.Count > MaxHosts)
        {
            Fail("hosts", $"hosts may name at most {MaxHosts} hosts or patterns.");
        }
        foreach (var host in window.Hosts)
        {
            if (host.Length is 0 or > 253 || !Regex.IsMatch(host, @"^[A-Za-z0-9_.:*?-]+$", RegexOptions.None, RuleValidator.ProbeTimeout))
            {
                Fail("hosts", $"'{Shorten(host)}' is not a host name or pattern (letters, digits, - . _ : and the wildcards * ?; at most 253 characters).");
            }
        }
        if (window.EndsAt <= window.StartsAt)
        {
            Fail("ends_at", "ends_at must be after starts_at.");
        }
        else if (window.EndsAt - window.StartsAt > MaxWindowLength)
        {
            Fail("ends_at", "a maintenance window may last at most 366 days.");
        }
        if (creating && window.EndsAt <= now)
        {
            Fail("ends_at", "ends_at must be in the future.");
        }
        if (string.IsNullOrWhiteSpace(window.Reason))
        {
            Fail("reason", "reason is required (why the window exists: the change ticket, the work).");
        }
        else if (window.Reason.Length > 2000)
        {
            Fail("reason", "reason may be at most 2000 characters.");
        }
        if (window.Team is { Length: > 200 })
        {
            Fail("team", "team may be at most 200 characters.");
        }
        if (window.RuleId is < 1)
        {
            Fail("rule_id", "rule_id must name an alert rule (a positive id), or be null for every rule.");
        }
        return errors;
    }

    public static Dictionary<string, string[]> Validate(CorrelationRule rule)
    {
        var errors = new Dictionary<string, string[]>();
        void Fail(string field, string message) => errors[field] = errors.TryGetValue(field, out var e) ? [.. e, message] : [message];

        if (string.IsNullOrWhiteSpace(rule.Name))
        {
            Fail("name", "name is required.");
        }
        if (rule.RuleType != CorrelationRule.FlappingType)
        {
            Fail("rule_type", $"rule_type must be '{CorrelationRule.FlappingType}'.");
        }
        if (string.IsNullOrEmpty(rule.OpenPattern) && string.IsNullOrWhiteSpace(rule.OpenTrapOid))
        {
            Fail("open_pattern", "an opening event needs open_pattern (a regex on the message, e.g. LINK-DOWN) or open_trap_oid (e.g. 1.3.6.1.6.3.1.1.5.3, linkDown).");
        }
        if (string.IsNullOrEmpty(rule.ClosePattern) && string.IsNullOrWhiteSpace(rule.CloseTrapOid))
        {
            Fail("close_pattern", "a closing event needs close_pattern (e.g. LINK-UP) or close_trap_oid (e.g. 1.3.6.1.6.3.1.1.5.4, linkUp).");
        }
        foreach (var (field, pattern) in new[] { ("open_pattern", rule.OpenPattern), ("close_pattern", rule.ClosePattern), ("interface_pattern", rule.InterfacePattern) })
        {
            if (!string.IsNullOrEmpty(pattern) && RuleValidator.RegexProblem(pattern) is { } problem)
            {
                Fail(field, problem);
            }
        }
        foreach (var (field, oid) in new[] { ("open_trap_oid", rule.OpenTrapOid), ("close_trap_oid", rule.CloseTrapOid) })
        {
            if (!string.IsNullOrWhiteSpace(oid) && !Regex.IsMatch(oid.Trim('.'), @"^\d+(\.\d+)*$", RegexOptions.None, RuleValidator.ProbeTimeout))
            {
                Fail(field, $"{field} must be a numeric OID such as 1.3.6.1.6.3.1.1.5.3.");
            }
        }
        if (rule.WindowSeconds is < 1 or > 86400)
        {
            Fail("window_seconds", "window_seconds must be between 1 and 86400.");
        }
        if (rule.Threshold is < 2 or > 10000)
        {
            Fail("threshold", "threshold must be between 2 and 10000 transitions.");
        }
        if (!Handling.IsForwarded(rule.Handling))
        {
            Fail("handling", $"handling must be one of: {Handling.PageAndTicket}, {Handling.TicketOnly}, {Handling.EmailOnly}.");
        }
        if (string.IsNullOrWhiteSpace(rule.TeamAssignment))
        {
            Fail("team_assignment", "team_assignment is required.");
        }
        return errors;
    }

    private static string Shorten(string s) => s.Length <= 40 ? s : s[..40] + "…";
}
