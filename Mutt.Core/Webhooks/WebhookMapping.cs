using System.Text.Json.Serialization;
using System.Text.RegularExpressions;

namespace Mutt.Core.Webhooks;

/// <summary>
/// A row of <c>webhook_mappings</c>: how a JSON source's body becomes MUTT events at
/// <c>POST /api/v2/ingest/mapped/{name}</c>. Paths are <see cref="JsonPath"/>s into one item of the body.
/// </summary>
public sealed record WebhookMapping
{
    [JsonPropertyName("name")] public string Name { get; init; } = "";
    [JsonPropertyName("description")] public string? Description { get; init; }
    [JsonPropertyName("hostname_path")] public string HostnamePath { get; init; } = "";
    [JsonPropertyName("message_path")] public string MessagePath { get; init; } = "";
    [JsonPropertyName("severity_path")] public string? SeverityPath { get; init; }
    /// <summary>The source's severity values (as text, matched exactly, then ignoring case) to syslog severities 0–7.</summary>
    [JsonPropertyName("severity_map")] public Dictionary<string, int> SeverityMap { get; init; } = [];
    [JsonPropertyName("timestamp_path")] public string? TimestampPath { get; init; }
    [JsonPropertyName("trap_oid_path")] public string? TrapOidPath { get; init; }
    [JsonPropertyName("stable_key_path")] public string? StableKeyPath { get; init; }
    [JsonPropertyName("labels_path")] public string? LabelsPath { get; init; }
    /// <summary>Where the item says whether it is firing or resolved; null: every item is an alert (no clears).</summary>
    [JsonPropertyName("status_path")] public string? StatusPath { get; init; }
    /// <summary>The values at <see cref="StatusPath"/> (matched ignoring case) that mean resolved; any other value is firing.</summary>
    [JsonPropertyName("resolved_values")] public List<string> ResolvedValues { get; init; } = [];
    [JsonPropertyName("is_active")] public bool IsActive { get; init; } = true;
}

/// <summary>What makes a mapping valid; the Dashboard refuses the rest with these messages keyed by field.</summary>
public static partial class WebhookMappingValidator
{
    /// <summary>Sources the Ingestor names itself; a mapping may not pretend to be one of them.</summary>
    public static readonly IReadOnlyList<string> ReservedNames = ["rest", "syslog", "snmp", "alertmanager", "grafana"];

    [GeneratedRegex("^[a-z0-9][a-z0-9_.-]{0,62}$")]
    private static partial Regex NamePattern();

    public static Dictionary<string, string[]> Validate(WebhookMapping mapping)
    {
        var errors = new Dictionary<string, string[]>();
        if (!NamePattern().IsMatch(mapping.Name ?? ""))
        {
            errors["name"] = ["name must be 1-63 of a-z, 0-9, '_', '.', '-', starting with a letter or digit (it is the URL segment and the events' source)."];
        }
        else if (ReservedNames.Contains(mapping.Name))
        {
            errors["name"] = [$"'{mapping.Name}' is a source MUTT names itself; choose another name."];
        }
        Path(errors, "hostname_path", mapping.HostnamePath, required: true);
        Path(errors, "message_path", mapping.MessagePath, required: true);
        Path(errors, "severity_path", mapping.SeverityPath, required: false);
        Path(errors, "timestamp_path", mapping.TimestampPath, required: false);
        Path(errors, "trap_oid_path", mapping.TrapOidPath, required: false);
        Path(errors, "stable_key_path", mapping.StableKeyPath, required: false);
        Path(errors, "labels_path", mapping.LabelsPath, required: false);
        Path(errors, "status_path", mapping.StatusPath, required: false);
        if (!string.IsNullOrWhiteSpace(mapping.StatusPath))
        {
            if (mapping.ResolvedValues is not { Count: > 0 } || mapping.ResolvedValues.Any(string.IsNullOrWhiteSpace))
            {
                errors["resolved_values"] = ["resolved_values lists the non-empty values at status_path that mean resolved (e.g. \"OK\", \"resolved\")."];
            }
            if (string.IsNullOrWhiteSpace(mapping.StableKeyPath))
            {
                // A clear finds its alert by the signature made of the stable key; without one it would clear nothing.
                errors["stable_key_path"] = ["stable_key_path is required when status_path is given: a resolved item clears the alert with the same stable key."];
            }
        }
        else if (mapping.ResolvedValues is { Count: > 0 })
        {
            errors["status_path"] = ["status_path is required when resolved_values are given."];
        }
        foreach (var (value, severity) in mapping.SeverityMap ?? [])
        {
            if (string.IsNullOrEmpty(value) || severity is < 0 or > 7)
            {
                errors["severity_map"] = ["severity_map maps non-empty source values to syslog severities 0-7."];
                break;
            }
        }
        if (mapping.SeverityMap is { Count: > 0 } && string.IsNullOrWhiteSpace(mapping.SeverityPath))
        {
            errors["severity_path"] = ["severity_path is required when a severity_map is given."];
        }
        return errors;
    }

    private static void Path(Dictionary<string, string[]> errors, string field, string? path, bool required)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            if (required)
            {
                errors[field] = [$"{field} is required."];
            }
            return;
        }
        if (!JsonPath.TryParse(path, out _, out var error))
        {
            errors[field] = [$"{field} {error}."];
        }
    }
}
