using System.Buffers;
using System.Text;
using System.Text.Json;
using Mutt.Core.Events;

namespace Mutt.Ingestor.Snmp;

/// <summary>Builds the ingest-queue item for a trap: spec 004 fields, every varbind, and never the community. Pure.</summary>
public static class SnmpEventWriter
{
    /// <param name="traceParent">The listener span's W3C traceparent (null: not traced, no field).</param>
    /// <param name="correlationId">A stable id (an inform's, derived from its datagram so a retransmission maps to the same audit row); null: a new GUID.</param>
    public static byte[] Write(SnmpTrap trap, string sender, DateTimeOffset receivedAt, string? traceParent = null, string? correlationId = null)
    {
        var agent = trap.AgentAddress is { } address && address != "0.0.0.0" ? address : sender;
        var summary = new StringBuilder($"SNMP {trap.PduType} {trap.TrapOid} from {agent}");
        foreach (var varbind in trap.Varbinds)
        {
            if (varbind.Oid is not (SnmpDecoder.SysUpTimeOid or SnmpDecoder.SnmpTrapOid))
            {
                summary.Append(' ').Append(varbind.Oid).Append('=').Append(varbind.Value);
            }
        }
        var output = new ArrayBufferWriter<byte>(512);
        using (var json = new Utf8JsonWriter(output))
        {
            var received = EnvelopeWriter.FormatReceivedAt(receivedAt);
            json.WriteStartObject();
            EnvelopeWriter.WriteEventFields(json, received, summary.ToString(), agent, "snmp", trapOid: trap.TrapOid);
            EnvelopeWriter.WriteEnvelope(json, correlationId ?? Guid.NewGuid().ToString(), received, traceParent);
            json.WriteString("snmp_version", trap.Version);
            json.WriteString("pdu_type", trap.PduType);
            json.WriteString("sender", sender);
            json.WriteString("agent_address", agent);
            if (trap.Uptime is { } uptime)
            {
                json.WriteNumber("uptime", uptime);
            }
            if (trap.Enterprise is { } enterprise)
            {
                json.WriteString("enterprise", enterprise);
                json.WriteNumber("generic_trap", trap.GenericTrap ?? 0);
                json.WriteNumber("specific_trap", trap.SpecificTrap ?? 0);
            }
            json.WriteStartArray("varbinds");
            foreach (var varbind in trap.Varbinds)
            {
                json.WriteStartObject();
                json.WriteString("oid", varbind.Oid);
                json.WriteString("type", varbind.Type);
                json.WriteString("value", varbind.Value);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        return output.WrittenSpan.ToArray();
    }
}
