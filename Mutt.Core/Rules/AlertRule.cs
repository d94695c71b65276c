using System.Text.Json.Serialization;

namespace Mutt.Core.Rules;

/// <summary>A row of <c>alert_rules</c> (spec 004 "Alert Rule").</summary>
public sealed record AlertRule
{
    [JsonPropertyName("id")] public int Id { get; init; }
    [JsonPropertyName("match_string")] public string? MatchString { get; init; }
    [JsonPropertyName("trap_oid")] public string? TrapOid { get; init; }
    [JsonPropertyName("syslog_severity")] public int? SyslogSeverity { get; init; }
    [JsonPropertyName("match_type")] public string MatchType { get; init; } = MatchTypes.Contains;
    [JsonPropertyName("priority")] public int Priority { get; init; } = 100;
    [JsonPropertyName("prod_handling")] public string ProdHandling { get; init; } = Handling.TicketOnly;
    [JsonPropertyName("dev_handling")] public string DevHandling { get; init; } = Handling.LogOnly;
    [JsonPropertyName("team_assignment")] public string TeamAssignment { get; init; } = "";
    [JsonPropertyName("is_active")] public bool IsActive { get; init; } = true;
    /// <summary>Deduplication window of this rule's events in seconds: null = the dynamic key dedup_window_seconds, 0 = off.</summary>
    [JsonPropertyName("dedup_window_seconds")] public int? DedupWindowSeconds { get; init; }
    /// <summary>When set, only events whose <c>source</c> equals it (ignoring case): <c>alertmanager</c>, <c>grafana</c>, a mapping's name, <c>syslog</c>, ...</summary>
    [JsonPropertyName("match_source")] public string? MatchSource { get; init; }
    /// <summary>When set, only events whose kept <c>labels</c> hold every one of these with exactly this value.</summary>
    [JsonPropertyName("match_labels")] public IReadOnlyDictionary<string, string>? MatchLabels { get; init; }

    /// <summary>A rule that narrows by source or labels may leave match_string empty (contains): it then takes every message.</summary>
    [JsonIgnore] public bool HasEventFilter => !string.IsNullOrEmpty(MatchSource) || MatchLabels is { Count: > 0 };
}

public static class MatchTypes
{
    public const string Contains = "contains";
    public const string Regex = "regex";
    public const string OidPrefix = "oid_prefix";
    public static readonly IReadOnlyList<string> All = [Contains, Regex, OidPrefix];
}

/// <summary>Handling decisions (spec 004). <c>Suppress</c> and <c>Log_only</c> are audited but never forwarded.</summary>
public static class Handling
{
    public const string PageAndTicket = "Page_and_ticket";
    public const string TicketOnly = "Ticket_only";
    public const string EmailOnly = "Email_only";
    public const string LogOnly = "Log_only";
    public const string Suppress = "Suppress";
    /// <summary>The audit decision for an event no rule matched.</summary>
    public const string Unhandled = "unhandled";
    /// <summary>A repeat of an event already forwarded in its deduplication window (audited with its repeat number).</summary>
    public const string Deduplicated = "Deduplicated";
    /// <summary>A transition of a flapping interface (audited with the transition count; one Flapping alert is forwarded).</summary>
    public const string Flapping = "Flapping";
    /// <summary>An event received inside a maintenance window (audited with the window id).</summary>
    public const string SuppressedMaintenance = "Suppressed_maintenance";

    /// <summary>Every decision the audit trail can hold, for filters.</summary>
    public static readonly IReadOnlyList<string> AuditDecisions =
        [PageAndTicket, TicketOnly, EmailOnly, LogOnly, Suppress, Unhandled, Deduplicated, Flapping, SuppressedMaintenance];

    public static readonly IReadOnlyList<string> Prod = [PageAndTicket, TicketOnly, EmailOnly, LogOnly];
    public static readonly IReadOnlyList<string> Dev = [TicketOnly, EmailOnly, LogOnly, Suppress];

    public static bool IsForwarded(string handling) => handling is PageAndTicket or TicketOnly or EmailOnly;
}
