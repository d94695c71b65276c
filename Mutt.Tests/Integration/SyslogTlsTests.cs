using System.Text.Json;
using Mutt.Core.Events;
using Mutt.Tests.Infrastructure;

namespace Mutt.Tests.Integration;

/// <summary>Syslog over TLS (RFC 5425) from real rsyslog (omfwd with the gtls network stream driver), with and without client certificates.</summary>
[Collection(InfrastructureCollection.Name)]
public sealed class SyslogTlsTests(InfrastructureFixture infrastructure) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mutt-tls-syslog-").FullName;

    /// <summary>
    /// omfwd over gtls, octet-counted, checking the Ingestor's certificate against the test CA and its
    /// name (the server certificate names localhost); optionally presenting a client certificate.
    /// </summary>
    private static (string Global, string Action) RsyslogTls(TlsCertificates certs, int port, (string Cert, string Key)? client)
    {
        var global = $"global(DefaultNetstreamDriverCAFile=\"{certs.CaCertPath}\""
            + (client is { } c ? $" DefaultNetstreamDriverCertFile=\"{c.Cert}\" DefaultNetstreamDriverKeyFile=\"{c.Key}\"" : "") + ")";
        var action = $"""
            action(type="omfwd" target="127.0.0.1" port="{port}" protocol="tcp" TCP_Framing="octet-counted"
                   StreamDriver="gtls" StreamDriverMode="1" StreamDriverAuthMode="x509/name" StreamDriverPermittedPeers="localhost"
                   template="RSYSLOG_SyslogProtocol23Format" action.resumeRetryCount="-1" action.resumeInterval="1")
            """;
        return (global, action);
    }

    private async Task<IngestorTestHost> StartIngestorAsync(TlsCertificates certs, bool requireClientCertificate)
    {
        var settings = new Dictionary<string, string?>
        {
            ["TLS_CERT_PATH"] = certs.ServerCertPath,
            ["TLS_KEY_PATH"] = certs.ServerKeyPath,
            ["SYSLOG_TLS_PORT"] = Mutt.Testing.NativeProcess.FreeTcpPort().ToString(),
        };
        if (requireClientCertificate)
        {
            settings["TLS_CLIENT_CA_PATH"] = certs.CaCertPath;
        }
        return await IngestorTestHost.StartAsync(infrastructure, settings);
    }

    [Fact]
    public async Task Rsyslog_over_tls_without_a_client_certificate_is_delivered()
    {
        using var certs = new TlsCertificates(Path.Combine(_dir, "certs"));
        await using var host = await StartIngestorAsync(certs, requireClientCertificate: false);
        var (global, action) = RsyslogTls(certs, host.SyslogTlsPort, client: null);
        await using var rsyslog = await RsyslogDaemon.StartAsync(Path.Combine(_dir, "plain"), action, global);
        var run = Guid.NewGuid().ToString("N")[..8];
        await rsyslog.SendAsync(Enumerable.Range(0, 500).Select(i => $"<134>1 2025-03-15T11:00:00Z host app - - - {run} tls message {i}"));

        var items = await host.WaitForItemsAsync(500, "every message relayed over TLS");
        Assert.Equal(500, items.Select(i => i.GetProperty("message").GetString()).Distinct().Count());
        var evt = items[0].Deserialize(MuttJsonContext.Default.MuttEvent)!;
        Assert.Equal("tls", evt.Extra!["transport"].GetString());
        Assert.Equal("rfc5424", evt.Extra["syslog_format"].GetString());
    }

    [Fact]
    public async Task With_client_ca_a_trusted_client_certificate_is_delivered_and_an_untrusted_one_refused_and_logged()
    {
        using var certs = new TlsCertificates(Path.Combine(_dir, "certs"));
        await using var host = await StartIngestorAsync(certs, requireClientCertificate: true);
        var run = Guid.NewGuid().ToString("N")[..8];

        var (untrustedGlobal, untrustedAction) = RsyslogTls(certs, host.SyslogTlsPort, certs.IssueUntrustedClient());
        await using (var intruder = await RsyslogDaemon.StartAsync(Path.Combine(_dir, "intruder"), untrustedAction, untrustedGlobal))
        {
            await intruder.SendAsync([$"<134>1 2025-03-15T11:00:00Z host app - - - {run} from the intruder"]);
            await Eventually.WaitForAsync(async () => (await host.MetricsAsync()).Contains("mutt_syslog_dropped_total{reason=\"tls_refused\"}"),
                TimeSpan.FromSeconds(30), "the untrusted client to be refused");
        }
        Assert.Contains(host.Output, line => line.Contains("REFUSED") && line.Contains("CN=intruder"));

        var (global, action) = RsyslogTls(certs, host.SyslogTlsPort, (certs.ClientCertPath, certs.ClientKeyPath));
        await using var trusted = await RsyslogDaemon.StartAsync(Path.Combine(_dir, "trusted"), action, global);
        await trusted.SendAsync(Enumerable.Range(0, 100).Select(i => $"<134>1 2025-03-15T11:00:00Z host app - - - {run} trusted {i}"));
        var items = await host.WaitForItemsAsync(100, "the trusted client's messages");
        Assert.Equal(100, items.Count);
        Assert.DoesNotContain(items, i => i.GetProperty("message").GetString()!.Contains("intruder"));
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
