using System.Security.Cryptography;
using System.Text;

namespace Mutt.Ingestor.Ingest;

/// <summary>
/// A correlation id that a sender's resend of the same bytes maps to again: <paramref name="prefix"/> + the
/// first 128 bits of SHA-256(sender, 0, bytes). The idempotent audit key (correlation_id, event_timestamp)
/// then writes a resent frame or inform once. Used by the acknowledged paths (RELP frames, SNMP informs).
/// </summary>
public static class ResendStableId
{
    public static string Of(string prefix, string sender, ReadOnlySpan<byte> bytes)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Encoding.UTF8.GetBytes(sender));
        hash.AppendData([0]);
        hash.AppendData(bytes);
        Span<byte> digest = stackalloc byte[32];
        hash.GetHashAndReset(digest);
        return prefix + Convert.ToHexStringLower(digest[..16]);
    }
}
