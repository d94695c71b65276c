using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace Mutt.Ingestor.Services;

/// <summary>The UDP side shared by the syslog and SNMP listeners: bind, then receive datagrams until stopped.</summary>
internal static class UdpReceiver
{
    public static Socket Bind(string address, int port, int receiveBufferBytes)
    {
        var endpoint = new IPEndPoint(IPAddress.Parse(address), port);
        var socket = new Socket(endpoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            socket.ReceiveBufferSize = receiveBufferBytes;
            socket.Bind(endpoint);
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
