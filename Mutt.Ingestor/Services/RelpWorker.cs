using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;
using Mutt.Core.Events;
using Mutt.Core.Telemetry;
using Mutt.Ingestor.Ingest;
using Mutt.Ingestor.Relp;
using Mutt.Ingestor.Syslog;
using StackExchange.Redis;

namespace Mutt.Ingestor.Services;

/// <summary>
/// RELP listener (rsyslog omrelp). Per connection: read what the socket has, frame it, push every
/// syslog frame of that read in one LPUSH (plus WAIT when INGEST_WAIT_REPLICAS &gt; 0), and only
/// then answer each of them <c>rsp 200 OK</c> and read again. Invariant: an acknowledged frame is
/// in Redis; an unacknowledged one is still the sender's (librelp resends it on its next session,
/// byte for byte, and <see cref="RelpProtocol.CorrelationId"/> maps the resend to the same audit row).
/// In-flight memory per connection is one read plus the frames framed from it: a slow or absent
/// Redis stops the reading, and the sender's window (omrelp windowSize) and queue hold the rest.
/// </summary>
public sealed class RelpWorker(IOptions<SyslogOptions> options, IOptions<EventLimits> eventLimits, ListenerPusher pusher, IngestMetrics metrics, ILogger<RelpWorker> logger) : BackgroundService
{
    private static readonly KeyValuePair<string, object?> Relp = new("transport", "relp");

    /// <summary>How long a stopping Ingestor still tries to push (and acknowledge) frames it has read.</summary>
    private static readonly TimeSpan ShutdownGrace = TimeSpan.FromSeconds(5);

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        if (!settings.SYSLOG_ENABLED || !settings.RELP_ENABLED)
        {
            return Task.CompletedTask;
        }
        return StreamListener.RunAsync("RELP", settings.SYSLOG_BIND, settings.RELP_PORT, settings.SYSLOG_MAX_CONNECTIONS,
            client => HandleAsync(client, settings.SYSLOG_MAX_MESSAGE_BYTES, stoppingToken), metrics, logger, stoppingToken);
    }

    private async Task HandleAsync(Socket client, int maxData, CancellationToken stoppingToken)
    {
        var remote = client.RemoteEndPoint as IPEndPoint;
        var sender = remote?.Address.ToString() ?? "unknown";
        var framer = new RelpFramer(maxData);
        var frames = new List<RelpFrame>();
        var output = new ArrayBufferWriter<byte>(4096);
        var batch = new Batch(eventLimits.Value);
        var buffer = new byte[64 * 1024];
        var open = false;
        // Pushes outlive the stop signal by a grace period: frames already read are pushed and acknowledged if Redis allows.
        using var grace = CancellationTokenSource.CreateLinkedTokenSource(CancellationToken.None);
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
                // Shutdown: everything read so far is answered; tell the client to reconnect elsewhere/later.
                await SendAsync(client, RelpProtocol.ServerClose.ToArray(), grace.Token);
                return;
            }
            if (read == 0)
            {
                // The client went away: anything it sent without an answer is its to resend.
                return;
            }
            metrics.SyslogBytes.Add(read, Relp);
            framer.Feed(buffer.AsSpan(0, read), frames);
            var receivedAt = DateTimeOffset.UtcNow;
            // One span per read: the frames that arrived together share a trace (null, and free, when nothing listens).
            using var activity = frames.Count > 0 ? ListenerTracing.StartReceive(MuttTracing.Spans.SyslogReceive, Relp, remote) : null;
            activity?.SetTag(MuttTracing.Tags.MessagingBatchCount, frames.Count);
            var traceParent = MuttTracing.TraceParentOf(activity);
            var keepOpen = true;
            foreach (var frame in frames)
            {
                if (frame.Error is not null)
                {
                    // Frames before the broken one are pushed and answered first: the error costs only what follows it.
                    await FlushAsync(batch, output, grace.Token);
                    Reject(output, frame, "protocol_error", frame.Error, sender);
                    output.Write(RelpProtocol.ServerClose);
                    keepOpen = false;
                    break;
                }
                switch (frame.Command)
                {
                    case "syslog" when open:
                        batch.Add(frame, sender, receivedAt, traceParent);
                        break;
                    case "syslog":
                        // Answers go out in frame order: the frames before this one are pushed and answered first.
                        keepOpen = await FlushAsync(batch, output, grace.Token);
                        Reject(output, frame, "not_open", "session not open: send open first", sender);
                        break;
                    case "open":
                        keepOpen = await FlushAsync(batch, output, grace.Token);
                        RelpProtocol.WriteOpenAnswer(output, frame.Txnr, frame.Data);
                        open = true;
                        logger.LogDebug("RELP session opened by {Sender}", sender);
                        break;
                    case "close":
                        if (await FlushAsync(batch, output, grace.Token))
                        {
                            RelpProtocol.WriteCloseOk(output, frame.Txnr);
                        }
                        keepOpen = false;
                        break;
                    default:
                        keepOpen = await FlushAsync(batch, output, grace.Token);
                        Reject(output, frame, "unknown_command", $"command not supported: {frame.Command}", sender);
                        break;
                }
                if (!keepOpen)
                {
                    break;
                }
            }
            frames.Clear();
            if (keepOpen)
            {
                keepOpen = await FlushAsync(batch, output, grace.Token);
            }
            if (output.WrittenCount > 0)
            {
                await SendAsync(client, output.WrittenMemory, grace.Token);
                output.Clear();
            }
            if (!keepOpen)
            {
                return;
            }
        }
    }

    /// <summary>
    /// Pushes the batch and writes its acknowledgements. False when the connection must end without
    /// them: the push was not confirmed by the replicas (durable-ack option) or the grace period ran
    /// out; the sender then resends on its next session.
    /// </summary>
    private async Task<bool> FlushAsync(Batch batch, ArrayBufferWriter<byte> output, CancellationToken cancellationToken)
    {
        if (batch.Count == 0)
        {
            return true;
        }
        try
        {
            if (await pusher.PushAsync(batch.Values(), "syslog", durable: true, cancellationToken) != PushOutcome.Pushed)
            {
                return false;
            }
        }
        catch (OperationCanceledException)
        {
            logger.LogWarning("RELP: shutdown before {Count} frames could be pushed; they are not acknowledged (the sender resends them)", batch.Count);
            return false;
        }
        metrics.SyslogReceived.Add(batch.Count, Relp);
        if (batch.ParseErrors > 0)
        {
            metrics.SyslogParseErrors.Add(batch.ParseErrors);
        }
        if (batch.Truncated > 0)
        {
            metrics.SyslogTruncated.Add(batch.Truncated);
        }
        foreach (var txnr in batch.Txnrs)
        {
            RelpProtocol.WriteOk(output, txnr);
        }
        batch.Clear();
        return true;
    }

    private void Reject(ArrayBufferWriter<byte> output, RelpFrame frame, string reason, string error, string sender)
    {
        metrics.SyslogDropped.Add(1, new KeyValuePair<string, object?>("reason", "relp_" + reason));
        logger.LogWarning("RELP frame {Txnr} ({Command}) from {Sender} refused: {Error}", frame.Txnr, frame.Command, sender, error);
        RelpProtocol.WriteError(output, frame.Txnr, error);
    }

    private static async Task SendAsync(Socket client, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        try
        {
            while (data.Length > 0)
            {
                var sent = await client.SendAsync(data, SocketFlags.None, cancellationToken);
                data = data[sent..];
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>The syslog frames of one read, as queue items, with the txnrs to acknowledge once they are pushed.</summary>
    private sealed class Batch(EventLimits limits)
    {
        private readonly List<RedisValue> _values = [];

        public List<long> Txnrs { get; } = [];
        public int Count => _values.Count;
        public long ParseErrors { get; private set; }
        public long Truncated { get; private set; }

        public void Add(RelpFrame frame, string sender, DateTimeOffset receivedAt, string? traceParent)
        {
            var parsed = SyslogParser.Parse(frame.Data, receivedAt, limits);
            if (parsed.ParseError is not null)
            {
                ParseErrors++;
            }
            if (frame.Truncated)
            {
                Truncated++;
            }
            _values.Add(SyslogEventWriter.Write(parsed, sender, receivedAt, frame.Truncated, "relp", traceParent, RelpProtocol.CorrelationId(sender, frame.Data)));
            Txnrs.Add(frame.Txnr);
        }

        public RedisValue[] Values() => [.. _values];

        public void Clear()
        {
            _values.Clear();
            Txnrs.Clear();
            ParseErrors = 0;
            Truncated = 0;
        }
    }
}
