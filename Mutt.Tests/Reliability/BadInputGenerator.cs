using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Mutt.Tests.Reliability;

/// <summary>
/// A seeded generator of hostile inputs for the Ingestor's three doors (REST, syslog UDP/TCP, SNMP).
/// Each case draws from its own <see cref="Random"/> seeded by (seed, index), so the sequence is
/// reproducible, can be enumerated lazily (oversize bodies are not all held at once) and case N is the
/// same whether or not the cases before it were generated.
/// </summary>
public sealed class BadInputGenerator(BadInputOptions options)
{
    /// <summary>Category name, transport, default count, generator.</summary>
    private sealed record Category(string Name, BadInputTransport Transport, int Count, Func<Random, BadInputGenerator, (byte[] Payload, string? ContentType, Expectation Expected, string Description)> Make);

    private static readonly JsonSerializerOptions Relaxed = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Hostile strings that must be stored as data and never evaluated anywhere (SQL, HTML, templates, JNDI, regex).</summary>
    public static readonly IReadOnlyList<string> InjectionStrings =
    [
        "'; DROP TABLE event_audit_log; --",
        "' OR '1'='1",
        "1; DELETE FROM alert_rules WHERE 1=1",
        "\"; SELECT pg_sleep(10); --",
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(document.cookie)>",
        "javascript:alert(1)",
        "{{7*7}}",
        "${7*7}",
        "#{7*7}",
        "@(7*7)",
        "${jndi:ldap://127.0.0.1:1389/a}",
        "${${lower:j}ndi:${lower:l}dap://x/a}",
        "(a+)+$",
        "^(a|a)*$",
        "(.*a){20}",
        new string('a', 4096) + "!",
        "%s%s%s%n%n%n",
        "../../../../etc/passwd",
        "\r\nX-Injected: yes\r\n",
        "$(rm -rf /)",
        "`id`",
        "\u202Egnp.exe",
        "mutt:ingest_queue\r\nFLUSHALL\r\n",
    ];

    private static readonly byte[][] InvalidUtf8 =
    [
        [0xFF], [0xFE], [0xC0, 0xAF], [0xC1, 0xBF], [0xE0, 0x80, 0x80], [0xED, 0xA0, 0x80], [0xF8, 0x88, 0x80, 0x80, 0x80],
        [0x80], [0xBF], [0xC3], [0xE2, 0x82], [0xF4, 0x90, 0x80, 0x80], [0xF0, 0x80, 0x80, 0xAF],
    ];

    private static readonly Category[] Categories =
    [
        new("json-malformed", BadInputTransport.Rest, 1500, (r, g) => g.MalformedJson(r)),
        new("json-truncated", BadInputTransport.Rest, 1000, (r, g) => g.TruncatedJson(r)),
        new("oversize-body", BadInputTransport.Rest, 15, (r, g) => g.OversizeBody(r)),
        new("huge-field", BadInputTransport.Rest, 15, (r, g) => g.HugeField(r)),
        new("deep-nesting", BadInputTransport.Rest, 500, (r, g) => g.DeepNesting(r)),
        new("invalid-utf8", BadInputTransport.Rest, 800, (r, g) => g.InvalidUtf8Body(r)),
        new("wrong-type", BadInputTransport.Rest, 1200, (r, _) => Rest(WrongTypeEvent(r))),
        new("severity-out-of-range", BadInputTransport.Rest, 500, (r, _) => Rest(SeverityOutOfRange(r))),
        new("missing-field", BadInputTransport.Rest, 800, (r, _) => Rest(MissingField(r))),
        new("batch-one-bad", BadInputTransport.Rest, 600, (r, _) => BatchWithOneBad(r)),
        new("not-an-event", BadInputTransport.Rest, 200, (r, _) => Rest(NotAnEvent(r))),
        new("injection", BadInputTransport.Rest, 600, (r, _) => InjectionEvent(r)),
        new("syslog-bad-pri", BadInputTransport.SyslogUdp, 400, (r, g) => g.Syslog(r, BadPri(r), udp: true)),
        new("syslog-bad-pri", BadInputTransport.SyslogTcp, 400, (r, g) => g.Syslog(r, BadPri(r), udp: false)),
        new("syslog-octet-count", BadInputTransport.SyslogTcp, 500, (r, g) => g.BadOctetCount(r)),
        new("syslog-binary-garbage", BadInputTransport.SyslogUdp, 300, (r, g) => g.Syslog(r, Garbage(r, 1, 2000), udp: true)),
        new("syslog-binary-garbage", BadInputTransport.SyslogTcp, 300, (r, g) => g.Syslog(r, Garbage(r, 1, 2000), udp: false)),
        new("syslog-nul-bytes", BadInputTransport.SyslogUdp, 200, (r, g) => g.Syslog(r, WithNuls(r), udp: true)),
        new("syslog-nul-bytes", BadInputTransport.SyslogTcp, 200, (r, g) => g.Syslog(r, WithNuls(r), udp: false)),
        new("syslog-overlong", BadInputTransport.SyslogUdp, 60, (r, g) => g.Overlong(r, udp: true)),
        new("syslog-overlong", BadInputTransport.SyslogTcp, 60, (r, g) => g.Overlong(r, udp: false)),
        new("syslog-injection", BadInputTransport.SyslogUdp, 150, (r, g) => g.SyslogInjection(r, udp: true)),
        new("syslog-injection", BadInputTransport.SyslogTcp, 150, (r, g) => g.SyslogInjection(r, udp: false)),
        new("snmp-random-bytes", BadInputTransport.Snmp, 600, (r, _) => Snmp(Garbage(r, 0, 1500), "random bytes")),
        new("snmp-truncated", BadInputTransport.Snmp, 600, (r, _) => TruncatedSnmp(r)),
        new("snmp-wrong-version", BadInputTransport.Snmp, 300, (r, _) => WrongVersion(r)),
        new("snmp-wrong-pdu", BadInputTransport.Snmp, 300, (r, _) => WrongPdu(r)),
        new("snmp-length-overflow", BadInputTransport.Snmp, 300, (r, _) => LengthOverflow(r)),
    ];

    public static IReadOnlyList<string> CategoryNames { get; } = Categories.Select(c => c.Name).Distinct().ToList();

    public int Count => Categories.Sum(CountOf);

    public static IEnumerable<BadInputCase> Generate(int seed) => new BadInputGenerator(new BadInputOptions { Seed = seed }).Generate();

    /// <summary>Every case, category by category, lazily.</summary>
    public IEnumerable<BadInputCase> Generate()
    {
        var id = 0;
        foreach (var category in Categories)
        {
            for (var i = 0; i < CountOf(category); i++, id++)
            {
                var random = new Random(unchecked(options.Seed * 1_000_003 + id));
                var (payload, contentType, expected, description) = category.Make(random, this);
                yield return new BadInputCase(id, category.Name, category.Transport, payload, contentType, expected, description);
            }
        }
    }

    private int CountOf(Category category) => Math.Max(1, (int)Math.Round(category.Count * options.Scale));

    // ---------------------------------------------------------------- good material

    /// <summary>A valid event (spec 004 "Event Message") as JSON properties, in order.</summary>
    public static List<KeyValuePair<string, string>> GoodEventFields(Random r, string? correlationId = null)
    {
        var fields = new List<KeyValuePair<string, string>>
        {
            new("timestamp", Json(DateTimeOffset.UnixEpoch.AddSeconds(1_700_000_000 + r.Next(0, 50_000_000)).ToString("O", CultureInfo.InvariantCulture))),
            new("message", Json($"%LINK-3-UPDOWN: Interface GigabitEthernet0/{r.Next(1, 48)}, changed state to down")),
            new("hostname", Json($"router-{r.Next(1, 500)}.example.net")),
        };
        if (r.Next(2) == 0)
        {
            fields.Add(new("source", Json(r.Next(2) == 0 ? "syslog" : "snmp")));
        }
        if (r.Next(2) == 0)
        {
            fields.Add(new("syslog_severity", r.Next(0, 8).ToString(CultureInfo.InvariantCulture)));
        }
        if (correlationId is not null)
        {
            fields.Add(new("correlation_id", Json(correlationId)));
        }
        return fields;
    }

    public static string GoodEventJson(Random r, string? correlationId = null) => Object(GoodEventFields(r, correlationId));

    private static string Object(IEnumerable<KeyValuePair<string, string>> fields) =>
        "{" + string.Join(",", fields.Select(f => Json(f.Key) + ":" + f.Value)) + "}";

    private static string Json(string text) => JsonSerializer.Serialize(text, Relaxed);

    private static string GoodBody(Random r) => r.Next(3) switch
    {
        0 => "[" + string.Join(",", Enumerable.Range(0, r.Next(1, 6)).Select(_ => GoodEventJson(r))) + "]",
        _ => GoodEventJson(r),
    };

    private static T Pick<T>(Random r, IReadOnlyList<T> items) => items[r.Next(items.Count)];

    private static (byte[], string?, Expectation, string) Rest((string Body, string Description) bad) =>
        (Encoding.UTF8.GetBytes(bad.Body), "application/json", Expectation.BadRequest, bad.Description);

    // ---------------------------------------------------------------- REST

    private (byte[], string?, Expectation, string) MalformedJson(Random r)
    {
        // Mutate until the parser rejects it: a random edit of valid JSON is occasionally still valid JSON.
        for (var attempt = 0; ; attempt++)
        {
            var text = new StringBuilder(GoodBody(r));
            var edit = r.Next(10);
            var at = r.Next(text.Length);
            var description = edit switch
            {
                0 => Do(() => text.Remove(at, 1), "deleted a character"),
                1 => Do(() => text.Insert(at, Pick(r, ["{", "}", "[", "]", ":", ",", "\"", "\\"])), "inserted a structural character"),
                2 => Do(() => text.Replace('"', '\''), "single quotes"),
                3 => Do(() => text.Insert(text.Length - 1, ","), "trailing comma"),
                4 => Do(() => text.Insert(1, "/* comment */"), "comment"),
                5 => Do(() => text.Insert(1, "\"x\": NaN,"), "NaN literal"),
                6 => Do(() => text.Insert(1, "unquoted: 1,"), "unquoted key"),
                7 => Do(() => text.Append(Pick(r, ["}", "]", "x", "{}", "\"tail\""])), "trailing garbage"),
                8 => Do(() => text.Insert(1, "\"x\":\"\\q\","), "invalid escape"),
                _ => Do(() => text.Insert(1, "\"x\":\"line\nbreak\","), "raw control character in string"),
            };
            var bytes = Encoding.UTF8.GetBytes(text.ToString());
            if (!ParsesAsJson(bytes) || attempt > 50)
            {
                return (bytes, "application/json", Expectation.BadRequest, description);
            }
        }
    }

    private static string Do(Action edit, string description)
    {
        edit();
        return description;
    }

    private (byte[], string?, Expectation, string) TruncatedJson(Random r)
    {
        var bytes = Encoding.UTF8.GetBytes(GoodBody(r));
        // Any proper prefix of an object or array is unfinished JSON (the empty body included).
        var cut = r.Next(0, bytes.Length);
        return (bytes[..cut], "application/json", Expectation.BadRequest, $"cut at {cut} of {bytes.Length}");
    }

    private (byte[], string?, Expectation, string) OversizeBody(Random r)
    {
        var target = options.RestMaxBodyBytes + 1 + r.Next(0, options.RestMaxBodyBytes);
        var sb = new StringBuilder("[");
        while (sb.Length < target)
        {
            sb.Append(GoodEventJson(r)).Append(',');
        }
        sb[^1] = ']';
        return (Encoding.UTF8.GetBytes(sb.ToString()), "application/json", Expectation.PayloadTooLarge, $"{sb.Length} bytes of valid events");
    }

    private (byte[], string?, Expectation, string) HugeField(Random r)
    {
        var fields = GoodEventFields(r);
        var field = Pick(r, ["message", "hostname", "trap_oid", "custom_field"]);
        var size = options.RestMaxBodyBytes + 1 + r.Next(0, 4096);
        fields.RemoveAll(f => f.Key == field);
        fields.Add(new(field, Json(new string((char)('a' + r.Next(26)), size))));
        return (Encoding.UTF8.GetBytes(Object(fields)), "application/json", Expectation.PayloadTooLarge, $"{field} of {size} characters");
    }

    private (byte[], string?, Expectation, string) DeepNesting(Random r)
    {
        var depth = options.MaxJsonDepth + 1 + r.Next(0, r.Next(2) == 0 ? 10 : 2000);
        var asArray = r.Next(2) == 0;
        var open = asArray ? "[" : "{\"a\":";
        var close = asArray ? "]" : "}";
        var nested = string.Concat(Enumerable.Repeat(open, depth)) + "1" + string.Concat(Enumerable.Repeat(close, depth));
        string body;
        if (r.Next(2) == 0)
        {
            body = nested;
        }
        else
        {
            var fields = GoodEventFields(r);
            fields.Add(new("details", nested));
            body = Object(fields);
        }
        return (Encoding.UTF8.GetBytes(body), "application/json", Expectation.BadRequest, $"{(asArray ? "arrays" : "objects")} nested {depth} deep");
    }

    private (byte[], string?, Expectation, string) InvalidUtf8Body(Random r)
    {
        const string Marker = "\u0001MARK\u0001";
        var fields = GoodEventFields(r);
        var field = Pick(r, ["message", "hostname", "timestamp"]);
        var index = fields.FindIndex(f => f.Key == field);
        fields[index] = new(field, Json("x" + Marker + "y"));
        var text = Object(fields);
        var encodedMarker = Json(Marker)[1..^1];
        var bad = Pick(r, InvalidUtf8);
        var parts = text.Split(encodedMarker);
        byte[] body = [.. Encoding.UTF8.GetBytes(parts[0]), .. bad, .. Encoding.UTF8.GetBytes(parts[1])];
        return (body, "application/json", Expectation.BadRequest, $"bytes {Convert.ToHexString(bad)} in {field}");
    }

    private static readonly string[] NonStrings = ["42", "-1.5e3", "true", "false", "{}", "{\"a\":\"b\"}", "[]", "[\"x\"]", "0"];

    private static (string Body, string Description) WrongTypeEvent(Random r)
    {
        var fields = GoodEventFields(r, r.Next(2) == 0 ? RandomGuid(r) : null);
        var field = Pick(r, ["timestamp", "message", "hostname", "syslog_severity", "source", "trap_oid", "correlation_id", "timestamp"]);
        string value = field switch
        {
            "syslog_severity" => Pick(r, ["\"high\"", "\"\"", "true", "{}", "[]", "[3]", "3.5", "\"3 \"", "{\"value\":3}"]),
            "timestamp" when r.Next(3) == 0 => Json(Pick(r, ["yesterday", "2024-13-45T99:99:99Z", "not a date", "2024-02-30T10:00:00Z", "99999-01-01T00:00:00Z"])),
            _ => Pick(r, NonStrings),
        };
        fields.RemoveAll(f => f.Key == field);
        fields.Insert(r.Next(fields.Count + 1), new(field, value));
        return (Object(fields), $"{field} = {Short(value)}");
    }

    private static (string Body, string Description) SeverityOutOfRange(Random r)
    {
        var fields = GoodEventFields(r);
        fields.RemoveAll(f => f.Key == "syslog_severity");
        var value = Pick(r, ["-1", "8", "9", "100", "255", "-2147483649", "2147483648", "99999999999999999999", "1e100", "-0.5", "7.5"]);
        fields.Add(new("syslog_severity", value));
        return (Object(fields), $"syslog_severity = {value}");
    }

    private static (string Body, string Description) MissingField(Random r)
    {
        var fields = GoodEventFields(r);
        var required = new[] { "timestamp", "message", "hostname" };
        var drop = required.Where(_ => r.Next(2) == 0).ToList();
        if (drop.Count == 0)
        {
            drop.Add(Pick(r, required));
        }
        var asNull = r.Next(3) == 0;
        for (var i = 0; i < fields.Count; i++)
        {
            if (drop.Contains(fields[i].Key))
            {
                fields[i] = new(fields[i].Key, asNull ? "null" : "");
            }
        }
        fields.RemoveAll(f => f.Value.Length == 0);
        return (Object(fields), $"{string.Join("+", drop)} {(asNull ? "null" : "absent")}");
    }

    private static (byte[], string?, Expectation, string) BatchWithOneBad(Random r)
    {
        var count = r.Next(2, 50);
        var badIndex = r.Next(count);
        var bad = r.Next(3) switch
        {
            0 => WrongTypeEvent(r),
            1 => SeverityOutOfRange(r),
            _ => MissingField(r),
        };
        var events = Enumerable.Range(0, count).Select(i => i == badIndex ? bad.Body : GoodEventJson(r)).ToList();
        return r.Next(2) == 0
            ? (Encoding.UTF8.GetBytes("[" + string.Join(",", events) + "]"), "application/json", Expectation.BadRequest, $"array of {count}, [{badIndex}] {bad.Description}")
            : (Encoding.UTF8.GetBytes(string.Join("\n", events) + "\n"), "application/x-ndjson", Expectation.BadRequest, $"NDJSON of {count}, line {badIndex}: {bad.Description}");
    }

    private static (string Body, string Description) NotAnEvent(Random r)
    {
        var body = Pick(r, ["42", "\"event\"", "null", "true", "[1,2,3]", "[[]]", "[null]", "[\"a\"]", "{\"events\":[]}", "{}", "3.14"]);
        return (body, "top level " + body);
    }

    private static (byte[], string?, Expectation, string) InjectionEvent(Random r)
    {
        var fields = GoodEventFields(r);
        var field = Pick(r, ["message", "hostname", "trap_oid", "source_detail", "message"]);
        // A hostname is at most 253 characters (a longer one is a 400, not an injection that must pass verbatim).
        var payload = Pick(r, field == "hostname" ? InjectionStrings.Where(p => p.Length <= 253).ToList() : InjectionStrings);
        fields.RemoveAll(f => f.Key == field);
        fields.Add(new(field, Json(payload)));
        return (Encoding.UTF8.GetBytes(Object(fields)), "application/json", Expectation.AcceptedVerbatim, $"{field} = {Short(payload)}");
    }

    /// <summary>A GUID from the case's own Random, so the case stays reproducible.</summary>
    private static string RandomGuid(Random r)
    {
        var bytes = new byte[16];
        r.NextBytes(bytes);
        return new Guid(bytes).ToString();
    }

    private static string Short(string s) => s.Length > 40 ? s[..40] + "..." : s;

    public static bool ParsesAsJson(byte[] bytes)
    {
        try
        {
            using var _ = JsonDocument.Parse(bytes);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    // ---------------------------------------------------------------- syslog

    private static string GoodSyslogLine(Random r, string message) => r.Next(2) == 0
        ? $"<{r.Next(0, 192)}>1 2024-06-01T12:{r.Next(10, 60)}:00.000Z host{r.Next(100)} app {r.Next(1, 9999)} ID{r.Next(99)} - {message}"
        : $"<{r.Next(0, 192)}>Jun  1 12:{r.Next(10, 60)}:00 host{r.Next(100)} app[{r.Next(1, 9999)}]: {message}";

    private static byte[] BadPri(Random r)
    {
        var pri = Pick(r, ["<999>", "<abc>", "<>", "<-1>", "<192>", "<1000000000000>", "<", "<<13>>", "<13", "<1 3>", "<0x0d>", "<13.5>"]);
        var rest = r.Next(2) == 0 ? "1 2024-06-01T12:00:00Z host app - - - link down" : "Jun  1 12:00:00 host app: link down";
        return Encoding.UTF8.GetBytes(pri + rest);
    }

    private static byte[] Garbage(Random r, int min, int max)
    {
        var bytes = new byte[r.Next(min, max + 1)];
        r.NextBytes(bytes);
        return bytes;
    }

    private static byte[] WithNuls(Random r)
    {
        var line = Encoding.UTF8.GetBytes(GoodSyslogLine(r, "interface flap"));
        var list = line.ToList();
        for (var i = r.Next(1, 6); i > 0; i--)
        {
            list.Insert(r.Next(list.Count + 1), 0);
        }
        return list.ToArray();
    }

    /// <summary>UDP: one datagram. TCP: newline-framed, or octet-counted (RFC 6587) when the line is clean.</summary>
    private (byte[], string?, Expectation, string) Syslog(Random r, byte[] frame, bool udp, Expectation expected = Expectation.Enqueued, string? description = null)
    {
        description ??= $"{frame.Length} bytes";
        if (udp)
        {
            return (frame, null, expected, description);
        }
        if (r.Next(2) == 0)
        {
            byte[] counted = [.. Encoding.ASCII.GetBytes(frame.Length.ToString(CultureInfo.InvariantCulture) + " "), .. frame];
            return (counted, null, expected, description + ", octet-counted");
        }
        return ([.. frame, (byte)'\n'], null, expected, description + ", newline-framed");
    }

    private (byte[], string?, Expectation, string) BadOctetCount(Random r)
    {
        var line = Encoding.UTF8.GetBytes(GoodSyslogLine(r, "octet count test"));
        return r.Next(5) switch
        {
            // The peer closes before the promised bytes arrive: the partial frame is flagged, not waited for forever.
            0 => ([.. Encoding.ASCII.GetBytes((line.Length + r.Next(1, 5000)).ToString(CultureInfo.InvariantCulture) + " "), .. line],
                null, Expectation.EnqueuedTruncated, "count larger than data, then close"),
            1 => ([.. Encoding.ASCII.GetBytes("-" + r.Next(1, 100) + " "), .. line, (byte)'\n'], null, Expectation.Enqueued, "negative count"),
            2 => ([.. Encoding.ASCII.GetBytes(Pick(r, ["abc ", "12a ", "0x20 ", "1e3 "])), .. line, (byte)'\n'], null, Expectation.Enqueued, "non-numeric count"),
            3 => ([.. Encoding.ASCII.GetBytes(Pick(r, ["99999999999999999999 ", "2147483648 ", "4294967296 "])), .. line],
                null, Expectation.EnqueuedTruncated, "count beyond any frame limit"),
            _ => ([.. Encoding.ASCII.GetBytes("0 "), .. line, (byte)'\n'], null, Expectation.Enqueued, "zero count"),
        };
    }

    private (byte[], string?, Expectation, string) Overlong(Random r, bool udp)
    {
        var limit = options.SyslogMaxFrameBytes;
        var length = udp ? Math.Min(65_000, limit + 1 + r.Next(0, limit)) : limit + 1 + r.Next(0, 3 * limit);
        var prefix = GoodSyslogLine(r, "");
        var frame = Encoding.UTF8.GetBytes(prefix + new string('x', Math.Max(1, length - prefix.Length)));
        return Syslog(r, frame, udp, Expectation.EnqueuedTruncated, $"{frame.Length}-byte frame (limit {limit})");
    }

    private (byte[], string?, Expectation, string) SyslogInjection(Random r, bool udp)
    {
        // CR/LF would split a newline-framed TCP line into two events: keep those payloads to UDP.
        var candidates = udp ? InjectionStrings : InjectionStrings.Where(s => !s.Contains('\n') && !s.Contains('\r')).ToList();
        var payload = Pick(r, candidates);
        return Syslog(r, Encoding.UTF8.GetBytes(GoodSyslogLine(r, payload)), udp, Expectation.AcceptedVerbatim, $"message {Short(payload)}");
    }

    // ---------------------------------------------------------------- SNMP

    private static (byte[], string?, Expectation, string) Snmp(byte[] datagram, string description) =>
        (datagram, null, Expectation.DroppedAndCounted, description);

    private static byte[] AnyTrap(Random r) => r.Next(3) switch
    {
        0 => SnmpPackets.V1Trap(r),
        1 => SnmpPackets.V2Trap(r, pduTag: SnmpPackets.PduInform),
        _ => SnmpPackets.V2Trap(r),
    };

    private static (byte[], string?, Expectation, string) TruncatedSnmp(Random r)
    {
        var packet = AnyTrap(r);
        var cut = r.Next(1, packet.Length);
        return Snmp(packet[..cut], $"valid trap cut at {cut} of {packet.Length}");
    }

    private static (byte[], string?, Expectation, string) WrongVersion(Random r)
    {
        var version = Pick(r, [2L, 3L, 4L, 99L, -1L, 1L << 40, 255L]);
        return Snmp(SnmpPackets.V2Trap(r, version: version), $"version {version}");
    }

    private static (byte[], string?, Expectation, string) WrongPdu(Random r)
    {
        var tag = Pick(r, new byte[] { 0xA0, 0xA1, 0xA2, 0xA3, 0xA5, 0xA8, 0xA9, 0xAF, 0x30, 0x04, 0x02 });
        // A v1 Trap-PDU tag in a v2c message and a v2 trap tag in a v1 message are also wrong.
        if (r.Next(4) == 0)
        {
            return Snmp(SnmpPackets.V2Trap(r, pduTag: SnmpPackets.PduTrapV1), "v1 Trap-PDU tag in a v2c message");
        }
        return Snmp(SnmpPackets.V2Trap(r, pduTag: tag), $"PDU tag 0x{tag:X2}");
    }

    private static byte[] ContentOf(byte[] tlv)
    {
        var headerLength = tlv[1] < 0x80 ? 2 : 2 + (tlv[1] & 0x7F);
        return tlv[headerLength..];
    }

    private static (byte[], string?, Expectation, string) LengthOverflow(Random r)
    {
        byte[] lie = Pick(r, new byte[][]
        {
            [0x84, 0x7F, 0xFF, 0xFF, 0xFF],
            [0x84, 0xFF, 0xFF, 0xFF, 0xFF],
            [0x89, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00],
            [0x80],
            [0x82, 0xFF, 0xFF],
            [0x85, 0x01, 0x00, 0x00, 0x00, 0x00],
        });
        var varbinds = SnmpPackets.VarBindsV2(r, "1.3.6.1.6.3.1.1.5.3");
        var version = SnmpPackets.Integer(1);
        var community = SnmpPackets.OctetString("public");
        var header = SnmpPackets.Integer(r.Next()).Concat(SnmpPackets.Integer(0)).Concat(SnmpPackets.Integer(0)).ToArray();
        var level = r.Next(4);
        byte[] packet = level switch
        {
            0 => SnmpPackets.TlvWithLength(SnmpPackets.TagSequence, lie,
                [.. version, .. community, .. SnmpPackets.Tlv(SnmpPackets.PduTrapV2, [.. header, .. varbinds])]),
            1 => SnmpPackets.Tlv(SnmpPackets.TagSequence, version, community,
                SnmpPackets.TlvWithLength(SnmpPackets.PduTrapV2, lie, [.. header, .. varbinds])),
            2 => SnmpPackets.Tlv(SnmpPackets.TagSequence, version, community,
                SnmpPackets.Tlv(SnmpPackets.PduTrapV2, [.. header, .. SnmpPackets.TlvWithLength(SnmpPackets.TagSequence, lie, ContentOf(varbinds))])),
            _ => SnmpPackets.Tlv(SnmpPackets.TagSequence, version,
                SnmpPackets.TlvWithLength(SnmpPackets.TagOctetString, lie, "public"u8.ToArray()),
                SnmpPackets.Tlv(SnmpPackets.PduTrapV2, [.. header, .. varbinds])),
        };
        var where = level switch { 0 => "message", 1 => "PDU", 2 => "varbind list", _ => "community" };
        return Snmp(packet, $"{where} length field {Convert.ToHexString(lie)}");
    }
}
