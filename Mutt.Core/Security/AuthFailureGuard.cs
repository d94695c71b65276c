using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Mutt.Core.Security;

/// <summary>
/// Brute-force resistance for every surface that checks a secret (Dashboard sign-in, Dashboard API
/// keys, the Ingestor's REST keys): failed checks are counted per client address with the
/// framework's <see cref="FixedWindowRateLimiter"/> (AUTH_FAILURE_LIMIT failures, default 10, per
/// AUTH_FAILURE_WINDOW_SECONDS, default 60). An address that used up its failures is refused with
/// 429 and <c>Retry-After</c> until its window ends, valid credentials included, so a guess made
/// while blocked tells the guesser nothing. Only failures count: a busy, honest sender is never
/// limited. The common case costs one read of an empty dictionary. Failures and refusals are
/// counted in <c>mutt_auth_failures_total{surface, reason}</c> and logged without the secret.
/// </summary>
public sealed class AuthFailureGuard : IDisposable
{
    public const string MetricName = Mutt.Core.Telemetry.MetricNames.AuthFailuresTotal;

    private readonly PartitionedRateLimiter<IPAddress> _limiter;
    private readonly ConcurrentDictionary<IPAddress, long> _blockedUntil = new();
    private readonly Counter<long> _failures;
    private readonly TimeSpan _window;
    private readonly ILogger _logger;

    public AuthFailureGuard(IMeterFactory meterFactory, IConfiguration configuration, ILogger<AuthFailureGuard> logger)
    {
        Limit = Math.Max(1, configuration.GetValue("AUTH_FAILURE_LIMIT", 10));
        _window = TimeSpan.FromSeconds(Math.Max(1, configuration.GetValue("AUTH_FAILURE_WINDOW_SECONDS", 60)));
        _logger = logger;
        _limiter = PartitionedRateLimiter.Create<IPAddress, IPAddress>(address => RateLimitPartition.GetFixedWindowLimiter(address, _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = Limit,
            Window = _window,
            QueueLimit = 0,
            AutoReplenishment = true,
        }));
        _failures = meterFactory.Create("Mutt.Auth").CreateCounter<long>(MetricName,
            description: "Failed credential checks (reason=invalid) and requests refused while an address is over its failure limit (reason=rate_limited), by surface");
    }

    public int Limit { get; }

    /// <summary>
    /// Makes <paramref name="surface"/>'s series (both reasons) at 0, at start-up: Prometheus'
    /// <c>increase()</c> cannot see the first failure of a series born at 1. Counts nothing.
    /// </summary>
    public void DeclareSurface(string surface)
    {
        foreach (var reason in (string[])["invalid", "rate_limited"])
        {
            _failures.Add(0, new KeyValuePair<string, object?>("surface", surface), new KeyValuePair<string, object?>("reason", reason));
        }
    }

    /// <summary>True while <paramref name="address"/> is over its limit; <paramref name="retryAfter"/> is how long it remains so.</summary>
    public bool IsBlocked(IPAddress? address, out TimeSpan retryAfter)
    {
        retryAfter = default;
        // An in-process test server has no remote address: such requests share one bucket, as RecordFailure files them.
        if (_blockedUntil.IsEmpty || !_blockedUntil.TryGetValue(address ?? IPAddress.None, out var until))
        {
            return false;
        }
        var left = until - Environment.TickCount64;
        if (left <= 0)
        {
            _blockedUntil.TryRemove(KeyValuePair.Create(address ?? IPAddress.None, until));
            return false;
        }
        retryAfter = TimeSpan.FromMilliseconds(left);
        return true;
    }

    /// <summary>Checks the block and, when blocked, counts the refusal and sets <c>Retry-After</c> on the response.</summary>
    public bool RefuseIfBlocked(HttpContext context, string surface)
    {
        if (!IsBlocked(context.Connection.RemoteIpAddress, out var retryAfter))
        {
            return false;
        }
        CountRefusal(surface);
        context.Response.Headers.RetryAfter = RetryAfterSeconds(retryAfter);
        return true;
    }

    /// <summary>Counts a request refused because its address is over the limit.</summary>
    public void CountRefusal(string surface) =>
        _failures.Add(1, new KeyValuePair<string, object?>("surface", surface), new KeyValuePair<string, object?>("reason", "rate_limited"));

    /// <summary>Counts a failed check from <paramref name="address"/>; its last allowed failure starts the block.</summary>
    public void RecordFailure(IPAddress? address, string surface)
    {
        _failures.Add(1, new KeyValuePair<string, object?>("surface", surface), new KeyValuePair<string, object?>("reason", "invalid"));
        address ??= IPAddress.None;
        using var lease = _limiter.AttemptAcquire(address);
        if (lease.IsAcquired && _limiter.GetStatistics(address)?.CurrentAvailablePermits > 0)
        {
            return;
        }
        // Out of permits: a further attempt is refused, and the refusal says when the window ends.
        using var refused = _limiter.AttemptAcquire(address);
        var retryAfter = !refused.IsAcquired && refused.TryGetMetadata(MetadataName.RetryAfter, out var r) ? r : _window;
        _blockedUntil[address] = Environment.TickCount64 + (long)Math.Ceiling(retryAfter.TotalMilliseconds);
        _logger.LogWarning("Authentication: {Limit} failed {Surface} attempts from {Address} within {Window}s; refusing it for {Seconds}s",
            Limit, surface, address, _window.TotalSeconds, Math.Ceiling(retryAfter.TotalSeconds));
    }

    public static string RetryAfterSeconds(TimeSpan retryAfter) =>
        Math.Max(1, (long)Math.Ceiling(retryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// The guard as a limiter for ASP.NET Core's rate-limiting middleware (<c>GlobalLimiter</c>): a
    /// request that offers credentials (<paramref name="offersCredentials"/>) from a blocked address is
    /// refused before any endpoint runs, with RetryAfter metadata. Other requests (the sign-in page
    /// itself, health probes, /metrics) pass: they check nothing.
    /// </summary>
    public PartitionedRateLimiter<HttpContext> AsRequestLimiter(Func<HttpContext, bool> offersCredentials) => new RequestLimiter(this, offersCredentials);

    public void Dispose() => _limiter.Dispose();

    private sealed class RequestLimiter(AuthFailureGuard guard, Func<HttpContext, bool> offersCredentials) : PartitionedRateLimiter<HttpContext>
    {
        public override RateLimiterStatistics? GetStatistics(HttpContext resource) => null;

        protected override RateLimitLease AttemptAcquireCore(HttpContext resource, int permitCount) =>
            offersCredentials(resource) && guard.IsBlocked(resource.Connection.RemoteIpAddress, out var retryAfter)
                ? new Lease(false, retryAfter) : Lease.Acquired;

        protected override ValueTask<RateLimitLease> AcquireAsyncCore(HttpContext resource, int permitCount, CancellationToken cancellationToken) =>
            ValueTask.FromResult(AttemptAcquireCore(resource, permitCount));
    }

    private sealed class Lease(bool acquired, TimeSpan retryAfter) : RateLimitLease
    {
        public static readonly Lease Acquired = new(true, default);

        public override bool IsAcquired => acquired;

        public override IEnumerable<string> MetadataNames => acquired ? [] : [MetadataName.RetryAfter.Name];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = !acquired && metadataName == MetadataName.RetryAfter.Name ? retryAfter : null;
            return metadata is not null;
        }
    }
}
