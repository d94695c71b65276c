using System.Text.Json.Serialization;

namespace Mutt.Forwarder.Moogsoft;

/// <summary>One event of a Moogsoft REST/Webhook LAM request (<c>{"events":[...]}</c>).</summary>
public sealed class MoogEvent
{
    [JsonPropertyName("signature")] public string Signature { get; set; } = "";
    [JsonPropertyName("source_id")] public string SourceId { get; set; } = "";
    [JsonPropertyName("external_id")] public string ExternalId { get; set; } = "";
    [JsonPropertyName("manager")] public string Manager { get; set; } = "MUTT";
    [JsonPropertyName("source")] public string Source { get; set; } = "";
    [JsonPropertyName("class")] public string Class { get; set; } = "";
    [JsonPropertyName("agent")] public string Agent { get; set; } = "MUTT";
    [JsonPropertyName("agent_location")] public string AgentLocation { get; set; } = "";
    [JsonPropertyName("type")] public string Type { get; set; } = "";
    [JsonPropertyName("severity")] public int Severity { get; set; }
    [JsonPropertyName("description")] public string Description { get; set; } = "";
    [JsonPropertyName("agent_time")] public long AgentTime { get; set; }
    [JsonPropertyName("custom_info")] public MoogCustomInfo CustomInfo { get; set; } = new();
}

public sealed class MoogCustomInfo
{
    [JsonPropertyName("team")] public string Team { get; set; } = "";
    [JsonPropertyName("handling")] public string Handling { get; set; } = "";
    [JsonPropertyName("rule_id")] public int? RuleId { get; set; }
    [JsonPropertyName("correlation_id")] public string CorrelationId { get; set; } = "";
    [JsonPropertyName("environment")] public string Environment { get; set; } = "";
    [JsonPropertyName("syslog_severity")] public int? SyslogSeverity { get; set; }
    [JsonPropertyName("trap_oid")] public string? TrapOid { get; set; }
    [JsonPropertyName("stable_key")] public string? StableKey { get; set; }
    /// <summary>Repeats deduplicated in the window before this event (spec: carried on the next forward).</summary>
    [JsonPropertyName("repeat_count")] public long? RepeatCount { get; set; }
    [JsonPropertyName("flapping")] public string? Flapping { get; set; }
    [JsonPropertyName("transition_count")] public long? TransitionCount { get; set; }
    [JsonPropertyName("correlation_rule_id")] public int? CorrelationRuleId { get; set; }
    [JsonPropertyName("interface")] public string? Interface { get; set; }
}

public sealed class MoogRequest
{
    [JsonPropertyName("events")] public List<MoogEvent> Events { get; set; } = [];
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(MoogRequest))]
[JsonSerializable(typeof(MoogEvent))]
public sealed partial class MoogJsonContext : JsonSerializerContext;
