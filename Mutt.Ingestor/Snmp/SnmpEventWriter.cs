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
    public static byte[] Write(SnmpTrap trap, string sender, DateTimeOffset receivedAt, string? traceParent = null, string? correlationId = null) =>
        Write(trap, sender, receivedAt, traceParent, correlationId, null, out _);

    /// <param name="limits">
    /// A summary (<c>message</c>) over MAX_MESSAGE_BYTES is cut there, with <c>parse_error</c> and
    /// <c>truncated</c> set; nothing of the trap is lost, every varbind is still in <c>varbinds</c>.
    /// The host is an IP address and the time the receive time, so no other limit can be broken.
    /// </param>
    /// <param name="parseError">Set when a limit was applied (the worker counts it).</param>
    public static byte[] Write(SnmpTrap trap, string sender, DateTimeOffset receivedAt, string? traceParent, string? correlationId, EventLimits? limits,
        out string? parseError)
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
        var message = summary.ToString();
        parseError = null;
        if (limits is not null && limits.MessageTooLarge(message))
        {
            parseError = "message " + limits.MessageError(message) + "; cut (every varbind is in varbinds)";
            message = limits.Cut(message);
        }
        var output = new ArrayBufferWriter<byte>(512);
        using (var json = new Utf8JsonWriter(output))
        {
            var received = EnvelopeWriter.FormatReceivedAt(receivedAt);
            json.WriteStartObject();
            EnvelopeWriter.WriteEventFields(json, received, message, agent, "snmp", trapOid: trap.TrapOid);
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
            if (parseError is not null)
            {
                json.WriteString("parse_error", parseError);
                json.WriteBoolean("truncated", true);
            }
            json.WriteEndObject();
        }
        return output.WrittenSpan.ToArray();
    }
}
