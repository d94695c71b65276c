using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Mutt.Testing;
using Mutt.Core.Events;
using Mutt.Tests.Infrastructure;

namespace Mutt.Tests.Integration;

/// <summary>Real syslog clients (util-linux logger, raw sockets) against the running Ingestor's listeners.</summary>
[Collection(InfrastructureCollection.Name)]
[Trait("Category", "Integration")]
public sealed class SyslogListenerTests(InfrastructureFixture infrastructure)
{
    public static TheoryData<string, string[], string, string?> LoggerModes => new()
    {
        // name, logger flags, expected format, expected transport
        { "udp rfc5424", ["--udp", "--rfc5424"], "rfc5424", "udp" },
        { "udp rfc3164", ["--udp", "--rfc3164"], "rfc3164", "udp" },
        { "tcp rfc5424 newline", ["--tcp", "--rfc5424"], "rfc5424", "tcp" },
        { "tcp rfc5424 octet-count", ["--tcp", "--octet-count", "--rfc5424"], "rfc5424", "tcp" },
        { "tcp rfc3164 octet-count", ["--tcp", "--octet-count", "--rfc3164"], "rfc3164", "tcp" },
        { "tcp rfc3164 newline", ["--tcp", "--rfc3164"], "rfc3164", "tcp" },
    };

    [Theory]
    [MemberData(nameof(LoggerModes))]
    public async Task Logger_messages_arrive_intact(string mode, string[] flags, string format, string? transport)
    {
        await using var host = await IngestorTestHost.StartAsync(infrastructure);
        var text = $"link down on Gi0/1 ({mode}) {Guid.NewGuid():N}";
        string[] args = ["--server", "127.0.0.1", "--port", host.SyslogPort.ToString(), .. flags, "-t", "mutt-test", "-p", "local4.err", "--id=4242"];
        if (format == "rfc5424")
        {
            args = [.. args, "--sd-id", "zoo@32473", "--sd-param", "tiger=\"hungry\""];
        }
        await NativeProcess.RunAsync("logger", [.. args, text], TimeSpan.FromSeconds(20));

        var item = Assert.Single(await host.WaitForItemsAsync(1, $"the {mode} message"));
        var evt = item.Deserialize(MuttJsonContext.Default.MuttEvent)!;
        Assert.Equal(text, evt.Message);
        Assert.Equal(3, evt.SyslogSeverity);
        Assert.Equal("syslog", evt.Source);
        Assert.Equal(Environment.MachineName, evt.Hostname, ignoreCase: true);
        Assert.NotNull(evt.CorrelationId);
        Assert.True(DateTimeOffset.UtcNow - evt.EventTimeUtc() < TimeSpan.FromHours(25), $"timestamp {evt.Timestamp}");
        Assert.Equal(20, evt.Extra!["facility"].GetInt32());
        Assert.Equal("mutt-test", evt.Extra["app_name"].GetString());
        Assert.Equal("4242", evt.Extra["procid"].GetString());
        Assert.Equal(format, evt.Extra["syslog_format"].GetString());
        Assert.Equal(transport, evt.Extra["transport"].GetString());
        Assert.Equal("127.0.0.1", evt.Extra["sender"].GetString());
        Assert.False(evt.Extra.ContainsKey("parse_error"));
        if (format == "rfc5424")
        {
            Assert.Equal("hungry", evt.Extra["structured_data"].GetProperty("zoo@32473").GetProperty("tiger").GetString());
        }
    }

    [Fact]
    public async Task Many_concurrent_tcp_connections_with_mixed_framing_lose_nothing()
    {
        await using var host = await IngestorTestHost.StartAsync(infrastructure);
        const int connections = 50, perConnection = 40;
        await Task.WhenAll(Enumerable.Range(0, connections).Select(async c =>
        {
            using var client = new TcpClient();
            await client.ConnectAsync("127.0.0.1", host.SyslogPort);
            var stream = client.GetStream();
            var payload = new StringBuilder();
            for (var i = 0; i < perConnection; i++)
            {
                var message = $"<14>1 2025-03-15T11:00:00Z host{c} app - - - message {c}-{i}";
                payload.Append(i % 2 == 0 ? $"{Encoding.UTF8.GetByteCount(message)} {message}" : message + "\n");
            }
            await stream.WriteAsync(Encoding.UTF8.GetBytes(payload.ToString()));
        }));

        var items = await host.WaitForItemsAsync(connections * perConnection, "every TCP message");
        var messages = items.Select(i => i.GetProperty("message").GetString()).ToHashSet();
        Assert.Equal(connections * perConnection, messages.Count);
        Assert.Contains("message 49-39", messages);
    }

    [Fact]
    public async Task Tcp_sender_is_held_while_redis_is_down_without_memory_growth_and_everything_arrives_after()
    {
        var (started, stopped) = await IngestorTestHost.StartWithRedisDownAsync(infrastructure, "tcp-redis");
        await using var host = started;
        await using var redisDown = stopped;
        const int total = 100_000;
        var payload = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(0, total)
            .Select(i => $"<14>1 2025-03-15T11:00:00Z host app - - - held while redis is down, message number {i:D6} {new string('x', 60)}\n")));
        var rssBefore = RssBytes(host.Pid);
        long written = 0;
        using var client = new TcpClient { SendBufferSize = 64 * 1024 };
        await client.ConnectAsync("127.0.0.1", host.SyslogPort);
        var stream = client.GetStream();
        var writer = Task.Run(async () =>
        {
            for (var offset = 0; offset < payload.Length; offset += 16 * 1024)
            {
                var length = Math.Min(16 * 1024, payload.Length - offset);
                await stream.WriteAsync(payload.AsMemory(offset, length));
                Interlocked.Add(ref written, length);
            }
        });

        // The sender stalls: the Ingestor stopped reading (its one in-flight read waits for Redis), so the socket buffers fill.
        long previous = -1;
        var unchanged = 0;
        await Eventually.WaitForAsync(() =>
        {
            var now = Interlocked.Read(ref written);
            unchanged = now == previous ? unchanged + 1 : 0;
            previous = now;
            return Task.FromResult(unchanged >= 4);
        }, TimeSpan.FromSeconds(30), "the TCP sender to be held");
        Assert.False(writer.IsCompleted, "the whole payload was taken while Redis was down");
        Assert.True(previous < payload.Length / 2, $"{previous} of {payload.Length} bytes taken while Redis was down");
        var growth = RssBytes(host.Pid) - rssBefore;
        Assert.True(growth < 40L * 1024 * 1024, $"Ingestor RSS grew by {growth / 1024 / 1024} MiB while Redis was down");

        var redis = await stopped.StartAgainAsync();
        await writer.WaitAsync(TimeSpan.FromSeconds(60));
        client.Client.Shutdown(SocketShutdown.Send);
        using var check = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        await Eventually.WaitForAsync(async () => await check.GetDatabase().ListLengthAsync(host.QueueName) >= total, TimeSpan.FromSeconds(45), "every held message");
        var stored = await check.GetDatabase().ListRangeAsync(host.QueueName);
        Assert.Equal(total, stored.Select(v => JsonDocument.Parse((string)v!).RootElement.GetProperty("message").GetString()).Distinct().Count());
    }

    [Fact]
    public async Task Udp_flood_beyond_the_receive_buffer_shows_in_the_kernel_drop_counter_and_every_datagram_is_accounted_for()
    {
        await using var host = await IngestorTestHost.StartAsync(infrastructure, new Dictionary<string, string?> { ["SYSLOG_UDP_RCVBUF"] = "4096" });
        Assert.Matches("mutt_ingest_udp_drops_total\\{listener=\"syslog\"\\} 0", await host.MetricsAsync());
        Assert.Matches("mutt_ingest_udp_drops_total\\{listener=\"snmp\"\\} 0", await host.MetricsAsync());
        const int sent = 50_000;
        using (var udp = new UdpClient())
        {
            udp.Connect("127.0.0.1", host.SyslogPort);
            var datagram = Encoding.UTF8.GetBytes("<14>1 2025-03-15T11:00:00Z host app - - - flood " + new string('x', 200));
            for (var i = 0; i < sent; i++)
            {
                udp.Send(datagram);
            }
        }

        // On loopback a datagram is either read by MUTT or dropped by the kernel at the full buffer: the two add up to what was sent.
        var (received, dropped) = await Eventually.WaitForAsync(async () =>
        {
            var metrics = await host.MetricsAsync();
            return (Received: Value(metrics, "mutt_syslog_messages_received_total{transport=\"udp\"}"), Dropped: Value(metrics, "mutt_ingest_udp_drops_total{listener=\"syslog\"}"));
        }, m => m.Received + m.Dropped >= sent, TimeSpan.FromSeconds(30), "received + kernel drops to reach the datagrams sent");
        Assert.True(dropped > 0, "a 4 KiB receive buffer under a 50,000-datagram flood dropped nothing?");
        Assert.Equal(sent, received + dropped);
    }

    private static long Value(string exposition, string series)
    {
        var line = exposition.Split('\n').FirstOrDefault(l => l.StartsWith(series + " ", StringComparison.Ordinal));
        return line is null ? 0 : (long)double.Parse(line[(series.Length + 1)..].Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static long RssBytes(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
    }

    [Fact]
    public async Task Oversized_frame_is_cut_and_flagged_and_the_connection_keeps_working()
    {
        await using var host = await IngestorTestHost.StartAsync(infrastructure, new Dictionary<string, string?> { ["SYSLOG_MAX_MESSAGE_BYTES"] = "1024" });
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", host.SyslogPort);
        var huge = "<13>Mar 15 11:00:00 host app: " + new string('x', 1_000_000);
        await client.GetStream().WriteAsync(Encoding.UTF8.GetBytes($"{huge.Length} {huge}<13>Mar 15 11:00:01 host app: after\n"));

        var items = await host.WaitForItemsAsync(2, "the cut frame and the next one");
        Assert.Equal(2, items.Count);
        Assert.True(items[0].GetProperty("truncated").GetBoolean());
        Assert.True(items[0].GetProperty("message").GetString()!.Length < 1024);
        Assert.Equal("after", items[1].GetProperty("message").GetString());
        Assert.Contains("mutt_syslog_truncated_total", await host.MetricsAsync());
    }

    [Fact]
    public async Task Unparseable_datagram_is_enqueued_raw_with_parse_error_and_counted()
    {
        await using var host = await IngestorTestHost.StartAsync(infrastructure);
        using var udp = new UdpClient();
        await udp.SendAsync(Encoding.UTF8.GetBytes("<999>this is not syslog"), "127.0.0.1", host.SyslogPort);

        var item = Assert.Single(await host.WaitForItemsAsync(1, "the raw message"));
        Assert.Equal("<999>this is not syslog", item.GetProperty("message").GetString());
        Assert.Equal("127.0.0.1", item.GetProperty("hostname").GetString());
        Assert.True(item.TryGetProperty("parse_error", out _));
        Assert.Contains("mutt_syslog_parse_errors_total 1", await host.MetricsAsync());
    }
}
