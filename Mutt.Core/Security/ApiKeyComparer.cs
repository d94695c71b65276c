using System.Security.Cryptography;
using System.Text;
using Mutt.Core.Secrets;

namespace Mutt.Core.Security;

/// <summary>
/// Constant-time API key checks (spec 002 "timing attacks"). Both sides are hashed with SHA-256
/// first so the comparison time depends on neither the key's length nor its content, then
/// compared with <see cref="CryptographicOperations.FixedTimeEquals"/>.
/// </summary>
public static class ApiKeyComparer
{
    /// <summary>True when <paramref name="presented"/> equals <paramref name="expected"/>; false when either is null or empty.</summary>
    public static bool Matches(string? presented, string? expected)
    {
        if (string.IsNullOrEmpty(presented) || string.IsNullOrEmpty(expected))
        {
            return false;
        }
        Span<byte> a = stackalloc byte[32];
        Span<byte> b = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(presented), a);
        SHA256.HashData(Encoding.UTF8.GetBytes(expected), b);
        return CryptographicOperations.FixedTimeEquals(a, b);
    }

    /// <summary>Checks against the store's current value of <paramref name="secretName"/> (e.g. INGEST_API_KEY), so a rotated key applies at once.</summary>
    public static bool Matches(string? presented, ISecretStore secrets, string secretName) =>
        Matches(presented, secrets.Get(secretName));
}
