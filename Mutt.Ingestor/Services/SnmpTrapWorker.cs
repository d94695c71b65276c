using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Mutt.Core.Telemetry;
using Mutt.Ingestor.Ingest;
using Mutt.Ingestor.Snmp;

namespace Mutt.Ingestor.Services;

/// <summary>
/// SNMP notification receiver on UDP: v1 traps, v2c traps and informs (answered with a Response
/// PDU once the event is buffered). Wrong community and undecodable datagrams are counted and
/// dropped; UDP has no one to tell.
/// </summary>
public sealed class SnmpTrapWorker(IOptions<SnmpOptions> options, ListenerQueue queue, IngestMetrics metrics, ILogger<SnmpTrapWorker> logger) : BackgroundService
{
    private static readonly KeyValuePair<string, object?> Udp = new("transport", "udp");

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        if (!settings.SNMP_ENABLED)
        {
            return;
        }
        var communities = settings.SNMP_COMMUNITIES.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(c => Encoding.UTF8.GetBytes(c)).ToArray();
        using var socket = UdpReceiver.Bind(settings.SNMP_BIND, settings.SNMP_PORT, 4 * 1024 * 1024);
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
            if (!queue.TryEnqueue(SnmpEventWriter.Write(trap, sender, receivedAt, MuttTracing.TraceParentOf(activity))))
            {
                activity?.SetStatus(ActivityStatusCode.Error, "buffer_full");
                // Not acknowledged either: the agent will resend the inform.
                metrics.SnmpDropped.Add(1, new KeyValuePair<string, object?>("reason", "buffer_full"));
                logger.LogWarning("SNMP {Pdu} from {Sender} dropped: push buffer full (Redis slow or down)", trap.PduType, sender);
                continue;
            }
            metrics.SnmpReceived.Add(1, new KeyValuePair<string, object?>("version", trap.Version));
            if (trap.PduType == "inform")
            {
                try
                {
                    await socket.SendToAsync(SnmpDecoder.EncodeInformResponse(trap), SocketFlags.None, remote, stoppingToken);
                }
                catch (SocketException ex)
                {
                    logger.LogDebug("SNMP inform response to {Sender} failed: {Error}", sender, ex.SocketErrorCode);
                }
            }
        }
    }
}
