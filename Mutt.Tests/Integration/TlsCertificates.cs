using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Mutt.Tests.Integration;

/// <summary>
/// A test CA with a server certificate (SAN 127.0.0.1 and localhost) and a client certificate,
/// written as PEM files into a folder; plus an unrelated "wrong" CA for the refusal tests.
/// </summary>
public sealed class TlsCertificates : IDisposable
{
    public TlsCertificates(string folder)
    {
        Folder = folder;
        Directory.CreateDirectory(folder);
        using var caKey = RSA.Create(2048);
        var ca = CreateCa("CN=MUTT Test CA", caKey);
        using var wrongKey = RSA.Create(2048);
        using var wrong = CreateCa("CN=Somebody Else's CA", wrongKey);
        CaCertPath = WriteCert("ca.crt", ca);
        WrongCaCertPath = WriteCert("wrong-ca.crt", wrong);
        (ServerCertPath, ServerKeyPath) = Issue("server", "CN=127.0.0.1", ca, caKey, server: true);
        (ClientCertPath, ClientKeyPath) = Issue("client", "CN=mutt-client", ca, caKey, server: false);
        Ca = ca;
    }

    public string Folder { get; }
    public X509Certificate2 Ca { get; }
    public string CaCertPath { get; }
    public string WrongCaCertPath { get; }
    public string ServerCertPath { get; }
    public string ServerKeyPath { get; }
    public string ClientCertPath { get; }
    public string ClientKeyPath { get; }

    /// <summary>A client certificate signed by nobody MUTT trusts (self-signed, clientAuth): for refusal tests.</summary>
    public (string Cert, string Key) IssueUntrustedClient()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=intruder", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        var keyPath = Path.Combine(Folder, "intruder.key");
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
        return (WriteCert("intruder.crt", certificate), keyPath);
    }

    private static X509Certificate2 CreateCa(string subject, RSA key)
    {
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
    }

    private (string Cert, string Key) Issue(string name, string subject, X509Certificate2 ca, RSA caKey, bool server)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [server ? new Oid("1.3.6.1.5.5.7.3.1") : new Oid("1.3.6.1.5.5.7.3.2")], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        if (server)
        {
            var san = new SubjectAlternativeNameBuilder();
            san.AddIpAddress(IPAddress.Loopback);
            san.AddDnsName("localhost");
            request.CertificateExtensions.Add(san.Build());
        }
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F;
        using var issued = request.Create(ca.SubjectName, X509SignatureGenerator.CreateForRSA(caKey, RSASignaturePadding.Pkcs1),
            DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30), serial);
        var certPath = WriteCert(name + ".crt", issued);
        var keyPath = Path.Combine(Folder, name + ".key");
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
        File.SetUnixFileMode(keyPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return (certPath, keyPath);
    }

    private string WriteCert(string fileName, X509Certificate2 certificate)
    {
        var path = Path.Combine(Folder, fileName);
        File.WriteAllText(path, certificate.ExportCertificatePem());
        return path;
    }

    public void Dispose() => Ca.Dispose();
}
