using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace Mutt.Ingestor.Ingest;

/// <summary>
/// The ingest key check of every HTTP ingest route (REST and webhooks). Fails closed: with no INGEST_API_KEY and no named ingest key every
/// request is refused, unless INGEST_AUTH_DISABLED=true says so explicitly (development only).
/// Which secrets are valid is <see cref="IIngestKeyValidator"/>'s business (legacy key and named
/// keys, constant-time); <see cref="IngestCredentials"/> takes the secret from the request.
/// </summary>
public sealed class IngestAuth : IHostedService
{
    /// <summary>The <c>key</c> label of requests with no valid key (and of every request with auth disabled).</summary>
    public const string NoKey = "none";

    private readonly ILogger<IngestAuth> _logger;
    private readonly IIngestKeyValidator _keys;

    public IngestAuth(IOptions<IngestOptions> options, IIngestKeyValidator keys, ILogger<IngestAuth> logger)
    {
        _logger = logger;
        _keys = keys;
        Disabled = options.Value.INGEST_AUTH_DISABLED;
    }

    /// <summary>Authentication explicitly switched off (INGEST_AUTH_DISABLED=true).</summary>
    public bool Disabled { get; }

    /// <summary>No key configured and auth not disabled: every request is refused.</summary>
    public bool RefusesAll => !Disabled && _keys.HasNoKeys;

    public bool IsAuthorized(string? given) => Authenticate(given) is not null;

    /// <summary>The name of the key <paramref name="given"/> is (<see cref="NoKey"/> with auth disabled), or null when it is no valid key.</summary>
    public string? Authenticate(string? given) => Disabled ? NoKey : _keys.Validate(given);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (Disabled)
        {
            _logger.LogWarning("INGEST_AUTH_DISABLED=true: the ingest endpoints (REST and webhooks) accept requests WITHOUT an API key. Development only; never in production.");
        }
        else if (RefusesAll)
        {
            _logger.LogWarning("INGEST_API_KEY is not set and no named ingest key is loaded yet: ingest requests are refused with 401 until an admin creates an ingest key. Set INGEST_API_KEY (or INGEST_AUTH_DISABLED=true for development only).");
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
