namespace Mutt.Ingestor.Snmp;

public sealed record SnmpVarbind(string Oid, string Type, string Value);

/// <summary>A decoded SNMP notification. The community is kept only to check the allow-list; it is never written out or logged.</summary>
public sealed class SnmpTrap
{
    /// <summary>"v1" or "v2c".</summary>
    public string Version { get; init; } = "";
    public string Community { get; init; } = "";
    /// <summary>"trap" (v1 Trap-PDU or SNMPv2-Trap-PDU) or "inform".</summary>
    public string PduType { get; init; } = "";
    public int RequestId { get; init; }
    public string? TrapOid { get; set; }
    public string? AgentAddress { get; init; }
    public long? Uptime { get; set; }
    public string? Enterprise { get; init; }
    public int? GenericTrap { get; init; }
    public int? SpecificTrap { get; init; }
    public List<SnmpVarbind> Varbinds { get; } = [];
    /// <summary>The PDU's variable-bindings exactly as received, echoed in the Inform response.</summary>
    public ReadOnlyMemory<byte> RawVarbinds { get; init; }
}
