using System.ComponentModel.DataAnnotations;

namespace Mutt.Ingestor.Syslog;

public sealed class SyslogOptions
{
    public bool SYSLOG_ENABLED { get; set; } = true;
    /// <summary>
    /// Address of the syslog UDP/TCP, TLS and RELP listeners. Loopback unless configured: these
    /// listeners take unauthenticated traffic, so all interfaces (0.0.0.0) is an explicit choice
    /// (the published manifests, the Kubernetes YAML and the systemd unit make it).
    /// </summary>
    public string SYSLOG_BIND { get; set; } = "127.0.0.1";
    [Range(1, 65535)] public int SYSLOG_PORT { get; set; } = 5514;
    [Range(480, 16 * 1024 * 1024)] public int SYSLOG_MAX_MESSAGE_BYTES { get; set; } = 64 * 1024;
    [Range(1, 100_000)] public int SYSLOG_MAX_CONNECTIONS { get; set; } = 10_000;
    /// <summary>SO_RCVBUF of the UDP socket (bytes); capped by the kernel at net.core.rmem_max.</summary>
    [Range(4096, 1024 * 1024 * 1024)] public int SYSLOG_UDP_RCVBUF { get; set; } = 8 * 1024 * 1024;
    /// <summary>Syslog over TLS (RFC 5425, octet-counted) on SYSLOG_BIND; only with a certificate (SYSLOG_TLS_CERT_PATH or TLS_CERT_PATH).</summary>
    public bool SYSLOG_TLS_ENABLED { get; set; } = true;
    [Range(1, 65535)] public int SYSLOG_TLS_PORT { get; set; } = 6514;
    /// <summary>
    /// A certificate (PEM) for the TLS syslog listener alone; when unset it uses the service's TLS_CERT_PATH.
    /// Setting only these leaves Kestrel's HTTP plain (a local run does so with a generated certificate).
    /// </summary>
    public string? SYSLOG_TLS_CERT_PATH { get; set; }
    public string? SYSLOG_TLS_KEY_PATH { get; set; }
    /// <summary>RELP (rsyslog omrelp) listener on SYSLOG_BIND: frames are acknowledged only once their event is in Redis.</summary>
    public bool RELP_ENABLED { get; set; } = true;
    [Range(1, 65535)] public int RELP_PORT { get; set; } = 2514;
}
