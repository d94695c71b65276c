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
        using var socket = UdpReceiver.Bind(settings.SYSLOG_BIND, settings.SYSLOG_PORT, 8 * 1024 * 1024);
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
/// connection. When the push buffer is full the connection's reader waits, so TCP flow control
/// slows the sender instead of memory growing.
/// </summary>
public sealed class SyslogTcpWorker(IOptions<SyslogOptions> options, ListenerQueue queue, IngestMetrics metrics, ILogger<SyslogTcpWorker> logger) : BackgroundService
{
    private static readonly KeyValuePair<string, object?> Tcp = new("transport", "tcp");
    private int _connections;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        if (!settings.SYSLOG_ENABLED)
        {
            return;
        }
        var endpoint = new IPEndPoint(IPAddress.Parse(settings.SYSLOG_BIND), settings.SYSLOG_PORT);
        using var listener = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        listener.Bind(endpoint);
        listener.Listen(1024);
        logger.LogInformation("Syslog TCP listening on {Endpoint}", endpoint);
        var connections = new List<Task>();
        while (!stoppingToken.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            catch (SocketException ex)
            {
                logger.LogDebug("Syslog TCP accept error {Error}", ex.SocketErrorCode);
                continue;
            }
            if (Interlocked.Increment(ref _connections) > settings.SYSLOG_MAX_CONNECTIONS)
            {
                Interlocked.Decrement(ref _connections);
                metrics.SyslogDropped.Add(1, new KeyValuePair<string, object?>("reason", "too_many_connections"));
                logger.LogWarning("Syslog TCP connection refused: {Max} connections open", settings.SYSLOG_MAX_CONNECTIONS);
                client.Dispose();
                continue;
            }
            connections.RemoveAll(t => t.IsCompleted);
            connections.Add(HandleAsync(client, settings.SYSLOG_MAX_MESSAGE_BYTES, stoppingToken));
        }
        await Task.WhenAll(connections);
    }

    private async Task HandleAsync(Socket client, int maxFrame, CancellationToken stoppingToken)
    {
        var remote = client.RemoteEndPoint as IPEndPoint;
        var sender = remote?.Address.ToString() ?? "unknown";
        var framer = new SyslogFramer(maxFrame);
        var frames = new List<SyslogFrame>();
        var buffer = new byte[32 * 1024];
        try
        {
            using (client)
            {
                while (true)
                {
                    var read = await client.ReceiveAsync(buffer, SocketFlags.None, stoppingToken);
                    if (read == 0)
                    {
                        framer.Flush(frames);
                        await EnqueueAsync(frames, sender, remote, stoppingToken);
                        break;
                    }
                    metrics.SyslogBytes.Add(read, Tcp);
                    framer.Feed(buffer.AsSpan(0, read), frames);
                    await EnqueueAsync(frames, sender, remote, stoppingToken);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (SocketException ex)
        {
            logger.LogDebug("Syslog TCP connection from {Sender} ended: {Error}", sender, ex.SocketErrorCode);
        }
        finally
        {
            Interlocked.Decrement(ref _connections);
        }
    }

    private async ValueTask EnqueueAsync(List<SyslogFrame> frames, string sender, IPEndPoint? remote, CancellationToken stoppingToken)
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
        foreach (var frame in frames)
        {
            var parsed = SyslogParser.Parse(frame.Data, receivedAt);
            if (parsed.ParseError is not null)
            {
                errors++;
            }
            if (frame.Truncated)
            {
                truncated++;
            }
            await queue.EnqueueAsync(SyslogEventWriter.Write(parsed, sender, receivedAt, frame.Truncated, "tcp", traceParent), stoppingToken);
        }
        metrics.SyslogReceived.Add(frames.Count, Tcp);
        if (errors > 0)
        {
            metrics.SyslogParseErrors.Add(errors);
        }
        if (truncated > 0)
        {
            metrics.SyslogTruncated.Add(truncated);
        }
        frames.Clear();
    }
}

