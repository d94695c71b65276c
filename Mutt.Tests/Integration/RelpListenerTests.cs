using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Mutt.Alerter.Audit;
using Mutt.Core.Events;
using Mutt.Ingestor.Relp;
using Mutt.Testing;
using Mutt.Tests.Infrastructure;
using Npgsql;
using Xunit.Abstractions;

namespace Mutt.Tests.Integration;

/// <summary>
/// The RELP listener against real rsyslog omrelp (Debian rsyslog-relp) running the shipped
/// deploy/rsyslog/99-mutt.conf (the default rsyslog config), and against a raw socket for the protocol's error paths.
/// </summary>
[Collection(InfrastructureCollection.Name)]
[Trait("Category", "Integration")]
public sealed partial class RelpListenerTests(InfrastructureFixture infrastructure, ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mutt-relp-").FullName;

    /// <summary>
    /// The shipped omrelp config with target and port pointed at the test's Ingestor, and the retry
    /// interval cut from 5 s to 1 s so a test's reconnect takes seconds.
    /// </summary>
    public static string ShippedRelpConfig(int port) =>
        RsyslogDaemon.ShippedForwarding("99-mutt.conf", 2514, port, ("action.resumeInterval=\"5\"", "action.resumeInterval=\"1\""));

    private static IEnumerable<string> Corpus(string run, int count) =>
        Enumerable.Range(0, count).Select(i => $"<134>1 2025-03-15T11:{i / 1_000_000 % 60:D2}:00.{i % 1_000_000:D6}Z host{i % 7} app {i % 1000} - [seq@32473 n=\"{i}\"] {run} message {i}");

    private static int Sequence(JsonElement item) => int.Parse(item.GetProperty("message").GetString()!.Split(' ')[^1]);

    [Fact]
    public async Task Rsyslog_omrelp_stream_arrives_intact_once_each()
    {
        await using var host = await IngestorTestHost.StartAsync(infrastructure);
        await using var rsyslog = await RsyslogDaemon.StartAsync(_dir, ShippedRelpConfig(host.RelpPort));
        const int total = 2_000;
        var run = Guid.NewGuid().ToString("N")[..8];
        await rsyslog.SendAsync(Corpus(run, total));

        var items = await host.WaitForItemsAsync(total, "every message relayed by omrelp");
        Assert.Equal(total, items.Count);
        Assert.Equal(Enumerable.Range(0, total), items.Select(Sequence).Order());
        var first = items.First(i => Sequence(i) == 1234).Deserialize(MuttJsonContext.Default.MuttEvent)!;
        Assert.Equal($"{run} message 1234", first.Message);
        Assert.Equal("host2", first.Hostname);
        Assert.Equal(6, first.SyslogSeverity);
        Assert.Equal(new DateTime(2025, 3, 15, 11, 0, 0, DateTimeKind.Utc).AddTicks(12_340), first.EventTimeUtc());
        Assert.Equal("relp", first.Extra!["transport"].GetString());
        Assert.Equal("rfc5424", first.Extra["syslog_format"].GetString());
        Assert.Equal("1234", first.Extra["structured_data"].GetProperty("seq@32473").GetProperty("n").GetString());
        Assert.StartsWith("relp-", first.CorrelationId);
        var metrics = await host.MetricsAsync();
        Assert.Contains($"mutt_syslog_messages_received_total{{transport=\"relp\"}} {total}", metrics);
    }

    [Fact]
    public async Task Kill_9_of_the_ingestor_mid_stream_loses_nothing_and_the_audit_holds_every_message_once()
    {
        await using var host = await IngestorTestHost.StartAsync(infrastructure);
        await using var rsyslog = await RsyslogDaemon.StartAsync(_dir, ShippedRelpConfig(host.RelpPort));
        // Large enough that a fast, quiet machine is still mid-stream at the kill (40,000 once went through
        // between two polls of the backing-off wait).
        const int total = 100_000;
        var run = Guid.NewGuid().ToString("N")[..8];
        var feeding = rsyslog.SendAsync(Corpus(run, total));

        // Kill while the stream flows: part of it is in Redis, part in flight, the rest in rsyslog's queue.
        // Polled every few milliseconds (not Eventually's backing-off interval), with a deadline.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (await host.QueueLengthAsync() < 2_000)
        {
            Assert.True(DateTime.UtcNow < deadline, "the first part of the stream did not arrive in 30 s");
            await Task.Delay(5);
        }
        await host.KillAsync();
        var atKill = await host.QueueLengthAsync();
        await feeding;
        Assert.True(atKill < total, $"the kill came after the whole stream ({atKill} queued)");
        await host.RestartAsync();

        await Eventually.WaitForAsync(async () => (await host.QueueItemsAsync()).Select(Sequence).Distinct().Count() >= total,
            TimeSpan.FromSeconds(90), "every message after the restart");
        // librelp resends the unanswered frames first on its new session, so they are in by now; check the queue stopped growing.
        var last = -1L;
        await Eventually.WaitForAsync(async () =>
        {
            var now = await host.QueueLengthAsync();
            var stable = now == last;
            last = now;
            return stable;
        }, TimeSpan.FromSeconds(10), "the queue to settle");
        var items = await host.QueueItemsAsync();
        var sequences = items.Select(Sequence).ToList();
        Assert.Equal(Enumerable.Range(0, total), sequences.Distinct().Order());
        var duplicates = sequences.Count - total;
        output.WriteLine($"RELP kill -9: {total} sent, {atKill} queued at the kill, {items.Count} queue items after the restart, {duplicates} duplicates (pushed, not acknowledged before the kill, resent)");

        // The audit (the Alerter's writer and key) keeps each message once: a resend carries the same correlation id and timestamp.
        var connectionString = await infrastructure.CreateDatabaseAsync();
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await using var writer = new AuditWriter(dataSource);
        var rows = items.Select(i =>
        {
            var raw = i.GetRawText();
            var evt = i.Deserialize(MuttJsonContext.Default.MuttEvent)!;
            return new AuditRow(evt.EventTimeUtc(), evt.Hostname!, null, "unhandled", false, evt.CorrelationId!, raw);
        }).ToList();
        var written = 0;
        foreach (var chunk in rows.Chunk(5_000))
        {
            written += await writer.WriteAsync(chunk);
        }
        await using var count = dataSource.CreateCommand("SELECT count(*), count(DISTINCT raw_message->>'message') FROM event_audit_log");
        await using var reader = await count.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        output.WriteLine($"audit: {written} rows written of {rows.Count} items; {duplicates} duplicates absorbed");
        Assert.Equal(total, reader.GetInt64(0));
        Assert.Equal(total, reader.GetInt64(1));
        Assert.Equal(total, written);
    }

    [Fact]
    public async Task Bad_frames_get_an_error_answer_and_the_connections_other_frames_are_kept()
    {
        await using var host = await IngestorTestHost.StartAsync(infrastructure);
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", host.RelpPort);
        var stream = client.GetStream();
        var answers = new RelpAnswers(stream);

        await Send(stream, Frame(1, "open", "relp_version=0\nrelp_software=test\ncommands=syslog"));
        var open = await answers.NextAsync();
        Assert.Equal((1, "rsp"), (open.Txnr, open.Command));
        var offers = Encoding.UTF8.GetString(open.Data);
        Assert.StartsWith("200 OK\n", offers);
        Assert.Contains("relp_version=0", offers);
        Assert.Contains("commands=syslog", offers);

        await Send(stream, Frame(2, "syslog", "<13>Mar 15 11:00:00 host app: first") + Frame(3, "bogus", "") + Frame(4, "syslog", "<13>Mar 15 11:00:01 host app: second"));
        Assert.Equal("200 OK", Text(await answers.NextAsync(2)));
        Assert.StartsWith("500 command not supported: bogus", Text(await answers.NextAsync(3)));
        Assert.Equal("200 OK", Text(await answers.NextAsync(4)));

        // A frame whose DATALEN does not match its data: the frame before it is still pushed and answered, then the session ends.
        await Send(stream, Frame(5, "syslog", "<13>Mar 15 11:00:02 host app: third") + "6 syslog 3 toolong\n");
        Assert.Equal("200 OK", Text(await answers.NextAsync(5)));
        Assert.StartsWith("500 missing frame trailer", Text(await answers.NextAsync(6)));
        var close = await answers.NextAsync();
        Assert.Equal((0, "serverclose"), (close.Txnr, close.Command));
        Assert.True(await answers.AtEndAsync(), "the server closes after a broken frame");

        var items = await host.WaitForItemsAsync(3, "the three good frames");
        Assert.Equal(["first", "second", "third"], items.Select(i => i.GetProperty("message").GetString()));
        var metrics = await host.MetricsAsync();
        Assert.Contains("mutt_syslog_dropped_total{reason=\"relp_unknown_command\"} 1", metrics);
        Assert.Contains("mutt_syslog_dropped_total{reason=\"relp_protocol_error\"} 1", metrics);
    }

    [Fact]
    public async Task Syslog_before_open_is_refused_and_close_is_answered()
    {
        await using var host = await IngestorTestHost.StartAsync(infrastructure);
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", host.RelpPort);
        var stream = client.GetStream();
        var answers = new RelpAnswers(stream);

        await Send(stream, Frame(1, "syslog", "<13>Mar 15 11:00:00 host app: too early"));
        Assert.StartsWith("500 session not open", Text(await answers.NextAsync(1)));
        await Send(stream, Frame(2, "open", "relp_version=0\ncommands=syslog") + Frame(3, "syslog", "<13>Mar 15 11:00:00 host app: in time") + Frame(4, "close", ""));
        Assert.StartsWith("200 OK", Text(await answers.NextAsync(2)));
        Assert.Equal("200 OK", Text(await answers.NextAsync(3)));
        var closed = await answers.NextAsync(4);
        Assert.Empty(closed.Data);
        Assert.True(await answers.AtEndAsync());

        var item = Assert.Single(await host.WaitForItemsAsync(1, "the frame sent after open"));
        Assert.Equal("in time", item.GetProperty("message").GetString());
        Assert.Contains("mutt_syslog_dropped_total{reason=\"relp_not_open\"} 1", await host.MetricsAsync());
    }

    internal static string Frame(long txnr, string command, string data)
    {
        var length = Encoding.UTF8.GetByteCount(data);
        return length == 0 ? $"{txnr} {command} 0\n" : $"{txnr} {command} {length} {data}\n";
    }

    internal static Task Send(NetworkStream stream, string text) => stream.WriteAsync(Encoding.UTF8.GetBytes(text)).AsTask();

    internal static string Text(RelpFrame frame) => Encoding.UTF8.GetString(frame.Data);

    /// <summary>Reads the server's frames with the Ingestor's own framer (the format is symmetric).</summary>
    internal sealed class RelpAnswers(NetworkStream stream)
    {
        private readonly RelpFramer _framer = new(1 << 20);
        private readonly Queue<RelpFrame> _ready = new();
        private readonly byte[] _buffer = new byte[8192];

        public async Task<RelpFrame> NextAsync(long? txnr = null)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            while (_ready.Count == 0)
            {
                var read = await stream.ReadAsync(_buffer, timeout.Token);
                Assert.True(read > 0, "the server closed the connection before answering");
                var frames = new List<RelpFrame>();
                _framer.Feed(_buffer.AsSpan(0, read), frames);
                frames.ForEach(_ready.Enqueue);
            }
            var frame = _ready.Dequeue();
            Assert.Null(frame.Error);
            if (txnr is not null)
            {
                Assert.Equal((txnr.Value, "rsp"), (frame.Txnr, frame.Command));
            }
            return frame;
        }

        public async Task<bool> AtEndAsync()
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            return _ready.Count == 0 && await stream.ReadAsync(_buffer, timeout.Token) == 0;
        }
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
