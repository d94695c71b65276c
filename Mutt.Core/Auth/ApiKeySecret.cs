using System.Buffers;
using System.Security.Cryptography;
using System.Text;

namespace Mutt.Core.Auth;

/// <summary>A newly made key: the secret (shown once, never stored), its public prefix and the SHA-256 that is stored.</summary>
public sealed record NewApiKeySecret(string Secret, string Prefix, byte[] Hash);

/// <summary>
/// The format of named API keys: <c>mutt_&lt;prefix&gt;_&lt;secret&gt;</c>, an 8-character public prefix
/// (finds the key's row without a search over all hashes) and 32 random bytes, base64url. Only
/// SHA-256 of the whole string is stored: with 256 random bits a slow password hash adds nothing,
/// and the Ingestor checks a key per request.
/// </summary>
public static class ApiKeySecret
{
    public const string Scheme = "mutt_";
    public const int PrefixLength = 8;
    private const int SecretBytes = 32;
    private const string PrefixAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
    // "mutt_" + prefix + "_" + base64url(32 bytes) = 5 + 8 + 1 + 43
    public const int Length = 5 + PrefixLength + 1 + 43;

    public static NewApiKeySecret Generate()
    {
        var prefix = RandomNumberGenerator.GetString(PrefixAlphabet, PrefixLength);
        var secret = Scheme + prefix + "_" + Base64Url(RandomNumberGenerator.GetBytes(SecretBytes));
        return new NewApiKeySecret(secret, prefix, Hash(secret));
    }

    /// <summary>The public prefix of a string in this format; false for anything else (a legacy key, garbage).</summary>
    public static bool TryGetPrefix(ReadOnlySpan<char> presented, out ReadOnlySpan<char> prefix)
    {
        prefix = default;
        if (presented.Length != Length || !presented.StartsWith(Scheme, StringComparison.Ordinal) || presented[Scheme.Length + PrefixLength] != '_')
        {
            return false;
        }
        prefix = presented.Slice(Scheme.Length, PrefixLength);
        return true;
    }

    public static byte[] Hash(string presented)
    {
        var hash = new byte[SHA256.HashSizeInBytes];
        Hash(presented, hash);
        return hash;
    }

    /// <summary>SHA-256 of the UTF-8 bytes, without allocating for keys of ordinary length.</summary>
    public static void Hash(ReadOnlySpan<char> presented, Span<byte> destination)
    {
        var max = Encoding.UTF8.GetMaxByteCount(presented.Length);
        byte[]? rented = max <= 512 ? null : ArrayPool<byte>.Shared.Rent(max);
        Span<byte> bytes = rented ?? stackalloc byte[512];
        var length = Encoding.UTF8.GetBytes(presented, bytes);
        SHA256.HashData(bytes[..length], destination);
        if (rented is not null)
        {
            ArrayPool<byte>.Shared.Return(rented, clearArray: true);
        }
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
