using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;

namespace Mutt.Core.Secrets;

/// <summary>A Vault answer other than success: status, Vault's "errors" list (never holds the token), sealed or not.</summary>
public sealed class VaultException(HttpStatusCode status, string message) : Exception(message)
{
    public HttpStatusCode Status { get; } = status;

    /// <summary>503: Vault is sealed or in standby without forwarding.</summary>
    public bool IsSealed => Status == HttpStatusCode.ServiceUnavailable;

    /// <summary>403: permission denied, or the token is invalid/expired.</summary>
    public bool IsPermissionDenied => Status == HttpStatusCode.Forbidden;
}

/// <summary>What Vault said about a token: TTL and whether it can be renewed.</summary>
public sealed record VaultTokenInfo(TimeSpan Ttl, bool Renewable);

/// <summary>
/// A small client for the parts of Vault's HTTP API MUTT uses: AppRole and Kubernetes login,
/// token lookup-self / renew-self, KV v2 read. The token is held here and sent as X-Vault-Token;
/// it is never logged and never part of an exception message.
/// </summary>
public sealed class VaultClient
{
    private readonly HttpClient _http;
    private readonly VaultOptions _options;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _loginGate = new(1, 1);
    private volatile string? _token;

    public VaultClient(HttpClient http, VaultOptions options, ILogger<VaultClient> logger)
    {
        if (options.Address is null)
        {
            throw new ArgumentException("VAULT_ADDR is not set.", nameof(options));
        }
        _http = http;
        _http.BaseAddress ??= options.Address;
        _options = options;
        _logger = logger;
    }

    public bool HasToken => _token is not null;

    /// <summary>When the current token expires, from the last login or renewal (null: no TTL).</summary>
    public DateTimeOffset? TokenExpiresAt { get; private set; }

    /// <summary>Logs in with the configured method (AppRole or Kubernetes) and keeps the token.</summary>
    public async Task LoginAsync(CancellationToken cancellationToken = default)
    {
        await _loginGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            string path;
            JsonObject body;
            if (string.Equals(_options.AuthMethod, "kubernetes", StringComparison.OrdinalIgnoreCase))
            {
                var role = _options.KubernetesRole ?? throw new InvalidOperationException("VAULT_K8S_ROLE is required for VAULT_AUTH_METHOD=kubernetes.");
                var jwt = (await File.ReadAllTextAsync(_options.KubernetesJwtPath, cancellationToken).ConfigureAwait(false)).Trim();
                path = $"v1/auth/{_options.KubernetesMount}/login";
                body = new JsonObject { ["role"] = role, ["jwt"] = jwt };
            }
            else
            {
                var roleId = _options.RoleId ?? throw new InvalidOperationException("VAULT_ROLE_ID is required for AppRole login.");
                if (!File.Exists(_options.SecretIdFile))
                {
                    throw new InvalidOperationException($"VAULT_SECRET_ID_FILE {_options.SecretIdFile} does not exist.");
                }
                var secretId = (await File.ReadAllTextAsync(_options.SecretIdFile, cancellationToken).ConfigureAwait(false)).Trim();
                path = $"v1/auth/{_options.AppRoleMount}/login";
                body = new JsonObject { ["role_id"] = roleId, ["secret_id"] = secretId };
            }
            using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
            var answer = await SendAsync(request, authenticated: false, cancellationToken).ConfigureAwait(false);
            var auth = answer["auth"] ?? throw new VaultException(HttpStatusCode.OK, "Vault login answer has no auth block.");
            _token = auth["client_token"]?.GetValue<string>() ?? throw new VaultException(HttpStatusCode.OK, "Vault login answer has no client_token.");
            var lease = TimeSpan.FromSeconds(auth["lease_duration"]?.GetValue<long>() ?? 0);
            TokenExpiresAt = lease > TimeSpan.Zero ? DateTimeOffset.UtcNow + lease : null;
            _logger.LogInformation("Vault login ({Method}) succeeded; token lease {LeaseSeconds} s, renewable {Renewable}",
                _options.AuthMethod, (long)lease.TotalSeconds, auth["renewable"]?.GetValue<bool>() ?? false);
        }
        finally
        {
            _loginGate.Release();
        }
    }

    /// <summary>GET auth/token/lookup-self: the token's remaining TTL and renewability.</summary>
    public async Task<VaultTokenInfo> LookupSelfAsync(CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "v1/auth/token/lookup-self");
        var answer = await SendAsync(request, authenticated: true, cancellationToken).ConfigureAwait(false);
        var data = answer["data"] ?? throw new VaultException(HttpStatusCode.OK, "Vault lookup-self answer has no data block.");
        return new VaultTokenInfo(TimeSpan.FromSeconds(data["ttl"]?.GetValue<long>() ?? 0), data["renewable"]?.GetValue<bool>() ?? false);
    }

    /// <summary>POST auth/token/renew-self; returns the new lease.</summary>
    public async Task<TimeSpan> RenewSelfAsync(CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/auth/token/renew-self") { Content = JsonContent.Create(new JsonObject()) };
        var answer = await SendAsync(request, authenticated: true, cancellationToken).ConfigureAwait(false);
        var lease = TimeSpan.FromSeconds(answer["auth"]?["lease_duration"]?.GetValue<long>() ?? 0);
        TokenExpiresAt = DateTimeOffset.UtcNow + lease;
        return lease;
    }

    /// <summary>GET {mount}/data/{path} (KV v2): the key/value pairs of the latest version.</summary>
    public async Task<IReadOnlyDictionary<string, string>> ReadSecretsAsync(CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"v1/{_options.KvMount}/data/{_options.KvPath}");
        var answer = await SendAsync(request, authenticated: true, cancellationToken).ConfigureAwait(false);
        var data = answer["data"]?["data"] as JsonObject
            ?? throw new VaultException(HttpStatusCode.OK, $"Vault KV v2 answer for {_options.SecretsPath} has no data.data block (is the mount KV version 2?).");
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in data)
        {
            if (value is JsonValue scalar)
            {
                values[key] = scalar.GetValueKind() == JsonValueKind.String ? scalar.GetValue<string>() : scalar.ToJsonString();
            }
        }
        return values;
    }

    /// <summary>
    /// The token lifecycle step run every VAULT_RENEW_CHECK_INTERVAL: log in when there is no
    /// token; look it up; renew when its TTL is below the threshold; log in again when the
    /// lookup or renewal fails, or the token cannot be renewed and is about to expire.
    /// </summary>
    public async Task EnsureTokenAsync(CancellationToken cancellationToken = default)
    {
        if (_token is null)
        {
            await LoginAsync(cancellationToken).ConfigureAwait(false);
            return;
        }
        VaultTokenInfo info;
        try
        {
            info = await LookupSelfAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (VaultException ex) when (ex.IsPermissionDenied)
        {
            _logger.LogWarning("Vault token lookup was refused (expired or revoked token); logging in again");
            await LoginAsync(cancellationToken).ConfigureAwait(false);
            return;
        }
        if (info.Ttl >= _options.RenewThreshold || info.Ttl == TimeSpan.Zero)
        {
            return; // plenty of time left, or a root/periodic token without TTL
        }
        if (!info.Renewable)
        {
            _logger.LogInformation("Vault token TTL {TtlSeconds} s is below the renewal threshold and the token is not renewable; logging in again", (long)info.Ttl.TotalSeconds);
            await LoginAsync(cancellationToken).ConfigureAwait(false);
            return;
        }
        try
        {
            var lease = await RenewSelfAsync(cancellationToken).ConfigureAwait(false);
            _logger.LogInformation("Vault token renewed; new lease {LeaseSeconds} s", (long)lease.TotalSeconds);
            if (lease < _options.RenewThreshold)
            {
                // max TTL reached: renewal cannot extend it any further
                _logger.LogInformation("Vault token is near its max TTL; logging in again");
                await LoginAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (VaultException ex) when (!ex.IsSealed)
        {
            _logger.LogWarning("Vault token renewal failed ({Status}); logging in again", (int)ex.Status);
            await LoginAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<JsonNode> SendAsync(HttpRequestMessage request, bool authenticated, CancellationToken cancellationToken)
    {
        if (authenticated)
        {
            var token = _token ?? throw new InvalidOperationException("Not logged in to Vault.");
            request.Headers.TryAddWithoutValidation("X-Vault-Token", token);
        }
        if (_options.Namespace is not null)
        {
            request.Headers.TryAddWithoutValidation("X-Vault-Namespace", _options.Namespace);
        }
        var path = request.RequestUri?.OriginalString ?? "";
        using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new VaultException(response.StatusCode, $"Vault {request.Method} /{path} answered {(int)response.StatusCode}: {Errors(text)}");
        }
        return JsonNode.Parse(string.IsNullOrWhiteSpace(text) ? "{}" : text) ?? new JsonObject();
    }

    /// <summary>Vault's documented error body is {"errors":[...]}; only that list is quoted, never the body as a whole.</summary>
    private static string Errors(string body)
    {
        try
        {
            if (JsonNode.Parse(body)?["errors"] is JsonArray errors)
            {
                return errors.Count == 0 ? "(no error text)" : string.Join("; ", errors.Select(e => e?.ToString()));
            }
        }
        catch (JsonException)
        {
        }
        return "(no Vault error body)";
    }
}
