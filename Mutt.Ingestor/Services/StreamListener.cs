using System.Net;
using System.Net.Sockets;
using Mutt.Ingestor.Ingest;

namespace Mutt.Ingestor.Services;

/// <summary>
/// The accept loop shared by the stream listeners (syslog TCP, TLS, RELP): binds, accepts, runs one
/// handler task per connection up to a connection limit, and on stop waits for the handlers (each
/// finishes or hands back its in-flight work itself).
/// </summary>
internal static class StreamListener
{
    public static async Task RunAsync(string name, string bind, int port, int maxConnections, Func<Socket, Task> handle,
        IngestMetrics metrics, ILogger logger, CancellationToken stoppingToken)
    {
        var endpoint = new IPEndPoint(IPAddress.Parse(bind), port);
        using var listener = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        listener.Bind(endpoint);
        listener.Listen(1024);
        logger.LogInformation("{Listener} listening on {Endpoint}", name, endpoint);
        var open = 0;
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
                logger.LogDebug("{Listener} accept error {Error}", name, ex.SocketErrorCode);
                continue;
            }
            if (Interlocked.Increment(ref open) > maxConnections)
            {
                Interlocked.Decrement(ref open);
                metrics.SyslogDropped.Add(1, new KeyValuePair<string, object?>("reason", "too_many_connections"));
                logger.LogWarning("{Listener} connection refused: {Max} connections open", name, maxConnections);
                client.Dispose();
                continue;
            }
            client.NoDelay = true;
            connections.RemoveAll(t => t.IsCompleted);
            connections.Add(RunOneAsync(client));
        }
        await Task.WhenAll(connections);

        async Task RunOneAsync(Socket client)
        {
            var remote = client.RemoteEndPoint;
            try
            {
                using (client)
                {
                    await handle(client);
                }
            }
            catch (OperationCanceledException)
            {
            }
            catch (Exception ex) when (ex is SocketException or IOException)
            {
                logger.LogDebug("{Listener} connection from {Remote} ended: {Error}", name, remote, ex.Message);
            }
            catch (Exception ex)
            {
                // One connection's fault must not end the listener.
                logger.LogError(ex, "{Listener} connection from {Remote} failed", name, remote);
            }
            finally
            {
                Interlocked.Decrement(ref open);
            }
        }
    }
}
