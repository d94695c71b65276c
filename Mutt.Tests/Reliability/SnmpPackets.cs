using System.Text;

namespace Mutt.Tests.Reliability;

/// <summary>
/// A tiny BER writer for SNMP traps, by hand on purpose: the bad-input generator needs to write
/// lengths and tags that a correct encoder (System.Formats.Asn1) refuses to produce.
/// </summary>
public static class SnmpPackets
{
    public const byte TagInteger = 0x02, TagOctetString = 0x04, TagNull = 0x05, TagOid = 0x06, TagSequence = 0x30;
    public const byte TagIpAddress = 0x40, TagTimeTicks = 0x43;
    public const byte PduTrapV1 = 0xA4, PduTrapV2 = 0xA7, PduInform = 0xA6;

    public static byte[] Length(int length)
    {
        if (length < 0x80)
        {
            return [(byte)length];
        }
        var bytes = new List<byte>();
        for (var v = length; v > 0; v >>= 8)
        {
            bytes.Insert(0, (byte)(v & 0xFF));
        }
        return [(byte)(0x80 | bytes.Count), .. bytes];
    }

    public static byte[] Tlv(byte tag, byte[] content) => [tag, .. Length(content.Length), .. content];

    public static byte[] Tlv(byte tag, params byte[][] children) => Tlv(tag, children.SelectMany(c => c).ToArray());

    /// <summary>A TLV whose length field is <paramref name="lengthField"/> verbatim (possibly a lie).</summary>
    public static byte[] TlvWithLength(byte tag, byte[] lengthField, byte[] content) => [tag, .. lengthField, .. content];

    public static byte[] Integer(long value, byte tag = TagInteger)
    {
        var bytes = BitConverter.GetBytes(value).Reverse().ToList();
        while (bytes.Count > 1 && ((bytes[0] == 0x00 && (bytes[1] & 0x80) == 0) || (bytes[0] == 0xFF && (bytes[1] & 0x80) != 0)))
        {
            bytes.RemoveAt(0);
        }
        return Tlv(tag, bytes.ToArray());
    }

    public static byte[] OctetString(string text) => Tlv(TagOctetString, Encoding.UTF8.GetBytes(text));

    public static byte[] Oid(string dotted)
    {
        var arcs = dotted.Split('.').Select(long.Parse).ToArray();
        var content = new List<byte> { (byte)(arcs[0] * 40 + arcs[1]) };
        foreach (var arc in arcs.Skip(2))
        {
            var chunk = new List<byte> { (byte)(arc & 0x7F) };
            for (var v = arc >> 7; v > 0; v >>= 7)
            {
                chunk.Insert(0, (byte)(0x80 | (v & 0x7F)));
            }
            content.AddRange(chunk);
        }
        return Tlv(TagOid, content.ToArray());
    }

    public static byte[] VarBind(string oid, byte[] value) => Tlv(TagSequence, Oid(oid), value);

    public static byte[] VarBindsV2(Random random, string trapOid) => Tlv(TagSequence,
        VarBind("1.3.6.1.2.1.1.3.0", Integer(random.Next(0, int.MaxValue), TagTimeTicks)),
        VarBind("1.3.6.1.6.3.1.1.4.1.0", Oid(trapOid)),
        VarBind("1.3.6.1.2.1.2.2.1.1." + random.Next(1, 48), Integer(random.Next(1, 48))),
        VarBind("1.3.6.1.4.1.9.9.41.1.2.3.1.5." + random.Next(1, 9), OctetString("link down on Gi0/" + random.Next(1, 48))));

    /// <summary>A well-formed SNMPv2c Trap (or Inform) that the Ingestor would accept.</summary>
    public static byte[] V2Trap(Random random, string community = "public", long version = 1, byte pduTag = PduTrapV2) =>
        Tlv(TagSequence,
            Integer(version),
            OctetString(community),
            Tlv(pduTag,
                Integer(random.Next()),
                Integer(0),
                Integer(0),
                VarBindsV2(random, "1.3.6.1.6.3.1.1.5." + random.Next(1, 6))));

    /// <summary>A well-formed SNMPv1 Trap-PDU.</summary>
    public static byte[] V1Trap(Random random, string community = "public") =>
        Tlv(TagSequence,
            Integer(0),
            OctetString(community),
            Tlv(PduTrapV1,
                Oid("1.3.6.1.4.1.8072.2.3.1"),
                Tlv(TagIpAddress, [127, 0, 0, (byte)random.Next(1, 255)]),
                Integer(random.Next(0, 7)),
                Integer(random.Next(0, 100)),
                Integer(random.Next(0, int.MaxValue), TagTimeTicks),
                Tlv(TagSequence, VarBind("1.3.6.1.2.1.2.2.1.1.3", Integer(3)))));
}
