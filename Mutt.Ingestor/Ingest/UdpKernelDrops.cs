using System.Globalization;
using System.Net.Sockets;

namespace Mutt.Ingestor.Ingest;

/// <summary>
/// The kernel's count of datagrams dropped at a UDP socket because its receive buffer was full:
/// the "drops" column of <c>/proc/net/udp</c> (and <c>udp6</c>) on the row of the socket's inode.
/// These are the losses MUTT never sees, so without this number a UDP flood loses messages
/// silently. Linux only; elsewhere the socket simply reports nothing.
/// </summary>
public sealed class UdpKernelDrops
{
    private readonly Lock _gate = new();
    private readonly List<(string Listener, long Inode)> _sockets = [];

    /// <summary>Starts reporting the kernel drops of <paramref name="socket"/> as <c>listener=<paramref name="listener"/></c>.</summary>
    public void Watch(string listener, Socket socket)
    {
        if (InodeOf(socket) is { } inode)
        {
            lock (_gate)
            {
                _sockets.Add((listener, inode));
            }
        }
    }

    public IEnumerable<(string Listener, long Drops)> Read()
    {
        List<(string Listener, long Inode)> sockets;
        lock (_gate)
        {
            sockets = [.. _sockets];
        }
        if (sockets.Count == 0)
        {
            return [];
        }
        var tables = string.Concat(ReadTable("/proc/net/udp"), ReadTable("/proc/net/udp6"));
        var result = new List<(string, long)>();
        foreach (var (listener, inode) in sockets)
        {
            if (ParseDrops(tables, inode) is { } drops)
            {
                result.Add((listener, drops));
            }
        }
        return result;
    }

    /// <summary>The drops column of the row whose inode column is <paramref name="inode"/>; null when there is none. Pure.</summary>
    public static long? ParseDrops(string procNetUdp, long inode)
    {
        foreach (var line in procNetUdp.Split('\n'))
        {
            // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ref pointer drops
            var columns = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (columns.Length >= 13 && long.TryParse(columns[9], NumberStyles.None, CultureInfo.InvariantCulture, out var rowInode) && rowInode == inode
                && long.TryParse(columns[12], NumberStyles.None, CultureInfo.InvariantCulture, out var drops))
            {
                return drops;
            }
        }
        return null;
    }

    /// <summary>The socket's inode, from the link <c>/proc/self/fd/N -&gt; socket:[inode]</c>.</summary>
    private static long? InodeOf(Socket socket)
    {
        try
        {
            var target = new FileInfo($"/proc/self/fd/{socket.Handle}").LinkTarget;
            if (target is not null && target.StartsWith("socket:[", StringComparison.Ordinal)
                && long.TryParse(target.AsSpan(8, target.Length - 9), NumberStyles.None, CultureInfo.InvariantCulture, out var inode))
            {
                return inode;
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return null;
    }

    private static string ReadTable(string path)
    {
        try
        {
            return File.Exists(path) ? File.ReadAllText(path) : "";
        }
        catch (IOException)
        {
            return "";
        }
    }
}
