using System.Net.Http;
using System.Net.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Mutt.Core.Secrets;

namespace Mutt.Tests.Integration;

/// <summary>ConfigureMuttHttps(): Kestrel serves the configured PEM certificate and, with TLS_CLIENT_CA_PATH, requires a client certificate from that CA.</summary>
[Trait("Category", "Integration")]
public sealed class TlsKestrelTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "mutt-tls-kestrel-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly TlsCertificates _certs;

    public TlsKestrelTests() => _certs = new TlsCertificates(_folder);

    public void Dispose()
    {
        _certs.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    private async Task<WebApplication> StartAsync(bool clientCertificates)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("https://127.0.0.1:0");
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["TLS_CERT_PATH"] = _certs.ServerCertPath,
            ["TLS_KEY_PATH"] = _certs.ServerKeyPath,
            ["TLS_CLIENT_CA_PATH"] = clientCertificates ? _certs.CaCertPath : null,
        });
        builder.ConfigureMuttHttps();
        var app = builder.Build();
        app.MapGet("/ping", () => "pong");
        await app.StartAsync();
        return app;
    }

    private static Uri Address(WebApplication app) =>
        new(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

    private HttpClient Client(string caPath, bool withClientCertificate)
    {
        var ca = CertificateTrust.LoadCertificate(caPath);
        var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
            certificate is not null && CertificateTrust.ChainsTo(new System.Security.Cryptography.X509Certificates.X509Certificate2(certificate), ca, errors & ~SslPolicyErrors.RemoteCertificateChainErrors, out _);
        if (withClientCertificate)
        {
            handler.SslOptions.ClientCertificates = [CertificateTrust.LoadCertificateWithKey(_certs.ClientCertPath, _certs.ClientKeyPath)];
        }
        return new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(30) };
    }

    [Fact]
    public async Task Serves_https_with_the_configured_certificate_and_a_wrong_ca_refuses_it()
    {
        await using var app = await StartAsync(clientCertificates: false);
        using var right = Client(_certs.CaCertPath, withClientCertificate: false);
        Assert.Equal("pong", await right.GetStringAsync(new Uri(Address(app), "/ping")));

        using var wrong = Client(_certs.WrongCaCertPath, withClientCertificate: false);
        await Assert.ThrowsAsync<HttpRequestException>(() => wrong.GetStringAsync(new Uri(Address(app), "/ping")));
    }

    [Fact]
    public async Task Client_certificate_is_required_when_a_client_ca_is_configured()
    {
        await using var app = await StartAsync(clientCertificates: true);
        using var withCert = Client(_certs.CaCertPath, withClientCertificate: true);
        Assert.Equal("pong", await withCert.GetStringAsync(new Uri(Address(app), "/ping")));

        using var withoutCert = Client(_certs.CaCertPath, withClientCertificate: false);
        await Assert.ThrowsAsync<HttpRequestException>(() => withoutCert.GetStringAsync(new Uri(Address(app), "/ping")));
    }

    [Fact]
    public void Without_TLS_CERT_PATH_nothing_changes()
    {
        Assert.Null(MuttHttpsSettings.FromConfiguration(new ConfigurationBuilder().Build()));
    }
}
