using System.ComponentModel.DataAnnotations;

namespace Mutt.Ingestor.Snmp;

public sealed class SnmpOptions
{
    public bool SNMP_ENABLED { get; set; } = true;
    /// <summary>Address of the trap receiver; loopback unless configured (see SyslogOptions.SYSLOG_BIND).</summary>
    public string SNMP_BIND { get; set; } = "127.0.0.1";
    [Range(1, 65535)] public int SNMP_PORT { get; set; } = 1162;
    /// <summary>SO_RCVBUF of the UDP socket (bytes); capped by the kernel at net.core.rmem_max.</summary>
    [Range(4096, 1024 * 1024 * 1024)] public int SNMP_UDP_RCVBUF { get; set; } = 4 * 1024 * 1024;
    /// <summary>Comma-separated community allow-list. Never logged.</summary>
    public string SNMP_COMMUNITIES { get; set; } = "public";
}
