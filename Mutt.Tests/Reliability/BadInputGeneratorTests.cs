using System.Formats.Asn1;
using System.Numerics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Mutt.Tests.Reliability;

[Trait("Category", "Unit")]
public sealed class BadInputGeneratorTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static readonly BadInputOptions Options = new();
    private static readonly Lazy<List<BadInputCase>> Cases = new(() => new BadInputGenerator(Options).Generate().ToList());

    [Fact]
    public void Same_seed_gives_the_same_cases_and_another_seed_differs()
    {
        var a = Fingerprint(BadInputGenerator.Generate(7));
        var b = Fingerprint(BadInputGenerator.Generate(7));
        var c = Fingerprint(BadInputGenerator.Generate(8));

        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void Generates_at_least_10000_cases_in_every_category_transport_and_expectation()
    {
        var cases = Cases.Value;
        foreach (var group in cases.GroupBy(c => (c.Category, c.Transport, c.Expected)))
        {
            output.WriteLine($"{group.Key.Category,-24} {group.Key.Transport,-10} {group.Key.Expected,-18} {group.Count(),5}  e.g. {group.First().Description}");
        }

        Assert.True(cases.Count >= 10_000, $"{cases.Count} cases");
        Assert.Equal(cases.Count, cases.Select(c => c.Id).Distinct().Count());
        string[] required =
        [
            "json-malformed", "json-truncated", "oversize-body", "huge-field", "deep-nesting", "invalid-utf8", "wrong-type",
            "severity-out-of-range", "missing-field", "batch-one-bad", "injection", "syslog-bad-pri", "syslog-octet-count",
            "syslog-binary-garbage", "syslog-nul-bytes", "syslog-overlong", "snmp-random-bytes", "snmp-truncated",
            "snmp-wrong-version", "snmp-wrong-pdu", "snmp-length-overflow",
        ];
        Assert.Empty(required.Except(cases.Select(c => c.Category)));
        Assert.Empty(Enum.GetValues<BadInputTransport>().Except(cases.Select(c => c.Transport)));
        Assert.Empty(Enum.GetValues<Expectation>().Except(cases.Select(c => c.Expected)));
    }

    [Fact]
    public void Every_rest_case_gets_its_documented_status_under_the_ingest_rules()
    {
        var wrong = Cases.Value.Where(c => c.Transport == BadInputTransport.Rest)
            .Select(c => (Case: c, Rules: RestEventRules.Check(c.Payload, c.ContentType, Options)))
            .Where(x => x.Rules.Status != x.Case.ExpectedStatus)
            .Select(x => $"{x.Case} but rules say {x.Rules.Status} ({x.Rules.Reason})")
            .Take(10).ToList();

        Assert.Empty(wrong);
        Assert.All(Cases.Value.Where(c => c.Transport == BadInputTransport.Rest && c.Category != "injection"),
            c => Assert.NotEqual(202, c.ExpectedStatus));
    }

    [Fact]
    public void Malformed_and_truncated_json_really_fails_to_parse()
    {
        var parsed = Cases.Value.Where(c => c.Category is "json-malformed" or "json-truncated")
            .Where(c => BadInputGenerator.ParsesAsJson(c.Payload)).Select(c => c.ToString()).Take(5).ToList();

        Assert.Empty(parsed);
    }

    [Fact]
    public void Invalid_utf8_deep_and_oversize_cases_break_their_own_rule()
    {
        var strict = new UTF8Encoding(false, throwOnInvalidBytes: true);
        Assert.All(Cases.Value.Where(c => c.Category == "invalid-utf8"),
            c => Assert.Throws<DecoderFallbackException>(() => strict.GetString(c.Payload)));
        Assert.All(Cases.Value.Where(c => c.Category == "deep-nesting"),
            c => Assert.ThrowsAny<JsonException>(() => JsonDocument.Parse(c.Payload, new JsonDocumentOptions { MaxDepth = Options.MaxJsonDepth }).Dispose()));
        Assert.All(Cases.Value.Where(c => c.Category is "oversize-body" or "huge-field"),
            c => Assert.True(c.Payload.Length > Options.RestMaxBodyBytes));
    }

    [Fact]
    public void Injection_cases_are_valid_events_carrying_the_hostile_string_verbatim()
    {
        foreach (var c in Cases.Value.Where(c => c.Category == "injection"))
        {
            using var doc = JsonDocument.Parse(c.Payload);
            var values = doc.RootElement.EnumerateObject().Select(p => p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString() : null);
            Assert.Contains(values, v => v is not null && BadInputGenerator.InjectionStrings.Contains(v));
        }
    }

    [Fact]
    public void Good_events_pass_the_same_rules()
    {
        var random = new Random(3);
        for (var i = 0; i < 1000; i++)
        {
            var body = Encoding.UTF8.GetBytes(BadInputGenerator.GoodEventJson(random, Guid.NewGuid().ToString()));
            Assert.Equal((202, "ok"), RestEventRules.Check(body, "application/json", Options));
        }
    }

    [Fact]
    public void Snmp_cases_are_not_decodable_traps_while_the_good_builders_are()
    {
        var random = new Random(5);
        Assert.True(IsDecodableTrap(SnmpPackets.V2Trap(random)));
        Assert.True(IsDecodableTrap(SnmpPackets.V2Trap(random, pduTag: SnmpPackets.PduInform)));
        Assert.True(IsDecodableTrap(SnmpPackets.V1Trap(random)));

        var decodable = Cases.Value.Where(c => c.Transport == BadInputTransport.Snmp && IsDecodableTrap(c.Payload))
            .Select(c => c.ToString()).Take(5).ToList();

        Assert.Empty(decodable);
    }

    [Fact]
    public void Overlong_syslog_frames_exceed_the_frame_limit()
    {
        Assert.All(Cases.Value.Where(c => c.Category == "syslog-overlong"),
            c => Assert.True(c.Payload.Length > Options.SyslogMaxFrameBytes, c.ToString()));
        Assert.All(Cases.Value.Where(c => c.Transport == BadInputTransport.SyslogUdp), c => Assert.True(c.Payload.Length <= 65_507));
    }

    /// <summary>
    /// What a strict trap listener accepts: SEQUENCE { INTEGER 0|1, OCTET STRING, Trap-PDU (v1) | Trap/Inform (v2c) }
    /// with nothing left over, read by System.Formats.Asn1 (an independent BER decoder).
    /// </summary>
    private static bool IsDecodableTrap(byte[] datagram)
    {
        try
        {
            var reader = new AsnReader(datagram, AsnEncodingRules.BER);
            var message = reader.ReadSequence();
            reader.ThrowIfNotEmpty();
            var version = message.ReadInteger();
            message.ReadOctetString();
            var tag = message.PeekTag();
            var expected = version == BigInteger.Zero ? 4 : version == BigInteger.One ? -1 : -2;
            if (tag.TagClass != TagClass.ContextSpecific || !tag.IsConstructed ||
                (expected == 4 ? tag.TagValue != 4 : expected == -1 ? tag.TagValue is not (6 or 7) : true))
            {
                return false;
            }
            var pdu = message.ReadSequence(tag);
            message.ThrowIfNotEmpty();
            while (pdu.HasData)
            {
                pdu.ReadEncodedValue();
            }
            return true;
        }
        catch (AsnContentException)
        {
            return false;
        }
    }

    private static string Fingerprint(IEnumerable<BadInputCase> cases)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var c in cases)
        {
            hash.AppendData(Encoding.UTF8.GetBytes($"{c.Id}|{c.Category}|{c.Transport}|{c.ContentType}|{c.Expected}|{c.Description}|"));
            hash.AppendData(c.Payload);
        }
        return Convert.ToHexString(hash.GetHashAndReset());
    }
}
