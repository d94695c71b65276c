using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace Mutt.Ingestor.Services;

/// <summary>The UDP side shared by the syslog and SNMP listeners: bind, then receive datagrams until stopped.</summary>
internal static class UdpReceiver
{
    /// <summary>
    /// Binds with the requested SO_RCVBUF. The kernel caps it at net.core.rmem_max (and reports
    /// double the usable size); a smaller effective buffer is logged, because it is where a burst
    /// is lost before MUTT sees it (exported as mutt_ingest_udp_drops_total).
    /// </summary>
    public static Socket Bind(string address, int port, int receiveBufferBytes, ILogger logger, string listener)
    {
        var endpoint = new IPEndPoint(IPAddress.Parse(address), port);
        var socket = new Socket(endpoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            socket.ReceiveBufferSize = receiveBufferBytes;
            socket.Bind(endpoint);
            // Linux reports twice what it granted (the other half is its bookkeeping).
            var effective = OperatingSystem.IsLinux() ? socket.ReceiveBufferSize / 2 : socket.ReceiveBufferSize;
            if (effective < receiveBufferBytes)
            {
                logger.LogWarning("{Listener}: receive buffer is {Effective} bytes, {Requested} requested (raise net.core.rmem_max)", listener, effective, receiveBufferBytes);
            }
            else
            {
                logger.LogInformation("{Listener}: receive buffer {Effective} bytes", listener, effective);
            }
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Yields each datagram's length and sender; the bytes are in <paramref name="buffer"/> until the
    /// next item is requested. A receive error (e.g. ICMP port unreachable) is logged at debug and
    /// skipped: UDP has no one to answer. Ends when <paramref name="stoppingToken"/> fires.
    /// </summary>
    public static async IAsyncEnumerable<(int Length, IPEndPoint Remote)> ReceiveAsync(Socket socket, byte[] buffer, ILogger logger,
        string listener, [EnumeratorCancellation] CancellationToken stoppingToken)
    {
        var local = (IPEndPoint)socket.LocalEndPoint!;
        EndPoint any = new IPEndPoint(local.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
        while (!stoppingToken.IsCancellationRequested)
        {
            SocketReceiveFromResult result;
            try
            {
                result = await socket.ReceiveFromAsync(buffer, SocketFlags.None, any, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                yield break;
            }
            catch (SocketException ex)
            {
                logger.LogDebug("{Listener} receive error {Error}", listener, ex.SocketErrorCode);
                continue;
            }
            yield return (result.ReceivedBytes, (IPEndPoint)result.RemoteEndPoint);
        }
    }
}
