using System.Formats.Asn1;
using System.Text.Json;
using Mutt.Core.Events;
using Mutt.Ingestor.Snmp;

namespace Mutt.Tests.Unit;

/// <summary>Datagrams captured from net-snmp 5.9 (snmptrap / snmpinform) on this machine.</summary>
[Trait("Category", "Unit")]
public sealed class SnmpDecoderTests
{
    // snmptrap -v 1 -c public HOST 1.3.6.1.4.1.8072.2.3 10.1.2.3 6 17 12345 1.3.6.1.2.1.2.2.1.1.2 i 2 1.3.6.1.2.1.2.2.1.2.2 s "eth0 down"
    internal const string V1Trap = "305402010004067075626c6963a44706092b06010401bf08020340040a01020302010602011143023039302a300f060a2b0601020102020101020201023017060a2b06010201020201020204096574683020646f776e";
    // snmptrap -v 2c -c public HOST 4242 1.3.6.1.6.3.1.1.5.3 ifIndex.2 i 2 ifDescr.2 s "GigabitEthernet0/1" ipAdEntAddr a 10.0.0.1 ifInOctets.2 c 4294967295
    private const string V2Trap = "3081a502010104067075626c6963a7819702047b22a774020100020100308188300e06082b06010201010300430210923017060a2b06010603010104010006092b0601060301010503300f060a2b0601020102020101020201023020060a2b06010201020201020204124769676162697445746865726e6574302f313015060d2b06010201041401010a00000140040a0000013013060a2b060102010202010a02410500ffffffff";
    // snmpinform -v 2c -c public HOST 777 1.3.6.1.4.1.8072.2.3.0.1 1.3.6.1.4.1.8072.2.3.2.1 i 5
    private const string Inform = "305802010104067075626c6963a64b020439139d64020100020100303d300e06082b06010201010300430203093019060a2b060106030101040100060b2b06010401bf08020300013010060b2b06010401bf0802030201020105";

    [Fact]
    public void Decodes_v1_trap_with_rfc3584_trap_oid()
    {
        var trap = SnmpDecoder.Decode(Convert.FromHexString(V1Trap));
        Assert.Equal("v1", trap.Version);
        Assert.Equal("public", trap.Community);
        Assert.Equal("1.3.6.1.4.1.8072.2.3", trap.Enterprise);
        Assert.Equal("10.1.2.3", trap.AgentAddress);
        Assert.Equal(6, trap.GenericTrap);
        Assert.Equal(17, trap.SpecificTrap);
        Assert.Equal(12345, trap.Uptime);
        Assert.Equal("1.3.6.1.4.1.8072.2.3.0.17", trap.TrapOid);
        Assert.Equal([new SnmpVarbind("1.3.6.1.2.1.2.2.1.1.2", "Integer32", "2"), new SnmpVarbind("1.3.6.1.2.1.2.2.1.2.2", "OctetString", "eth0 down")], trap.Varbinds);
    }

    [Theory]
    [InlineData(0, "1.3.6.1.6.3.1.1.5.1")] // coldStart
    [InlineData(2, "1.3.6.1.6.3.1.1.5.3")] // linkDown
    [InlineData(5, "1.3.6.1.6.3.1.1.5.6")] // egpNeighborLoss
    public void Generic_v1_traps_map_to_snmpTraps_oids(int generic, string expected)
    {
        var writer = new AsnWriter(AsnEncodingRules.BER);
        using (writer.PushSequence())
        {
            writer.WriteInteger(0);
            writer.WriteOctetString("public"u8);
            using (writer.PushSequence(new Asn1Tag(TagClass.ContextSpecific, 4, true)))
            {
                writer.WriteObjectIdentifier("1.3.6.1.4.1.9");
                writer.WriteOctetString([192, 0, 2, 1], new Asn1Tag(TagClass.Application, 0));
                writer.WriteInteger(generic);
                writer.WriteInteger(0);
                writer.WriteInteger(99, new Asn1Tag(TagClass.Application, 3));
                writer.PushSequence().Dispose();
            }
        }
        Assert.Equal(expected, SnmpDecoder.Decode(writer.Encode()).TrapOid);
    }

    [Fact]
    public void Decodes_v2c_trap_with_typed_varbinds()
    {
        var trap = SnmpDecoder.Decode(Convert.FromHexString(V2Trap));
        Assert.Equal("v2c", trap.Version);
        Assert.Equal("trap", trap.PduType);
        Assert.Equal("1.3.6.1.6.3.1.1.5.3", trap.TrapOid);
        Assert.Equal(4242, trap.Uptime);
        Assert.Contains(new SnmpVarbind("1.3.6.1.2.1.2.2.1.2.2", "OctetString", "GigabitEthernet0/1"), trap.Varbinds);
        Assert.Contains(new SnmpVarbind("1.3.6.1.2.1.4.20.1.1.10.0.0.1", "IpAddress", "10.0.0.1"), trap.Varbinds);
        Assert.Contains(new SnmpVarbind("1.3.6.1.2.1.2.2.1.10.2", "Counter32", "4294967295"), trap.Varbinds);
        Assert.Contains(new SnmpVarbind(SnmpDecoder.SysUpTimeOid, "TimeTicks", "4242"), trap.Varbinds);
    }

    [Fact]
    public void Inform_response_echoes_request_id_and_varbinds()
    {
        var inform = SnmpDecoder.Decode(Convert.FromHexString(Inform));
        Assert.Equal("inform", inform.PduType);
        Assert.Equal("1.3.6.1.4.1.8072.2.3.0.1", inform.TrapOid);

        var reader = new AsnReader(SnmpDecoder.EncodeInformResponse(inform), AsnEncodingRules.BER).ReadSequence();
        Assert.Equal(1, (int)reader.ReadInteger());
        Assert.Equal("public"u8.ToArray(), reader.ReadOctetString());
        var pdu = reader.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 2, true));
        Assert.Equal(inform.RequestId, (int)pdu.ReadInteger());
        Assert.Equal(0, (int)pdu.ReadInteger());
        Assert.Equal(0, (int)pdu.ReadInteger());
        Assert.Equal(inform.RawVarbinds.ToArray(), pdu.ReadEncodedValue().ToArray());
    }

    [Theory]
    [InlineData("")]
    [InlineData("00")]
    [InlineData("3003020100")] // truncated message
    [InlineData("deadbeefdeadbeef")]
    [InlineData("302602010104067075626c6963a01902047b22a774020100020100300b300906052b060102010500")] // v2c GetRequest
    public void Garbage_and_non_notifications_are_decode_errors(string hex)
    {
        Assert.Throws<SnmpDecodeException>(() => SnmpDecoder.Decode(Convert.FromHexString(hex)));
    }

    [Fact]
    public void Event_json_has_varbinds_and_never_the_community()
    {
        var trap = SnmpDecoder.Decode(Convert.FromHexString(V1Trap));
        var json = SnmpEventWriter.Write(trap, "127.0.0.1", DateTimeOffset.UtcNow);
        Assert.DoesNotContain("public", System.Text.Encoding.UTF8.GetString(json));

        var evt = JsonSerializer.Deserialize(json, MuttJsonContext.Default.MuttEvent)!;
        Assert.Equal("snmp", evt.Source);
        Assert.Equal("1.3.6.1.4.1.8072.2.3.0.17", evt.TrapOid);
        Assert.Equal("10.1.2.3", evt.Hostname);
        Assert.Equal("10.1.2.3", evt.Extra!["agent_address"].GetString());
        Assert.Equal("127.0.0.1", evt.Extra["sender"].GetString());
        Assert.Equal(12345, evt.Extra["uptime"].GetInt64());
        Assert.Equal("v1", evt.Extra["snmp_version"].GetString());
        var varbinds = evt.Extra["varbinds"].EnumerateArray().ToList();
        Assert.Equal(2, varbinds.Count);
        Assert.Equal("eth0 down", varbinds[1].GetProperty("value").GetString());
        Assert.Equal("OctetString", varbinds[1].GetProperty("type").GetString());
    }
}
