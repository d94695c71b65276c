using System.Security.Cryptography.X509Certificates;
using Mutt.AppHost;

namespace Mutt.Tests.Unit;

/// <summary>The certificates a local run generates for the TLS syslog listener (Mutt.AppHost/LocalTls.cs).</summary>
[Trait("Category", "Unit")]
public sealed class LocalTlsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mutt-local-tls-").FullName;

    [Fact]
    public void Server_certificate_names_localhost_and_chains_to_the_generated_ca()
    {
        var tls = LocalTls.Ensure(_dir);

        using var server = X509Certificate2.CreateFromPemFile(tls.CertPath, tls.KeyPath);
        Assert.True(server.HasPrivateKey);
        Assert.True(server.MatchesHostname("localhost"));
        Assert.True(server.MatchesHostname("127.0.0.1"));
        using var ca = X509CertificateLoader.LoadCertificateFromFile(tls.CaCertPath);
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(new System.Security.Cryptography.Oid("1.3.6.1.5.5.7.3.1")); // server authentication
        Assert.True(chain.Build(server), string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation)));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(tls.KeyPath));
    }

    [Fact]
    public void Certificates_are_generated_once_and_reused_by_later_runs()
    {
        var first = LocalTls.Ensure(_dir);
        var files = new[] { first.CaCertPath, first.CertPath, first.KeyPath }.Select(File.ReadAllText).ToArray();

        var second = LocalTls.Ensure(_dir);

        Assert.Equal(first, second);
        Assert.Equal(files, new[] { second.CaCertPath, second.CertPath, second.KeyPath }.Select(File.ReadAllText));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
