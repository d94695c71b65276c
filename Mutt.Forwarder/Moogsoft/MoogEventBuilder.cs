using System.Security.Cryptography;
using System.Text;
using Mutt.Core.Events;
using Mutt.Core.Rules;

namespace Mutt.Forwarder.Moogsoft;

/// <summary>
/// Turns an alert-queue item into a Moogsoft event. Pure: the same <see cref="AlertMessage"/>
/// always yields the same event, so a replayed alert deduplicates in Moogsoft by signature.
/// </summary>
public static class MoogEventBuilder
{
    public const string Manager = "MUTT";
    public const string Agent = "MUTT";

    /// <summary>
    /// Moogsoft severity (0 clear, 1 indeterminate, 2 warning, 3 minor, 4 major, 5 critical) from
    /// the syslog severity (0 emerg … 7 debug), raised to at least major for pages.
    /// </summary>
    public static int Severity(int? syslogSeverity, string handling)
    {
        var severity = syslogSeverity switch
        {
            0 or 1 or 2 => 5,
            3 => 4,
            4 => 3,
            5 or 6 => 2,
            7 => 1,
            _ => 1,
        };
        // A rule that pages somebody says "this is major" whatever the device thought.
        if (handling == Handling.PageAndTicket && severity < 4)
        {
            severity = 4;
        }
        return severity;
    }

    /// <summary>Moogsoft's clear severity: sent for a resolved webhook alert, whatever the rule's handling.</summary>
    public const int ClearSeverity = 0;

    /// <summary>
    /// The signature identifies one alert: "mutt:" + the first 32 hex digits of
    /// SHA-256(correlation_id | hostname | rule id or trap OID | team). The correlation id makes
    /// it unique per alert; everything in it travels unchanged through retries, DLQ replays and
    /// janitor reclaims, so a redelivered alert lands on the same Moogsoft event.
    /// An alert with a stable key (a webhook source's own identity of the alert, such as
    /// Alertmanager's fingerprint) is signed by that key alone: its repeat notifications and its
    /// clear land on the same Moogsoft alert, whatever rule or team handled each of them.
    /// </summary>
    public static string Signature(AlertMessage alert)
    {
        var text = alert.StableKey is { Length: > 0 } stable
            ? "stable|" + stable
            : $"{alert.CorrelationId}|{alert.Hostname}|{alert.RuleId?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? alert.TrapOid ?? ""}|{alert.Team}";
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(text), hash);
        return "mutt:" + Convert.ToHexStringLower(hash[..16]);
    }

    public static MoogEvent Build(AlertMessage alert, string agentLocation)
    {
        var source = string.IsNullOrWhiteSpace(alert.Hostname) ? "unknown" : alert.Hostname;
        var type = alert.MetaAlert ? "MUTT_META" : alert.Flapping is not null ? "MUTT_FLAPPING" : alert.TrapOid is not null ? "SNMP_TRAP" : "SYSLOG";
        // A clear carries severity 0 and the signature of the Flapping alert it clears.
        // A resolved webhook alert is a clear too, under its firing alert's (stable-key) signature.
        var severity = alert.Flapping == FlappingStates.Cleared || alert.Clear ? ClearSeverity : Severity(alert.SyslogSeverity, alert.Handling);
        var agentTime = alert.ClearedAtMs is { } clearedAt ? clearedAt / 1000
            : alert.EventTimestamp == default ? 0 : alert.EventTimestamp.ToUnixTimeSeconds();
        return new MoogEvent
        {
            Signature = Signature(alert),
            SourceId = source,
            ExternalId = alert.CorrelationId,
            Manager = Manager,
            Source = source,
            Class = alert.MetaAlert ? "mutt_unhandled" : string.IsNullOrEmpty(alert.Team) ? "unassigned" : alert.Team,
            Agent = Agent,
            AgentLocation = agentLocation,
            Type = type,
            Severity = severity,
            Description = alert.Message,
            AgentTime = agentTime,
            CustomInfo = new MoogCustomInfo
            {
                Team = alert.Team,
                Handling = alert.Handling,
                RuleId = alert.RuleId,
                CorrelationId = alert.CorrelationId,
                Environment = alert.Environment,
                SyslogSeverity = alert.SyslogSeverity,
                TrapOid = alert.TrapOid,
                StableKey = alert.StableKey,
                RepeatCount = alert.RepeatCount,
                Flapping = alert.Flapping,
                TransitionCount = alert.TransitionCount,
                CorrelationRuleId = alert.CorrelationRuleId,
                Interface = alert.Interface,
            },
        };
    }
}
