using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Mutt.Core.Events;
using Mutt.Core.Telemetry;
using Mutt.Ingestor.Ingest;
using Mutt.Ingestor.Snmp;

namespace Mutt.Ingestor.Services;

/// <summary>
/// SNMP notification receiver on UDP: v1 traps, v2c traps and informs. Traps go through the
/// bounded listener buffer (nobody is told anything, so nothing waits on Redis). An inform is
/// pushed to Redis on its own and answered with a Response PDU only once the push succeeded
/// (invariant: a Response means the event is in Redis); if Redis does not take it, no Response,
/// and the agent retransmits. A retransmission carries the same bytes, so its correlation id
/// (derived from sender and datagram) maps it to the same audit row. Wrong community and
/// undecodable datagrams are counted and dropped; UDP has no one to tell.
/// </summary>
public sealed class SnmpTrapWorker(IOptions<SnmpOptions> options, IOptions<EventLimits> eventLimits, ListenerQueue queue, ListenerPusher pusher, IngestMetrics metrics,
    ILogger<SnmpTrapWorker> logger) : BackgroundService
{
    private static readonly KeyValuePair<string, object?> Udp = new("transport", "udp");

    /// <summary>
    /// Informs being pushed at once. Bounded so a Redis outage cannot pile up tasks: beyond it an
    /// inform is dropped unanswered (counted), which is safe because its agent retransmits.
    /// </summary>
    public const int MaxInformsInFlight = 1024;

    private readonly SemaphoreSlim _informSlots = new(MaxInformsInFlight, MaxInformsInFlight);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        if (!settings.SNMP_ENABLED)
        {
            return;
        }
        var communities = settings.SNMP_COMMUNITIES.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(c => Encoding.UTF8.GetBytes(c)).ToArray();
        using var socket = UdpReceiver.Bind(settings.SNMP_BIND, settings.SNMP_PORT, settings.SNMP_UDP_RCVBUF, logger, "SNMP");
        metrics.UdpKernelDrops.Watch("snmp", socket);
        logger.LogInformation("SNMP trap receiver listening on {Endpoint}", socket.LocalEndPoint);
        var buffer = new byte[65_536];
        await foreach (var (length, remote) in UdpReceiver.ReceiveAsync(socket, buffer, logger, "SNMP", stoppingToken))
        {
            var receivedAt = DateTimeOffset.UtcNow;
            var sender = remote.Address.ToString();
            using var activity = ListenerTracing.StartReceive(MuttTracing.Spans.SnmpReceive, Udp, remote);
            SnmpTrap trap;
            try
            {
                trap = SnmpDecoder.Decode(buffer.AsMemory(0, length).ToArray());
            }
            catch (SnmpDecodeException ex)
            {
                activity?.SetStatus(ActivityStatusCode.Error, "decode_error");
                metrics.SnmpDecodeErrors.Add(1);
                metrics.SnmpDropped.Add(1, new KeyValuePair<string, object?>("reason", "decode_error"));
                logger.LogDebug("SNMP datagram from {Sender} ({Bytes} bytes) dropped: {Error}", sender, length, ex.Message);
                continue;
            }
            var community = Encoding.UTF8.GetBytes(trap.Community);
            if (!communities.Any(allowed => CryptographicOperations.FixedTimeEquals(allowed, community)))
            {
                activity?.SetStatus(ActivityStatusCode.Error, "community");
                metrics.SnmpDropped.Add(1, new KeyValuePair<string, object?>("reason", "community"));
                logger.LogWarning("SNMP {Version} {Pdu} from {Sender} dropped: community not allowed", trap.Version, trap.PduType, sender);
                continue;
            }
            activity?.SetTag("snmp.pdu_type", trap.PduType).SetTag("snmp.trap_oid", trap.TrapOid);
            if (trap.PduType == "inform")
            {
                if (!_informSlots.Wait(0))
                {
                    activity?.SetStatus(ActivityStatusCode.Error, "informs_in_flight");
                    metrics.SnmpDropped.Add(1, new KeyValuePair<string, object?>("reason", "informs_in_flight"));
                    logger.LogWarning("SNMP inform from {Sender} not answered: {Max} informs already waiting for Redis; the agent will retransmit", sender, MaxInformsInFlight);
                    continue;
                }
                var correlationId = InformCorrelationId(sender, buffer.AsSpan(0, length));
                var item = Write(trap, sender, receivedAt, MuttTracing.TraceParentOf(activity), correlationId);
                _ = AcknowledgeAfterPushAsync(socket, trap, item, remote, stoppingToken);
                continue;
            }
            if (!queue.TryEnqueue(Write(trap, sender, receivedAt, MuttTracing.TraceParentOf(activity), null)))
            {
                activity?.SetStatus(ActivityStatusCode.Error, "buffer_full");
                metrics.SnmpDropped.Add(1, new KeyValuePair<string, object?>("reason", "buffer_full"));
                logger.LogWarning("SNMP {Pdu} from {Sender} dropped: push buffer full (Redis slow or down)", trap.PduType, sender);
                continue;
            }
            metrics.SnmpReceived.Add(1, new KeyValuePair<string, object?>("version", trap.Version));
        }
    }

    /// <summary>The queue item, held to MAX_MESSAGE_BYTES; a cut summary is a counted parse error.</summary>
    private byte[] Write(SnmpTrap trap, string sender, DateTimeOffset receivedAt, string? traceParent, string? correlationId)
    {
        var item = SnmpEventWriter.Write(trap, sender, receivedAt, traceParent, correlationId, eventLimits.Value, out var parseError);
        if (parseError is not null)
        {
            metrics.SnmpParseErrors.Add(1);
            logger.LogDebug("SNMP {Pdu} from {Sender}: {Error}", trap.PduType, sender, parseError);
        }
        return item;
    }

    /// <summary>Pushes one inform (with WAIT when INGEST_WAIT_REPLICAS &gt; 0) and answers it only if Redis took it.</summary>
    private async Task AcknowledgeAfterPushAsync(Socket socket, SnmpTrap trap, byte[] item, IPEndPoint remote, CancellationToken stoppingToken)
    {
        try
        {
            if (!await pusher.TryPushOnceAsync([item], "snmp"))
            {
                metrics.SnmpDropped.Add(1, new KeyValuePair<string, object?>("reason", "redis_unavailable"));
                logger.LogWarning("SNMP inform from {Sender} not answered: Redis did not take it; the agent will retransmit", remote.Address);
                return;
            }
            metrics.SnmpReceived.Add(1, new KeyValuePair<string, object?>("version", trap.Version));
            await socket.SendToAsync(SnmpDecoder.EncodeInformResponse(trap), SocketFlags.None, remote, stoppingToken);
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // In Redis but unanswered: the agent retransmits and the audit absorbs the duplicate (same correlation id).
            logger.LogDebug("SNMP inform response to {Sender} failed: {Error}", remote.Address, ex.Message);
        }
        finally
        {
            _informSlots.Release();
        }
    }

    /// <summary>"snmp-" + a hash of sender and datagram: a retransmitted inform (same request-id, same bytes) gets the same id.</summary>
    public static string InformCorrelationId(string sender, ReadOnlySpan<byte> datagram) => ResendStableId.Of("snmp-", sender, datagram);
}
