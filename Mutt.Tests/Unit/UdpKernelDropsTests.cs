using System.Net;
using System.Net.Sockets;
using Mutt.Ingestor.Ingest;

namespace Mutt.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class UdpKernelDropsTests
{
    private const string Table = """
           sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
         3005: 0100007F:97B9 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 312340 2 00000000dc38308c 0
         5019: 0100007F:DF97 00000000:0000 07 00000000:0000A000 00:00000000 00000000     0        0 312337 2 000000005964c4bc 1742
        """;

    [Fact]
    public void The_drops_column_of_the_sockets_inode_row_is_read()
    {
        Assert.Equal(1742, UdpKernelDrops.ParseDrops(Table, 312337));
        Assert.Equal(0, UdpKernelDrops.ParseDrops(Table, 312340));
        Assert.Null(UdpKernelDrops.ParseDrops(Table, 999));
    }

    [Fact]
    public void A_watched_socket_reports_its_own_row()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var drops = new UdpKernelDrops();
        drops.Watch("syslog", socket);
        Assert.Equal([("syslog", 0L)], drops.Read());
    }
}
