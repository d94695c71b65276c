using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Mutt.Testing;
using Mutt.Tests.Infrastructure;
using static Mutt.Tests.Integration.AlerterTestData;

namespace Mutt.Tests.Integration;

/// <summary>
/// The limits on input at every entry point of the running Ingestor (REST, syslog UDP, TCP and
/// TLS, RELP, SNMP) and at the Alerter: a hostname over 253 characters, a message over
/// MAX_MESSAGE_BYTES, a timestamp no audit partition can take. REST refuses with problem details
/// naming the field; the listeners keep the raw frame as a counted parse error; the Alerter
/// dead-letters an envelope that breaks one (reason validation) and audits the rest.
/// </summary>
[Collection(InfrastructureCollection.Name)]
[Trait("Category", "Integration")]
public sealed class InputLimitsTests(InfrastructureFixture infrastructure)
{
    private const int MaxMessageBytes = 400;
    private static readonly Dictionary<string, string?> Settings = new() { ["MAX_MESSAGE_BYTES"] = MaxMessageBytes.ToString() };
    private static readonly string LongHost = new('h', 254);
    private static readonly string Now = DateTimeOffset.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'");

    private static string Event(string hostname = "core-r1", string message = "LINK-DOWN", string? timestamp = null) =>
        JsonSerializer.Serialize(new { timestamp = timestamp ?? Now, message, hostname });

    [Fact]
    public async Task Rest_refuses_each_limit_with_problem_details_naming_the_field_and_enqueues_nothing()
    {
        await using var host = await IngestorTestHost.StartAsync(infrastructure, Settings);
        var body = $"[{Event()},{Event(hostname: LongHost)},{Event(message: new string('m', MaxMessageBytes + 1))},{Event(timestamp: "9999-12-31T23:59:59Z")}]";

        using var response = await host.Http.SendAsync(host.Post("/api/v2/ingest", body));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var errors = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("errors");
        Assert.Equal(["[1].hostname", "[2].message", "[3].timestamp"], errors.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.Equal("must be at most 253 characters (is 254)", errors.GetProperty("[1].hostname")[0].GetString());
        Assert.StartsWith($"must be at most {MaxMessageBytes} bytes of UTF-8 (MAX_MESSAGE_BYTES;", errors.GetProperty("[2].message")[0].GetString());
        Assert.StartsWith("must lie between", errors.GetProperty("[3].timestamp")[0].GetString());
        Assert.Equal(0, await host.QueueLengthAsync());
        Assert.Contains("mutt_ingest_requests_total{key=\"legacy:INGEST_API_KEY\",reason=\"validation\",status=\"fail\"} 1", await host.MetricsAsync());

        // The v1 alias applies the same limits; a good event still goes through.
        using var v1 = await host.Http.SendAsync(host.Post("/api/v1/ingest", Event(hostname: LongHost)));
        Assert.Equal(HttpStatusCode.BadRequest, v1.StatusCode);
        using var good = await host.Http.SendAsync(host.Post("/api/v2/ingest", Event(hostname: new string('h', 253))));
        Assert.Equal(HttpStatusCode.Accepted, good.StatusCode);
    }

    [Fact]
    public async Task Syslog_udp_and_tcp_frames_breaking_a_limit_are_kept_raw_as_counted_parse_errors()
    {
        await using var host = await IngestorTestHost.StartAsync(infrastructure, Settings);
        var (hostFrame, timeFrame, bigFrame) = Frames("syslog");

        using (var udp = new UdpClient())
        {
            await udp.SendAsync(Encoding.UTF8.GetBytes(hostFrame), "127.0.0.1", host.SyslogPort);
        }
        using (var tcp = new TcpClient())
        {
            await tcp.ConnectAsync("127.0.0.1", host.SyslogPort);
            await tcp.GetStream().WriteAsync(Encoding.UTF8.GetBytes(timeFrame + "\n" + bigFrame + "\n"));
        }

        var items = await host.WaitForItemsAsync(3, "the three frames");
        AssertKeptRaw(items, hostFrame, timeFrame);
        Assert.Equal(["tcp", "tcp", "udp"], items.Select(i => i.GetProperty("transport").GetString()).Order());
        await Eventually.WaitForAsync(async () => (await host.MetricsAsync()).Contains("mutt_syslog_parse_errors_total 3"), TimeSpan.FromSeconds(30), "three parse errors counted");
    }

    [Fact]
    public async Task Syslog_tls_frames_breaking_a_limit_are_kept_raw_as_counted_parse_errors()
    {
        var dir = Directory.CreateTempSubdirectory("mutt-limits-tls-");
        try
        {
            var certificate = Mutt.AppHost.LocalTls.Ensure(Path.Combine(dir.FullName, "tls"));
            await using var host = await IngestorTestHost.StartAsync(infrastructure, new Dictionary<string, string?>(Settings)
            {
                ["SYSLOG_TLS_CERT_PATH"] = certificate.CertPath,
                ["SYSLOG_TLS_KEY_PATH"] = certificate.KeyPath,
                ["SYSLOG_TLS_PORT"] = NativeProcess.FreeTcpPort().ToString(),
            });
            var (hostFrame, timeFrame, bigFrame) = Frames("tls");
            using (var tcp = new TcpClient())
            {
                await tcp.ConnectAsync("127.0.0.1", host.SyslogTlsPort);
                // Trust is SyslogTlsTests' subject; here only the limits are.
                await using var tls = new System.Net.Security.SslStream(tcp.GetStream(), false, (_, _, _, _) => true);
                await tls.AuthenticateAsClientAsync("localhost");
                // RFC 5425 framing: octet counting.
                var payload = string.Concat(new[] { hostFrame, timeFrame, bigFrame }.Select(f => $"{Encoding.UTF8.GetByteCount(f)} {f}"));
                await tls.WriteAsync(Encoding.UTF8.GetBytes(payload));
                await tls.FlushAsync();
                var items = await host.WaitForItemsAsync(3, "the three TLS frames");
                AssertKeptRaw(items, hostFrame, timeFrame);
                Assert.All(items, i => Assert.Equal("tls", i.GetProperty("transport").GetString()));
            }
            await Eventually.WaitForAsync(async () => (await host.MetricsAsync()).Contains("mutt_syslog_parse_errors_total 3"), TimeSpan.FromSeconds(30), "three parse errors counted");
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Relp_frames_breaking_a_limit_are_acknowledged_kept_raw_and_counted()
    {
        await using var host = await IngestorTestHost.StartAsync(infrastructure, Settings);
        var (hostFrame, timeFrame, bigFrame) = Frames("relp");
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", host.RelpPort);
        var stream = client.GetStream();
        var answers = new RelpListenerTests.RelpAnswers(stream);

        await RelpListenerTests.Send(stream, RelpListenerTests.Frame(1, "open", "relp_version=0\ncommands=syslog"));
        Assert.StartsWith("200 OK", RelpListenerTests.Text(await answers.NextAsync(1)));
        await RelpListenerTests.Send(stream, RelpListenerTests.Frame(2, "syslog", hostFrame) + RelpListenerTests.Frame(3, "syslog", timeFrame)
            + RelpListenerTests.Frame(4, "syslog", bigFrame));
        // Kept, so acknowledged: the sender must not resend what MUTT stored.
        Assert.Equal("200 OK", RelpListenerTests.Text(await answers.NextAsync(2)));
        Assert.Equal("200 OK", RelpListenerTests.Text(await answers.NextAsync(3)));
        Assert.Equal("200 OK", RelpListenerTests.Text(await answers.NextAsync(4)));

        var items = await host.WaitForItemsAsync(3, "the three RELP frames");
        AssertKeptRaw(items, hostFrame, timeFrame);
        Assert.All(items, i => Assert.Equal("relp", i.GetProperty("transport").GetString()));
        Assert.Contains("mutt_syslog_parse_errors_total 3", await host.MetricsAsync());
    }

    [Fact]
    public async Task Snmp_trap_over_MAX_MESSAGE_BYTES_keeps_every_varbind_and_is_counted()
    {
        await using var host = await IngestorTestHost.StartAsync(infrastructure, Settings);
        var value = new string('v', 200);
        await NativeProcess.RunAsync("snmptrap", ["-v", "2c", "-c", "public", $"127.0.0.1:{host.SnmpPort}", "4242", "1.3.6.1.6.3.1.1.5.3",
            "1.3.6.1.2.1.2.2.1.2.1", "s", value, "1.3.6.1.2.1.2.2.1.2.2", "s", value], TimeSpan.FromSeconds(20));

        var item = Assert.Single(await host.WaitForItemsAsync(1, "the trap"));
        Assert.Equal(MaxMessageBytes, Encoding.UTF8.GetByteCount(item.GetProperty("message").GetString()!));
        Assert.StartsWith($"message must be at most {MaxMessageBytes} bytes", item.GetProperty("parse_error").GetString());
        Assert.True(item.GetProperty("truncated").GetBoolean());
        Assert.Equal(2, item.GetProperty("varbinds").EnumerateArray().Count(v => v.GetProperty("value").GetString() == value));
        Assert.Contains("mutt_snmp_parse_errors_total 1", await host.MetricsAsync());
    }

    [Fact]
    public async Task Alerter_dead_letters_a_replayed_envelope_that_breaks_a_limit_and_audits_the_rest()
    {
        await FlushRedisAsync(infrastructure.RedisConnectionString);
        var db = await infrastructure.CreateDatabaseAsync();
        await using var alerter = await AlerterTestHost.StartAsync(infrastructure.RedisConnectionString, db, "alerter-limits", Settings);
        var redis = infrastructure.Multiplexer.GetDatabase();

        // Envelopes as an older Ingestor (or a hand-made replay) could have queued them.
        await PushAsync(redis, "mutt:ingest_queue",
        [
            Event(),
            Event(hostname: LongHost),
            Event(message: new string('m', MaxMessageBytes + 1)),
            Event(timestamp: "0001-01-01T00:00:00Z"),
        ]);

        var dead = await Eventually.WaitForAsync(() => DeadLettersAsync(redis), d => d.Count == 3, TimeSpan.FromSeconds(60), "three dead letters");
        Assert.All(dead, d => Assert.Equal("validation", d.Reason));
        Assert.Equal(["hostname", "message", "timestamp"], dead.Select(d => d.Error![..d.Error!.IndexOf(':')]).Order());
        await Eventually.WaitForAsync(() => ScalarAsync(db, "SELECT count(*) FROM event_audit_log"), n => n == 1, TimeSpan.FromSeconds(60), "the good event audited");
        Assert.Equal(0L, await ScalarAsync(db, "SELECT count(*) FROM event_audit_log_default"));
    }

    /// <summary>Three frames, each breaking one limit: a 300-character hostname (the frame still under MAX_MESSAGE_BYTES), a 2003 timestamp, a message over MAX_MESSAGE_BYTES.</summary>
    private static (string Host, string Time, string Big) Frames(string tag) => (
        $"<11>1 {Now} {new string('h', 300)} {tag} - - - hostname frame",
        $"<11>1 2003-10-11T22:14:15.003Z edge-01 {tag} - - - time frame",
        $"<11>1 {Now} edge-01 {tag} - - - {new string('x', MaxMessageBytes + 50)}");

    private static void AssertKeptRaw(List<JsonElement> items, string hostFrame, string timeFrame)
    {
        var byError = items.ToDictionary(i => i.GetProperty("parse_error").GetString()!.Split(' ')[0]);
        Assert.Equal(["hostname", "message", "timestamp"], byError.Keys.Order());
        // The whole frame is the message; the sender's address and the receive time stand in.
        Assert.Equal(hostFrame, byError["hostname"].GetProperty("message").GetString());
        Assert.Equal("127.0.0.1", byError["hostname"].GetProperty("hostname").GetString());
        Assert.Equal(timeFrame, byError["timestamp"].GetProperty("message").GetString());
        Assert.NotEqual("2003", byError["timestamp"].GetProperty("timestamp").GetString()![..4]);
        Assert.Equal(new string('x', MaxMessageBytes), byError["message"].GetProperty("message").GetString());
        Assert.True(byError["message"].GetProperty("truncated").GetBoolean());
        Assert.Equal("edge-01", byError["message"].GetProperty("hostname").GetString());
    }
}
