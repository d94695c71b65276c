using System.Formats.Asn1;
using System.Globalization;
using System.Net;
using System.Numerics;
using System.Text;

namespace Mutt.Ingestor.Snmp;

/// <summary>
/// Decodes SNMPv1 Trap-PDUs and SNMPv2c Trap/Inform PDUs (RFC 1157, RFC 3416) with BER rules, and
/// encodes the Response PDU that acknowledges an Inform. Pure: bytes in, objects out. Anything else
/// (SNMPv3, get requests, garbage) is a <see cref="SnmpDecodeException"/>.
/// </summary>
public static class SnmpDecoder
{
    public const string SysUpTimeOid = "1.3.6.1.2.1.1.3.0";
    public const string SnmpTrapOid = "1.3.6.1.6.3.1.1.4.1.0";

    private static readonly Asn1Tag TrapV1 = new(TagClass.ContextSpecific, 4, isConstructed: true);
    private static readonly Asn1Tag Inform = new(TagClass.ContextSpecific, 6, isConstructed: true);
    private static readonly Asn1Tag TrapV2 = new(TagClass.ContextSpecific, 7, isConstructed: true);
    private static readonly Asn1Tag Response = new(TagClass.ContextSpecific, 2, isConstructed: true);
    private static readonly Asn1Tag IpAddress = new(TagClass.Application, 0);
    private static readonly Asn1Tag TimeTicks = new(TagClass.Application, 3);

    public static SnmpTrap Decode(ReadOnlyMemory<byte> datagram)
    {
        try
        {
            var outer = new AsnReader(datagram, AsnEncodingRules.BER);
            var message = outer.ReadSequence();
            var version = (int)message.ReadInteger();
            var community = Encoding.UTF8.GetString(message.ReadOctetString());
            var tag = message.PeekTag();
            if (version == 0 && tag == TrapV1)
            {
                return DecodeV1(message.ReadSequence(TrapV1), community);
            }
            if (version == 1 && (tag == TrapV2 || tag == Inform))
            {
                return DecodeV2(message.ReadSequence(tag), community, tag == Inform ? "inform" : "trap");
            }
            throw new SnmpDecodeException($"unsupported message: version {version}, PDU tag {tag.TagValue}");
        }
        catch (Exception ex) when (ex is AsnContentException or ArgumentException or InvalidOperationException or OverflowException)
        {
            throw new SnmpDecodeException("malformed BER: " + ex.Message);
        }
    }

    private static SnmpTrap DecodeV1(AsnReader pdu, string community)
    {
        var enterprise = pdu.ReadObjectIdentifier();
        var agent = new IPAddress(pdu.ReadOctetString(IpAddress)).ToString();
        var generic = (int)pdu.ReadInteger();
        var specific = (int)pdu.ReadInteger();
        var uptime = (long)pdu.ReadInteger(TimeTicks);
        var raw = pdu.PeekEncodedValue();
        var trap = new SnmpTrap
        {
            Version = "v1",
            Community = community,
            PduType = "trap",
            Enterprise = enterprise,
            AgentAddress = agent,
            GenericTrap = generic,
            SpecificTrap = specific,
            Uptime = uptime,
            RawVarbinds = raw.ToArray(),
            // RFC 3584 §3.1: generic traps 0-5 are snmpTraps.(generic+1); enterprise-specific is enterprise.0.specific.
            TrapOid = generic is >= 0 and <= 5 ? $"1.3.6.1.6.3.1.1.5.{generic + 1}" : $"{enterprise}.0.{specific}",
        };
        ReadVarbinds(pdu.ReadSequence(), trap.Varbinds);
        return trap;
    }

    private static SnmpTrap DecodeV2(AsnReader pdu, string community, string pduType)
    {
        var requestId = (int)pdu.ReadInteger();
        pdu.ReadInteger(); // error-status
        pdu.ReadInteger(); // error-index
        var raw = pdu.PeekEncodedValue();
        var trap = new SnmpTrap { Version = "v2c", Community = community, PduType = pduType, RequestId = requestId, RawVarbinds = raw.ToArray() };
        ReadVarbinds(pdu.ReadSequence(), trap.Varbinds);
        foreach (var varbind in trap.Varbinds)
        {
            if (varbind.Oid == SnmpTrapOid)
            {
                trap.TrapOid = varbind.Value;
            }
            else if (varbind.Oid == SysUpTimeOid && long.TryParse(varbind.Value, CultureInfo.InvariantCulture, out var ticks))
            {
                trap.Uptime = ticks;
            }
        }
        if (trap.TrapOid is null)
        {
            throw new SnmpDecodeException("SNMPv2 notification without snmpTrapOID.0");
        }
        return trap;
    }

    private static void ReadVarbinds(AsnReader list, List<SnmpVarbind> varbinds)
    {
        while (list.HasData)
        {
            var varbind = list.ReadSequence();
            var oid = varbind.ReadObjectIdentifier();
            var tag = varbind.PeekTag();
            varbinds.Add(ReadValue(oid, tag, varbind));
        }
    }

    private static SnmpVarbind ReadValue(string oid, Asn1Tag tag, AsnReader reader)
    {
        if (tag.TagClass == TagClass.Universal)
        {
            switch ((UniversalTagNumber)tag.TagValue)
            {
                case UniversalTagNumber.Integer:
                    return new(oid, "Integer32", reader.ReadInteger().ToString(CultureInfo.InvariantCulture));
                case UniversalTagNumber.OctetString:
                    return new(oid, "OctetString", OctetsToText(reader.ReadOctetString()));
                case UniversalTagNumber.Null:
                    reader.ReadNull();
                    return new(oid, "Null", "");
                case UniversalTagNumber.ObjectIdentifier:
                    return new(oid, "ObjectIdentifier", reader.ReadObjectIdentifier());
            }
        }
        else if (tag.TagClass == TagClass.Application)
        {
            switch (tag.TagValue)
            {
                case 0:
                    return new(oid, "IpAddress", new IPAddress(reader.ReadOctetString(tag)).ToString());
                case 1:
                    return new(oid, "Counter32", Unsigned(reader.ReadInteger(tag), 32));
                case 2:
                    return new(oid, "Gauge32", Unsigned(reader.ReadInteger(tag), 32));
                case 3:
                    return new(oid, "TimeTicks", Unsigned(reader.ReadInteger(tag), 32));
                case 4:
                    return new(oid, "Opaque", "0x" + Convert.ToHexString(reader.ReadOctetString(tag)));
                case 6:
                    return new(oid, "Counter64", Unsigned(reader.ReadInteger(tag), 64));
            }
        }
        else if (tag.TagClass == TagClass.ContextSpecific && tag.TagValue is >= 0 and <= 2)
        {
            reader.ReadNull(tag);
            return new(oid, tag.TagValue switch { 0 => "noSuchObject", 1 => "noSuchInstance", _ => "endOfMibView" }, "");
        }
        // Unknown type: keep its bytes rather than lose the varbind.
        return new(oid, $"Unknown({tag.TagClass}:{tag.TagValue})", "0x" + Convert.ToHexString(reader.ReadEncodedValue().Span));
    }

    /// <summary>Some agents encode large unsigned values as negative integers; read them modulo 2^bits.</summary>
    private static string Unsigned(BigInteger value, int bits) =>
        (value < 0 ? value + (BigInteger.One << bits) : value).ToString(CultureInfo.InvariantCulture);

    /// <summary>Printable UTF-8 as text; anything else (MAC addresses, binary) as 0x-hex.</summary>
    public static string OctetsToText(byte[] octets)
    {
        try
        {
            var text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(octets);
            foreach (var c in text)
            {
                if (char.IsControl(c) && c is not ('\n' or '\r' or '\t'))
                {
                    return "0x" + Convert.ToHexString(octets);
                }
            }
            return text;
        }
        catch (DecoderFallbackException)
        {
            return "0x" + Convert.ToHexString(octets);
        }
    }

    /// <summary>The Response PDU for an Inform: same version, community, request-id and varbinds; no error (RFC 3416 §4.2.7).</summary>
    public static byte[] EncodeInformResponse(SnmpTrap inform)
    {
        var writer = new AsnWriter(AsnEncodingRules.BER);
        using (writer.PushSequence())
        {
            writer.WriteInteger(1);
            writer.WriteOctetString(Encoding.UTF8.GetBytes(inform.Community));
            using (writer.PushSequence(Response))
            {
                writer.WriteInteger(inform.RequestId);
                writer.WriteInteger(0);
                writer.WriteInteger(0);
                writer.WriteEncodedValue(inform.RawVarbinds.Span);
            }
        }
        return writer.Encode();
    }
}

public sealed class SnmpDecodeException(string message) : Exception(message);
