using System.Text.Json;
using Mutt.Core.Events;
using Mutt.Tests.Infrastructure;

namespace Mutt.Tests.Integration;

/// <summary>Syslog over TLS (RFC 5425) from real rsyslog running the shipped deploy/rsyslog/99-mutt-tls.conf (omfwd with the gtls network stream driver), with and without client certificates.</summary>
[Collection(InfrastructureCollection.Name)]
[Trait("Category", "Integration")]
public sealed class SyslogTlsTests(InfrastructureFixture infrastructure) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mutt-tls-syslog-").FullName;

    /// <summary>
    /// The shipped deploy/rsyslog/99-mutt-tls.conf (omfwd over gtls, octet-counted, checking the
    /// Ingestor's certificate against the CA and its name; the server certificate names localhost)
    /// with target, port, peer name and CA path changed, and the client-certificate lines switched on
    /// when a client certificate is given.
    /// </summary>
    private static string RsyslogTls(string caCertPath, int port, (string Cert, string Key)? client)
    {
        var shipped = File.ReadAllText(Path.Combine(ChildService.RepositoryRoot, "deploy", "rsyslog", "99-mutt-tls.conf"));
        var action = shipped
            .Replace("target=\"mutt-ingestor.example.com\"", "target=\"127.0.0.1\"")
            .Replace("port=\"6514\"", $"port=\"{port}\"")
            .Replace("StreamDriverPermittedPeers=\"mutt-ingestor.example.com\"", "StreamDriverPermittedPeers=\"localhost\"")
            .Replace("\"/etc/pki/mutt/ca.pem\"", $"\"{caCertPath}\"")
            .Replace("action.resumeInterval=\"5\"", "action.resumeInterval=\"1\"");
        if (client is { } c)
        {
            action = action
                .Replace("# StreamDriver.CertFile=\"/etc/pki/mutt/rsyslog-client.pem\"", $"StreamDriver.CertFile=\"{c.Cert}\"")
                .Replace("# StreamDriver.KeyFile=\"/etc/pki/mutt/rsyslog-client.key\"", $"StreamDriver.KeyFile=\"{c.Key}\"");
            Assert.Contains($"StreamDriver.KeyFile=\"{c.Key}\"", action);
        }
        Assert.Contains($"port=\"{port}\"", action);
        Assert.Contains(caCertPath, action);
        Assert.Contains("StreamDriverPermittedPeers=\"localhost\"", action);
        return action;
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
        var action = RsyslogTls(certs.CaCertPath, host.SyslogTlsPort, client: null);
        await using var rsyslog = await RsyslogDaemon.StartAsync(Path.Combine(_dir, "plain"), action);
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

        var untrustedAction = RsyslogTls(certs.CaCertPath, host.SyslogTlsPort, certs.IssueUntrustedClient());
        await using (var intruder = await RsyslogDaemon.StartAsync(Path.Combine(_dir, "intruder"), untrustedAction))
        {
            await intruder.SendAsync([$"<134>1 2025-03-15T11:00:00Z host app - - - {run} from the intruder"]);
            await Eventually.WaitForAsync(async () => (await host.MetricsAsync()).Contains("mutt_syslog_dropped_total{reason=\"tls_refused\"}"),
                TimeSpan.FromSeconds(30), "the untrusted client to be refused");
        }
        Assert.Contains(host.Output, line => line.Contains("REFUSED") && line.Contains("CN=intruder"));

        var action = RsyslogTls(certs.CaCertPath, host.SyslogTlsPort, (certs.ClientCertPath, certs.ClientKeyPath));
        await using var trusted = await RsyslogDaemon.StartAsync(Path.Combine(_dir, "trusted"), action);
        await trusted.SendAsync(Enumerable.Range(0, 100).Select(i => $"<134>1 2025-03-15T11:00:00Z host app - - - {run} trusted {i}"));
        var items = await host.WaitForItemsAsync(100, "the trusted client's messages");
        Assert.Equal(100, items.Count);
        Assert.DoesNotContain(items, i => i.GetProperty("message").GetString()!.Contains("intruder"));
    }

    [Fact]
    public async Task A_certificate_for_the_syslog_listener_alone_serves_tls_syslog_and_leaves_http_plain()
    {
        // The certificates a local run of the AppHost generates, given the way the AppHost gives them.
        var local = Mutt.AppHost.LocalTls.Ensure(Path.Combine(_dir, "state", "tls"));
        await using var host = await IngestorTestHost.StartAsync(infrastructure, new Dictionary<string, string?>
        {
            ["SYSLOG_TLS_CERT_PATH"] = local.CertPath,
            ["SYSLOG_TLS_KEY_PATH"] = local.KeyPath,
            ["SYSLOG_TLS_PORT"] = Mutt.Testing.NativeProcess.FreeTcpPort().ToString(),
        });
        await using var rsyslog = await RsyslogDaemon.StartAsync(Path.Combine(_dir, "local"), RsyslogTls(local.CaCertPath, host.SyslogTlsPort, client: null));
        var run = Guid.NewGuid().ToString("N")[..8];
        await rsyslog.SendAsync(Enumerable.Range(0, 50).Select(i => $"<134>1 2025-03-15T11:00:00Z host app - - - {run} local tls {i}"));

        var items = await host.WaitForItemsAsync(50, "the messages over TLS with the generated certificate");
        Assert.All(items, i => Assert.Equal("tls", i.Deserialize(MuttJsonContext.Default.MuttEvent)!.Extra!["transport"].GetString()));
        // The test host talks plain HTTP to the same process: /metrics answered, so Kestrel took no certificate.
        Assert.Contains("mutt_syslog_messages_received_total{transport=\"tls\"} 50", await host.MetricsAsync());
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
