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

/// <summary>
/// Where a sender may put its ingest key: the spec's <c>X-API-KEY</c> header, or standard HTTP
/// authentication for tools that cannot send a custom header (Prometheus Alertmanager, Grafana
/// contact points): <c>Authorization: Bearer &lt;key&gt;</c> or <c>Authorization: Basic</c> with the key
/// as the password (the user name is not checked). Only extracts the presented secret; whether it
/// is a valid key is <see cref="IngestAuth"/>'s decision. The secret is never logged.
/// </summary>
public static class IngestCredentials
{
    public const string ApiKeyHeader = "X-API-KEY";

    /// <summary>The presented secret, or null when the request carries none (or an unusable Authorization header).</summary>
    public static string? Presented(IHeaderDictionary headers)
    {
        if (headers.TryGetValue(ApiKeyHeader, out var apiKey) && apiKey.ToString() is { Length: > 0 } key)
        {
            return key;
        }
        return headers.TryGetValue("Authorization", out var authorization) ? FromAuthorization(authorization.ToString()) : null;
    }

    /// <summary>RFC 6750 bearer token or RFC 7617 basic credentials' password; scheme names are case-insensitive.</summary>
    public static string? FromAuthorization(string? value)
    {
        var text = value.AsSpan().Trim();
        var space = text.IndexOf(' ');
        if (space <= 0)
        {
            return null;
        }
        var scheme = text[..space];
        var credentials = text[(space + 1)..].Trim();
        if (credentials.IsEmpty)
        {
            return null;
        }
        if (scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase))
        {
            return credentials.ToString();
        }
        if (!scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        var bytes = new byte[(credentials.Length + 3) / 4 * 3];
        if (!Convert.TryFromBase64Chars(credentials, bytes, out var length))
        {
            return null;
        }
        var decoded = bytes.AsSpan(0, length);
        var colon = decoded.IndexOf((byte)':');
        // user-id ":" password; the password may itself contain colons.
        if (colon < 0 || !System.Text.Unicode.Utf8.IsValid(decoded[(colon + 1)..]))
        {
            return null;
        }
        var password = Encoding.UTF8.GetString(decoded[(colon + 1)..]);
        CryptographicOperations.ZeroMemory(bytes);
        return password.Length > 0 ? password : null;
    }
}
