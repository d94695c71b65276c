using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Mutt.Core.Secrets;

namespace Microsoft.Extensions.Hosting;

/// <summary>HTTPS for Kestrel from PEM files, with optional client-certificate authentication.</summary>
public static class MuttHttpsExtensions
{
    /// <summary>
    /// One line in Program.cs: <c>builder.ConfigureMuttHttps();</c>. Does nothing unless TLS_CERT_PATH
    /// is set. With TLS_CERT_PATH + TLS_KEY_PATH (PEM) every Kestrel endpoint whose URL is https://
    /// serves that certificate. With TLS_CLIENT_CA_PATH clients must present a certificate that
    /// chains to that CA (TLS_CLIENT_CERT_MODE=require, the default, or "allow").
    /// The endpoints themselves still come from ASPNETCORE_URLS / --urls.
    /// </summary>
    public static WebApplicationBuilder ConfigureMuttHttps(this WebApplicationBuilder builder)
    {
        var settings = MuttHttpsSettings.FromConfiguration(builder.Configuration);
        if (settings is null)
        {
            return builder;
        }
        var certificate = CertificateTrust.LoadCertificateWithKey(settings.CertPath, settings.KeyPath);
        var clientCa = settings.ClientCaPath is null ? null : CertificateTrust.LoadCertificate(settings.ClientCaPath);
        builder.WebHost.UseKestrelHttpsConfiguration(); // needed by slim builders; harmless otherwise
        builder.WebHost.ConfigureKestrel((context, kestrel) =>
        {
            var logger = kestrel.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger("Mutt.Https");
            kestrel.ConfigureHttpsDefaults(https => Apply(https, certificate, clientCa, settings.RequireClientCertificate, logger));
        });
        return builder;
    }

    /// <summary>The same settings applied to one HTTPS endpoint (for hosts that configure Kestrel endpoints themselves, and for tests).</summary>
    public static void Apply(HttpsConnectionAdapterOptions https, X509Certificate2 certificate, X509Certificate2? clientCa, bool requireClientCertificate, ILogger logger)
    {
        https.ServerCertificate = certificate;
        if (clientCa is null)
        {
            return;
        }
        https.ClientCertificateMode = requireClientCertificate ? ClientCertificateMode.RequireCertificate : ClientCertificateMode.AllowCertificate;
        https.ClientCertificateValidation = (client, _, errors) =>
        {
            if (CertificateTrust.ChainsTo(client, clientCa, errors & ~SslPolicyErrors.RemoteCertificateChainErrors & ~SslPolicyErrors.RemoteCertificateNameMismatch, out var reason))
            {
                return true;
            }
            logger.LogWarning("HTTPS: client certificate REFUSED: {Reason}", reason);
            return false;
        };
    }
}

/// <summary>TLS_CERT_PATH, TLS_KEY_PATH, TLS_CLIENT_CA_PATH, TLS_CLIENT_CERT_MODE.</summary>
public sealed record MuttHttpsSettings(string CertPath, string KeyPath, string? ClientCaPath, bool RequireClientCertificate)
{
    public static MuttHttpsSettings? FromConfiguration(IConfiguration configuration)
    {
        var cert = configuration["TLS_CERT_PATH"];
        if (string.IsNullOrWhiteSpace(cert))
        {
            return null;
        }
        var key = configuration["TLS_KEY_PATH"];
        if (string.IsNullOrWhiteSpace(key))
        {
            throw new InvalidOperationException("TLS_KEY_PATH is required with TLS_CERT_PATH.");
        }
        var clientCa = configuration["TLS_CLIENT_CA_PATH"];
        var mode = configuration["TLS_CLIENT_CERT_MODE"];
        return new MuttHttpsSettings(cert, key, string.IsNullOrWhiteSpace(clientCa) ? null : clientCa,
            !string.Equals(mode, "allow", StringComparison.OrdinalIgnoreCase));
    }
}
