using Microsoft.Extensions.Options;

namespace Mutt.Ingestor.Ingest;

/// <summary>
/// The REST API key check. Fails closed: with no INGEST_API_KEY and no named ingest key every
/// request is refused, unless INGEST_AUTH_DISABLED=true says so explicitly (development only).
/// Which secrets are valid is <see cref="IIngestKeyValidator"/>'s business (legacy key and named
/// keys, constant-time); this class only takes the secret from the request.
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
            _logger.LogWarning("INGEST_AUTH_DISABLED=true: the REST ingest endpoint accepts requests WITHOUT an API key. Development only; never in production.");
        }
        else if (RefusesAll)
        {
            _logger.LogWarning("INGEST_API_KEY is not set and no named ingest key is loaded yet: REST ingest requests are refused with 401 until an admin creates an ingest key. Set INGEST_API_KEY (or INGEST_AUTH_DISABLED=true for development only).");
        }
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
