using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Mutt.Core.Secrets;

/// <summary>Chain validation against one configured CA (custom root trust), shared by the Redis, PostgreSQL, Vault and Kestrel TLS set-ups.</summary>
public static class CertificateTrust
{
    /// <summary>
    /// True when <paramref name="certificate"/> chains to <paramref name="ca"/> (and only to it) and
    /// <paramref name="otherErrors"/> (name mismatch, missing certificate) is None.
    /// <paramref name="reason"/> says why not, for a loud log line.
    /// </summary>
    public static bool ChainsTo(X509Certificate2 certificate, X509Certificate2 ca, SslPolicyErrors otherErrors, out string reason)
    {
        if (otherErrors != SslPolicyErrors.None)
        {
            reason = $"TLS policy errors: {otherErrors}";
            return false;
        }
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (!chain.Build(certificate))
        {
            reason = "certificate " + certificate.Subject + " does not chain to the configured CA " + ca.Subject + ": "
                + string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()));
            return false;
        }
        reason = "";
        return true;
    }

    /// <summary>Loads a PEM (or DER) certificate file; the first certificate in a PEM bundle.</summary>
    public static X509Certificate2 LoadCertificate(string path)
    {
        var text = File.ReadAllText(path);
        if (!text.Contains("-----BEGIN", StringComparison.Ordinal))
        {
            return X509CertificateLoader.LoadCertificateFromFile(path);
        }
        var span = text.AsSpan();
        while (PemEncoding.TryFind(span, out var fields))
        {
            if (span[fields.Label].SequenceEqual("CERTIFICATE"))
            {
                return X509CertificateLoader.LoadCertificate(Convert.FromBase64String(span[fields.Base64Data].ToString()));
            }
            span = span[fields.Location.End..];
        }
        throw new InvalidOperationException($"No CERTIFICATE block in {path}.");
    }

    /// <summary>Loads a certificate with its private key from PEM files, usable for TLS on Linux (exported to PKCS#12 once).</summary>
    public static X509Certificate2 LoadCertificateWithKey(string certPath, string keyPath)
    {
        using var pem = X509Certificate2.CreateFromPemFile(certPath, keyPath);
        return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
    }
}
