using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Mutt.Core.Auth;
using Mutt.Core.Secrets;

namespace Mutt.Ingestor.Ingest;

/// <summary>
/// Whose secret is this? The one question <see cref="IngestAuth"/> asks once it has taken the
/// secret out of the request's headers; the answer is the key's name (the request counter's
/// <c>key</c> label), or null for no valid key.
/// </summary>
public interface IIngestKeyValidator
{
    /// <summary>True when neither the legacy key nor any named ingest key can be accepted.</summary>
    bool HasNoKeys { get; }

    /// <summary>Every name <see cref="Validate"/> can answer now: the bounded values of the request counter's <c>key</c> label.</summary>
    IReadOnlyList<string> KeyNames { get; }

    string? Validate(ReadOnlySpan<char> secret);
}

/// <summary>
/// The legacy INGEST_API_KEY (spec 004; from the secret store, so a rotation applies without a
/// restart) and the active named keys of role <c>ingest</c> (<see cref="ApiKeyRing"/>, reloaded
/// every few seconds). The secret is hashed once per request; both comparisons are of SHA-256
/// hashes in constant time. The legacy key answers to one fixed name, so the metric label stays
/// bounded by the number of keys an admin made.
/// </summary>
public sealed class IngestKeyValidator : IIngestKeyValidator
{
    /// <summary>The name the legacy key is counted and logged under (a ':' no named key can contain).</summary>
    public const string LegacyKeyName = "legacy:INGEST_API_KEY";

    private readonly ISecretStore? _secrets;
    private readonly string? _configuredKey;
    private readonly ApiKeyRing? _ring;
    private volatile byte[]? _legacyHash;

    public IngestKeyValidator(IOptions<IngestOptions> options, ISecretStore? secrets = null, ApiKeyRing? ring = null)
    {
        _secrets = secrets;
        _configuredKey = options.Value.INGEST_API_KEY;
        _ring = ring;
        Refresh();
        if (_secrets is not null)
        {
            ChangeToken.OnChange(_secrets.GetChangeToken, Refresh);
        }
    }

    public bool HasNoKeys => _legacyHash is null && (_ring is null || _ring.Count == 0);

    public IReadOnlyList<string> KeyNames => [.. _legacyHash is null ? [] : (string[])[LegacyKeyName], .. _ring?.Names ?? []];

    private void Refresh()
    {
        var key = _secrets?.Get(SecretNames.IngestApiKey) is { Length: > 0 } fromStore ? fromStore : _configuredKey;
        _legacyHash = string.IsNullOrEmpty(key) ? null : SHA256.HashData(Encoding.UTF8.GetBytes(key));
    }

    public string? Validate(ReadOnlySpan<char> secret)
    {
        if (secret.IsEmpty)
        {
            return null;
        }
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        ApiKeySecret.Hash(secret, hash);
        if (_legacyHash is { } legacy && CryptographicOperations.FixedTimeEquals(hash, legacy))
        {
            return LegacyKeyName;
        }
        return _ring?.Find(secret, hash)?.Name;
    }
}
