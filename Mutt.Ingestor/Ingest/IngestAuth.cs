using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Mutt.Core.Secrets;

namespace Mutt.Ingestor.Ingest;

/// <summary>
/// The REST API key check. Fails closed: with no INGEST_API_KEY every request is refused, unless
/// INGEST_AUTH_DISABLED=true says so explicitly (development only). The expected key's hash is
/// computed once; each request hashes the given key into a stack buffer and compares the two
/// hashes in constant time (equal lengths, so nothing leaks about the key's length either).
/// The key comes from the secret store (Vault, or configuration without it) and its hash is
/// recomputed when the store reports a change, so a rotated key applies without a restart.
/// </summary>
public sealed class IngestAuth : IHostedService
{
    private readonly ILogger<IngestAuth> _logger;
    private readonly ISecretStore? _secrets;
    private readonly string? _configuredKey;
    private volatile byte[]? _expectedHash;

    public IngestAuth(IOptions<IngestOptions> options, ILogger<IngestAuth> logger, ISecretStore? secrets = null)
    {
        _logger = logger;
        _secrets = secrets;
        var settings = options.Value;
        Disabled = settings.INGEST_AUTH_DISABLED;
        _configuredKey = settings.INGEST_API_KEY;
        Refresh();
        if (_secrets is not null)
        {
            ChangeToken.OnChange(_secrets.GetChangeToken, Refresh);
        }
    }

    private void Refresh()
    {
        var key = _secrets?.Get(SecretNames.IngestApiKey) is { Length: > 0 } fromStore ? fromStore : _configuredKey;
        _expectedHash = string.IsNullOrEmpty(key) ? null : SHA256.HashData(Encoding.UTF8.GetBytes(key));
    }

    /// <summary>Authentication explicitly switched off (INGEST_AUTH_DISABLED=true).</summary>
    public bool Disabled { get; }

    /// <summary>No key configured and auth not disabled: every request is refused.</summary>
    public bool RefusesAll => !Disabled && _expectedHash is null;

    public bool IsAuthorized(string? given)
    {
        if (Disabled)
        {
            return true;
        }
        var expected = _expectedHash;
        if (expected is null || string.IsNullOrEmpty(given))
        {
            return false;
        }
        var max = Encoding.UTF8.GetMaxByteCount(given.Length);
        var rented = max <= 512 ? null : new byte[max];
        Span<byte> bytes = rented ?? stackalloc byte[512];
        var length = Encoding.UTF8.GetBytes(given, bytes);
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(bytes[..length], hash);
        return CryptographicOperations.FixedTimeEquals(hash, expected);
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (Disabled)
        {
            _logger.LogWarning("INGEST_AUTH_DISABLED=true: the REST ingest endpoint accepts requests WITHOUT an API key. Development only; never in production.");
        }
        else if (RefusesAll)
        {
            _logger.LogWarning("INGEST_API_KEY is not set: every REST ingest request will be refused with 401. Set INGEST_API_KEY (or INGEST_AUTH_DISABLED=true for development only).");
        }
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
