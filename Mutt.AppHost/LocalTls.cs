using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Mutt.AppHost;

/// <summary>
/// The certificates of a local run's TLS syslog listener: a private CA and a server certificate for
/// localhost/127.0.0.1/::1 signed by it, generated once into <c>&lt;state&gt;/tls/</c> and reused by every
/// later run (a sender configured with ca.crt keeps working across restarts). Only the syslog-TLS
/// listener gets them (SYSLOG_TLS_CERT_PATH/KEY_PATH): Kestrel's HTTP stays plain for the README's curl.
/// </summary>
public sealed record LocalTls(string CaCertPath, string CertPath, string KeyPath)
{
    public const string ServerName = "localhost";

    public static LocalTls Ensure(string folder)
    {
        Directory.CreateDirectory(folder);
        var tls = new LocalTls(Path.Combine(folder, "ca.crt"), Path.Combine(folder, "syslog-tls.crt"), Path.Combine(folder, "syslog-tls.key"));
        if (File.Exists(tls.CaCertPath) && File.Exists(tls.CertPath) && File.Exists(tls.KeyPath))
        {
            return tls;
        }
        var now = DateTimeOffset.UtcNow.AddMinutes(-5);
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=MUTT local run CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        using var ca = caRequest.CreateSelfSigned(now, now.AddYears(10));

        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=" + ServerName, serverKey, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName(ServerName);
        names.AddIpAddress(IPAddress.Loopback);
        names.AddIpAddress(IPAddress.IPv6Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        using var server = request.Create(ca, now, now.AddYears(2), RandomNumberGenerator.GetBytes(16));

        // Key first, certificates last: a run interrupted half-way regenerates everything next time.
        LocalRun.WriteSecretFile(tls.KeyPath, serverKey.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(tls.CertPath, server.ExportCertificatePem());
        File.WriteAllText(tls.CaCertPath, ca.ExportCertificatePem());
        return tls;
    }
}
