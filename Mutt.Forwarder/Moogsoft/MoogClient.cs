using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Options;
using Mutt.Core.Secrets;
using Mutt.Forwarder.Services;

namespace Mutt.Forwarder.Moogsoft;

public enum SendResult
{
    Success,
    /// <summary>429: Moogsoft is up but wants us to slow down.</summary>
    Throttled,
    /// <summary>5xx, timeout, connection error: may clear, retry with backoff.</summary>
    Retryable,
    /// <summary>Any other 4xx: the request itself is wrong; retrying cannot help.</summary>
    Rejected,
}

public sealed record SendOutcome(SendResult Result, string Reason, int? HttpStatus = null, string? BodyExcerpt = null, TimeSpan? RetryAfter = null, string? Error = null);

/// <summary>
/// Posts one LAM request to Moogsoft and classifies the answer. Authenticates the way the REST
/// LAM's <c>authentication_type: basic</c> expects: <c>Authorization: Basic base64(MOOG_API_USER:MOOG_API_KEY)</c>.
/// The key is read from the <see cref="ISecretStore"/> on every request (a rotated key is used without a
/// restart), falling back to the configured MOOG_API_KEY; the header is rebuilt only when the key changes.
/// </summary>
public sealed class MoogClient : IDisposable
{
    public const int ExcerptLength = 500;
    private readonly HttpClient _http;
    private readonly Uri _url;
    private readonly ForwarderMetrics _metrics;
    private readonly ISecretStore? _secrets;
    private readonly string? _configuredKey;
    private readonly string _user;
    private AuthCache _auth = new(null, null);

    public MoogClient(IOptions<ForwarderOptions> options, ForwarderMetrics metrics, ISecretStore? secrets = null)
    {
        var o = options.Value;
        _metrics = metrics;
        _secrets = secrets;
        _configuredKey = string.IsNullOrEmpty(o.ApiKey) ? null : o.ApiKey;
        _user = o.ApiUser;
        _url = new Uri(o.WebhookUrl!);
        _http = new HttpClient(new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            ConnectTimeout = TimeSpan.FromSeconds(Math.Min(o.WebhookTimeoutSeconds, 5)),
            AutomaticDecompression = DecompressionMethods.None,
        })
        {
            Timeout = TimeSpan.FromSeconds(o.WebhookTimeoutSeconds),
        };
    }

    /// <summary>The Authorization header for the key of the moment (null: no key configured, no header).</summary>
    private AuthenticationHeaderValue? Authorization()
    {
        var key = _secrets?.Get(SecretNames.MoogApiKey) ?? _configuredKey;
        var cached = Volatile.Read(ref _auth);
        if (string.Equals(cached.Key, key, StringComparison.Ordinal))
        {
            return cached.Header;
        }
        var header = key is null ? null : new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{_user}:{key}")));
        Volatile.Write(ref _auth, new AuthCache(key, header));
        return header;
    }

    /// <summary>Not a record: its generated ToString would print the key.</summary>
    private sealed class AuthCache(string? key, AuthenticationHeaderValue? header)
    {
        public string? Key { get; } = key;
        public AuthenticationHeaderValue? Header { get; } = header;
    }

    public Uri Url => _url;

    public async Task<SendOutcome> SendAsync(byte[] body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, _url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Authorization = Authorization();
        var started = Stopwatch.GetTimestamp();
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            var status = (int)response.StatusCode;
            if (response.IsSuccessStatusCode)
            {
                return new SendOutcome(SendResult.Success, "ok", status);
            }
            var excerpt = await ExcerptAsync(response, cancellationToken).ConfigureAwait(false);
            if (status == 429)
            {
                return new SendOutcome(SendResult.Throttled, "http_429", status, excerpt, RetryAfter(response));
            }
            if (status >= 500 || status == 408)
            {
                return new SendOutcome(SendResult.Retryable, "http_5xx", status, excerpt);
            }
            return new SendOutcome(SendResult.Rejected, "http_4xx", status, excerpt);
        }
        catch (TaskCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            return new SendOutcome(SendResult.Retryable, "timeout", Error: ex.Message);
        }
        catch (HttpRequestException ex)
        {
            return new SendOutcome(SendResult.Retryable, "connection", Error: ex.Message);
        }
        catch (IOException ex)
        {
            return new SendOutcome(SendResult.Retryable, "connection", Error: ex.Message);
        }
        finally
        {
            _metrics.Latency.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
    }

    /// <summary>Cheap reachability probe for /health: can we open a TCP connection to the webhook host?</summary>
    public async Task<bool> IsReachableAsync(TimeSpan timeout)
    {
        using var client = new TcpClient();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await client.ConnectAsync(_url.Host, _url.Port, cts.Token).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            return false;
        }
    }

    private static TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        var header = response.Headers.RetryAfter;
        if (header?.Delta is { } delta)
        {
            return delta;
        }
        if (header?.Date is { } date)
        {
            var wait = date - DateTimeOffset.UtcNow;
            return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
        }
        return null;
    }

    private static async Task<string> ExcerptAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            return text.Length <= ExcerptLength ? text : text[..ExcerptLength];
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            return "";
        }
    }

    public void Dispose() => _http.Dispose();
}
