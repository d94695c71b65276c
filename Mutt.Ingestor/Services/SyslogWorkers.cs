using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Mutt.Core.Events;
using Mutt.Core.Secrets;
using Microsoft.Extensions.Options;
using System.Diagnostics;
using Mutt.Core.Telemetry;
using Mutt.Ingestor.Ingest;
using Mutt.Ingestor.Syslog;

namespace Mutt.Ingestor.Services;

/// <summary>Syslog over UDP: one datagram, one message (RFC 5426). Drops (counted) only when the push buffer is full.</summary>
public sealed class SyslogUdpWorker(IOptions<SyslogOptions> options, IOptions<EventLimits> eventLimits, ListenerQueue queue, IngestMetrics metrics, ILogger<SyslogUdpWorker> logger) : BackgroundService
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
            var parsed = SyslogParser.Parse(frame, receivedAt, eventLimits.Value);
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
public sealed class SyslogTcpWorker(IOptions<SyslogOptions> options, IOptions<EventLimits> eventLimits, IConfiguration configuration, ListenerPusher pusher, IngestMetrics metrics,
    ILogger<SyslogTcpWorker> logger) : BackgroundService
{
    private static readonly KeyValuePair<string, object?> Tcp = new("transport", "tcp");
    private static readonly KeyValuePair<string, object?> Tls = new("transport", "tls");

    /// <summary>How long a stopping Ingestor still tries to push frames it has read.</summary>
    private static readonly TimeSpan ShutdownGrace = TimeSpan.FromSeconds(5);

    private static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(10);

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        if (!settings.SYSLOG_ENABLED)
        {
            return Task.CompletedTask;
        }
        var tcp = StreamListener.RunAsync("Syslog TCP", settings.SYSLOG_BIND, settings.SYSLOG_PORT, settings.SYSLOG_MAX_CONNECTIONS,
            client => HandleAsync(new NetworkStream(client, ownsSocket: false), client.RemoteEndPoint as IPEndPoint, Tcp, settings.SYSLOG_MAX_MESSAGE_BYTES, stoppingToken),
            metrics, logger, stoppingToken);
        // RFC 5425 syslog over TLS: with the service's TLS settings (TLS_CERT_PATH, TLS_KEY_PATH, optional TLS_CLIENT_CA_PATH),
        // or a certificate of its own (SYSLOG_TLS_CERT_PATH/KEY_PATH) that leaves Kestrel's HTTP as it is.
        var tlsSettings = settings.SYSLOG_TLS_ENABLED ? TlsSettings(settings) : null;
        if (tlsSettings is null)
        {
            return tcp;
        }
        var certificate = CertificateTrust.LoadCertificateWithKey(tlsSettings.CertPath, tlsSettings.KeyPath);
        var clientCa = tlsSettings.ClientCaPath is null ? null : CertificateTrust.LoadCertificate(tlsSettings.ClientCaPath);
        var tls = StreamListener.RunAsync("Syslog TLS", settings.SYSLOG_BIND, settings.SYSLOG_TLS_PORT, settings.SYSLOG_MAX_CONNECTIONS,
            client => HandleTlsAsync(client, certificate, clientCa, tlsSettings.RequireClientCertificate, settings.SYSLOG_MAX_MESSAGE_BYTES, stoppingToken),
            metrics, logger, stoppingToken);
        return Task.WhenAll(tcp, tls);
    }

    private MuttHttpsSettings? TlsSettings(SyslogOptions settings)
    {
        if (string.IsNullOrWhiteSpace(settings.SYSLOG_TLS_CERT_PATH))
        {
            return MuttHttpsSettings.FromConfiguration(configuration);
        }
        if (string.IsNullOrWhiteSpace(settings.SYSLOG_TLS_KEY_PATH))
        {
            throw new InvalidOperationException("SYSLOG_TLS_KEY_PATH is required with SYSLOG_TLS_CERT_PATH.");
        }
        var clientCa = configuration["TLS_CLIENT_CA_PATH"];
        return new MuttHttpsSettings(settings.SYSLOG_TLS_CERT_PATH, settings.SYSLOG_TLS_KEY_PATH, string.IsNullOrWhiteSpace(clientCa) ? null : clientCa,
            !string.Equals(configuration["TLS_CLIENT_CERT_MODE"], "allow", StringComparison.OrdinalIgnoreCase));
    }

    private async Task HandleTlsAsync(Socket client, X509Certificate2 certificate, X509Certificate2? clientCa, bool requireClientCertificate, int maxFrame,
        CancellationToken stoppingToken)
    {
        var remote = client.RemoteEndPoint as IPEndPoint;
        string? refusal = null;
        await using var ssl = new SslStream(new NetworkStream(client, ownsSocket: false), leaveInnerStreamOpen: false);
        using var handshake = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        handshake.CancelAfter(HandshakeTimeout);
        try
        {
            await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
            {
                ServerCertificate = certificate,
                EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                ClientCertificateRequired = clientCa is not null,
                RemoteCertificateValidationCallback = (_, presented, _, errors) =>
                {
                    if (clientCa is null)
                    {
                        return true;
                    }
                    if (presented is null)
                    {
                        refusal = requireClientCertificate ? "no client certificate" : null;
                        return !requireClientCertificate;
                    }
                    using var candidate = X509CertificateLoader.LoadCertificate(presented.GetRawCertData());
                    if (CertificateTrust.ChainsTo(candidate, clientCa, errors & ~SslPolicyErrors.RemoteCertificateChainErrors & ~SslPolicyErrors.RemoteCertificateNameMismatch
                        & ~SslPolicyErrors.RemoteCertificateNotAvailable, out var reason))
                    {
                        return true;
                    }
                    refusal = $"client certificate {candidate.Subject}: {reason}";
                    return false;
                },
            }, handshake.Token);
        }
        catch (Exception ex) when (ex is AuthenticationException or IOException or OperationCanceledException && !stoppingToken.IsCancellationRequested)
        {
            metrics.SyslogDropped.Add(1, new KeyValuePair<string, object?>("reason", "tls_refused"));
            logger.LogWarning("Syslog TLS connection from {Remote} REFUSED: {Reason}", remote, refusal ?? ex.Message);
            return;
        }
        await HandleAsync(ssl, remote, Tls, maxFrame, stoppingToken);
    }

    /// <summary>One connection: read, frame, push, and only then read again.</summary>
    private async Task HandleAsync(Stream stream, IPEndPoint? remote, KeyValuePair<string, object?> transport, int maxFrame, CancellationToken stoppingToken)
    {
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
                read = await stream.ReadAsync(buffer, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            if (read == 0)
            {
                framer.Flush(frames);
                await PushAsync(frames, sender, remote, transport, grace.Token);
                return;
            }
            metrics.SyslogBytes.Add(read, transport);
            framer.Feed(buffer.AsSpan(0, read), frames);
            await PushAsync(frames, sender, remote, transport, grace.Token);
        }
    }

    private async Task PushAsync(List<SyslogFrame> frames, string sender, IPEndPoint? remote, KeyValuePair<string, object?> transport, CancellationToken cancellationToken)
    {
        if (frames.Count == 0)
        {
            return;
        }
        var receivedAt = DateTimeOffset.UtcNow;
        // One span per read: the frames that arrived together share a trace.
        using var activity = ListenerTracing.StartReceive(MuttTracing.Spans.SyslogReceive, transport, remote);
        activity?.SetTag(MuttTracing.Tags.MessagingBatchCount, frames.Count);
        var traceParent = MuttTracing.TraceParentOf(activity);
        long errors = 0, truncated = 0;
        var values = new StackExchange.Redis.RedisValue[frames.Count];
        for (var i = 0; i < frames.Count; i++)
        {
            var frame = frames[i];
            var parsed = SyslogParser.Parse(frame.Data, receivedAt, eventLimits.Value);
            if (parsed.ParseError is not null)
            {
                errors++;
            }
            if (frame.Truncated)
            {
                truncated++;
            }
            values[i] = SyslogEventWriter.Write(parsed, sender, receivedAt, frame.Truncated, (string)transport.Value!, traceParent);
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
            logger.LogError("Syslog {Transport}: {Count} messages from {Sender} read but not stored before shutdown; lost", transport.Value, values.Length, sender);
            throw;
        }
        metrics.SyslogReceived.Add(values.Length, transport);
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
