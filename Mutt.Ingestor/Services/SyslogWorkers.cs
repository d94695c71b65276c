using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;
using System.Diagnostics;
using Mutt.Core.Telemetry;
using Mutt.Ingestor.Ingest;
using Mutt.Ingestor.Syslog;

namespace Mutt.Ingestor.Services;

/// <summary>Syslog over UDP: one datagram, one message (RFC 5426). Drops (counted) only when the push buffer is full.</summary>
public sealed class SyslogUdpWorker(IOptions<SyslogOptions> options, ListenerQueue queue, IngestMetrics metrics, ILogger<SyslogUdpWorker> logger) : BackgroundService
{
    private static readonly KeyValuePair<string, object?> Udp = new("transport", "udp");

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        if (!settings.SYSLOG_ENABLED)
        {
            return;
        }
        using var socket = UdpReceiver.Bind(settings.SYSLOG_BIND, settings.SYSLOG_PORT, settings.SYSLOG_UDP_RCVBUF, logger, "Syslog UDP");
        metrics.UdpKernelDrops.Watch("syslog", socket);
        logger.LogInformation("Syslog UDP listening on {Endpoint}", socket.LocalEndPoint);
        var buffer = new byte[65_536];
        await foreach (var (length, remote) in UdpReceiver.ReceiveAsync(socket, buffer, logger, "Syslog UDP", stoppingToken))
        {
            var receivedAt = DateTimeOffset.UtcNow;
            // One datagram, one message, one trace (null, and free, when nothing listens).
            using var activity = ListenerTracing.StartReceive(MuttTracing.Spans.SyslogReceive, Udp, remote);
            metrics.SyslogBytes.Add(length, Udp);
            metrics.SyslogReceived.Add(1, Udp);
            var truncated = length > settings.SYSLOG_MAX_MESSAGE_BYTES;
            if (truncated)
            {
                metrics.SyslogTruncated.Add(1);
            }
            var frame = buffer.AsSpan(0, Math.Min(length, settings.SYSLOG_MAX_MESSAGE_BYTES));
            var sender = remote.Address.ToString();
            var parsed = SyslogParser.Parse(frame, receivedAt);
            if (parsed.ParseError is not null)
            {
                metrics.SyslogParseErrors.Add(1);
            }
            if (!queue.TryEnqueue(SyslogEventWriter.Write(parsed, sender, receivedAt, truncated, "udp", MuttTracing.TraceParentOf(activity))))
            {
                activity?.SetStatus(ActivityStatusCode.Error, "buffer_full");
                metrics.SyslogDropped.Add(1, new KeyValuePair<string, object?>("reason", "buffer_full"));
                logger.LogWarning("Syslog UDP message from {Sender} dropped: push buffer full (Redis slow or down)", sender);
            }
        }
    }
}

/// <summary>
/// Syslog over TCP (RFC 6587, octet counting or newline framing per frame), one task per
/// connection, and no shared buffer: each connection reads, pushes what it read to Redis (one
/// LPUSH), and only then reads again. At most one read (32 KiB) plus one partial frame is in
/// flight per connection, so a slow or absent Redis stops the reading and TCP flow control holds
/// the sender (rsyslog's disk queue) instead of the Ingestor's memory filling. Plain TCP has no
/// acknowledgement: what was read but not yet pushed when the process dies is lost, as is what
/// the kernel buffers held. RELP (<see cref="RelpWorker"/>) closes that gap.
/// </summary>
public sealed class SyslogTcpWorker(IOptions<SyslogOptions> options, ListenerPusher pusher, IngestMetrics metrics, ILogger<SyslogTcpWorker> logger) : BackgroundService
{
    private static readonly KeyValuePair<string, object?> Tcp = new("transport", "tcp");

    /// <summary>How long a stopping Ingestor still tries to push frames it has read.</summary>
    private static readonly TimeSpan ShutdownGrace = TimeSpan.FromSeconds(5);

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        if (!settings.SYSLOG_ENABLED)
        {
            return Task.CompletedTask;
        }
        return StreamListener.RunAsync("Syslog TCP", settings.SYSLOG_BIND, settings.SYSLOG_PORT, settings.SYSLOG_MAX_CONNECTIONS,
            client => HandleAsync(client, settings.SYSLOG_MAX_MESSAGE_BYTES, stoppingToken), metrics, logger, stoppingToken);
    }

    private async Task HandleAsync(Socket client, int maxFrame, CancellationToken stoppingToken)
    {
        var remote = client.RemoteEndPoint as IPEndPoint;
        var sender = remote?.Address.ToString() ?? "unknown";
        var framer = new SyslogFramer(maxFrame);
        var frames = new List<SyslogFrame>();
        var buffer = new byte[32 * 1024];
        using var grace = new CancellationTokenSource();
        using var stopping = stoppingToken.Register(() => grace.CancelAfter(ShutdownGrace));
        while (true)
        {
            int read;
            try
            {
                read = await client.ReceiveAsync(buffer, SocketFlags.None, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            if (read == 0)
            {
                framer.Flush(frames);
                await PushAsync(frames, sender, remote, grace.Token);
                return;
            }
            metrics.SyslogBytes.Add(read, Tcp);
            framer.Feed(buffer.AsSpan(0, read), frames);
            await PushAsync(frames, sender, remote, grace.Token);
        }
    }

    private async Task PushAsync(List<SyslogFrame> frames, string sender, IPEndPoint? remote, CancellationToken cancellationToken)
    {
        if (frames.Count == 0)
        {
            return;
        }
        var receivedAt = DateTimeOffset.UtcNow;
        // One span per read: the frames that arrived together share a trace.
        using var activity = ListenerTracing.StartReceive(MuttTracing.Spans.SyslogReceive, Tcp, remote);
        activity?.SetTag(MuttTracing.Tags.MessagingBatchCount, frames.Count);
        var traceParent = MuttTracing.TraceParentOf(activity);
        long errors = 0, truncated = 0;
        var values = new StackExchange.Redis.RedisValue[frames.Count];
        for (var i = 0; i < frames.Count; i++)
        {
            var frame = frames[i];
            var parsed = SyslogParser.Parse(frame.Data, receivedAt);
            if (parsed.ParseError is not null)
            {
                errors++;
            }
            if (frame.Truncated)
            {
                truncated++;
            }
            values[i] = SyslogEventWriter.Write(parsed, sender, receivedAt, frame.Truncated, "tcp", traceParent);
        }
        frames.Clear();
        try
        {
            await pusher.PushAsync(values, "syslog", durable: false, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // Only at shutdown, after the grace period: read from the socket, never stored. Plain TCP cannot hand it back.
            activity?.SetStatus(ActivityStatusCode.Error, "shutdown");
            metrics.SyslogDropped.Add(values.Length, new KeyValuePair<string, object?>("reason", "shutdown"));
            logger.LogError("Syslog TCP: {Count} messages from {Sender} read but not stored before shutdown; lost", values.Length, sender);
            throw;
        }
        metrics.SyslogReceived.Add(values.Length, Tcp);
        if (errors > 0)
        {
            metrics.SyslogParseErrors.Add(errors);
        }
        if (truncated > 0)
        {
            metrics.SyslogTruncated.Add(truncated);
        }
    }
}
