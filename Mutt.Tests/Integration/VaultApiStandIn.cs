using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Mutt.Tests.Integration;

/// <summary>
/// An in-test HTTP server that follows Vault's documented API for what MUTT uses:
/// POST /v1/auth/approle/login, POST /v1/auth/kubernetes/login, GET /v1/auth/token/lookup-self,
/// POST /v1/auth/token/renew-self, GET /v1/{mount}/data/{path} (KV v2), X-Vault-Token header,
/// errors as {"errors":[...]} with 400/403/404, 503 when sealed. Its clock is settable so token
/// expiry is tested without waiting.
/// </summary>
public sealed class VaultApiStandIn : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, TokenState> _tokens = new();

    private VaultApiStandIn(WebApplication app) => _app = app;

    public Uri Address { get; private set; } = null!;
    public string RoleId { get; set; } = "role-" + Guid.NewGuid().ToString("N");
    public string SecretId { get; set; } = "secret-id-" + Guid.NewGuid().ToString("N");
    public string KubernetesRole { get; set; } = "mutt";
    public string KubernetesJwt { get; set; } = "jwt-" + Guid.NewGuid().ToString("N");
    public string KvMount { get; set; } = "secret";
    public string KvPath { get; set; } = "mutt";
    public TimeSpan TokenTtl { get; set; } = TimeSpan.FromHours(1);
    public TimeSpan TokenMaxTtl { get; set; } = TimeSpan.FromHours(24);
    public bool TokensRenewable { get; set; } = true;
    public bool RefuseRenewals { get; set; }
    public bool Sealed { get; set; }
    /// <summary>When false, KV reads answer 403 permission denied (policy without read on the path).</summary>
    public bool PolicyAllowsRead { get; set; } = true;
    public DateTimeOffset Now { get; set; } = DateTimeOffset.UtcNow;
    public ConcurrentDictionary<string, string> Secrets { get; } = new();
    public int KvVersion { get; private set; } = 1;

    public int Logins;
    public int Renewals;
    public int Lookups;
    public int Reads;

    /// <summary>Every token handed out (for the secret-in-logs checks).</summary>
    public IReadOnlyCollection<string> IssuedTokens => _tokens.Keys.ToList();

    public void SetSecret(string name, string value)
    {
        Secrets[name] = value;
        KvVersion++;
    }

    /// <summary>Invalidates every token (as revocation or expiry would).</summary>
    public void RevokeAll() => _tokens.Clear();

    public static async Task<VaultApiStandIn> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var standIn = new VaultApiStandIn(app);
        standIn.Map(app);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        standIn.Address = new Uri(address.TrimEnd('/') + "/");
        return standIn;
    }

    private void Map(WebApplication app)
    {
        app.Use(async (context, next) =>
        {
            if (Sealed)
            {
                await Error(context, 503, "Vault is sealed");
                return;
            }
            await next();
        });
        app.MapPost("/v1/auth/approle/login", async context =>
        {
            var body = await JsonNode.ParseAsync(context.Request.Body);
            if (body?["role_id"]?.GetValue<string>() != RoleId || body?["secret_id"]?.GetValue<string>() != SecretId)
            {
                await Error(context, 400, "invalid role or secret ID");
                return;
            }
            await Login(context, "approle");
        });
        app.MapPost("/v1/auth/kubernetes/login", async context =>
        {
            var body = await JsonNode.ParseAsync(context.Request.Body);
            if (body?["role"]?.GetValue<string>() != KubernetesRole || body?["jwt"]?.GetValue<string>() != KubernetesJwt)
            {
                await Error(context, 403, "permission denied");
                return;
            }
            await Login(context, "kubernetes");
        });
        app.MapGet("/v1/auth/token/lookup-self", async context =>
        {
            Interlocked.Increment(ref Lookups);
            if (Authenticate(context) is not { } token)
            {
                await Error(context, 403, "permission denied");
                return;
            }
            await context.Response.WriteAsJsonAsync(new JsonObject
            {
                ["request_id"] = Guid.NewGuid().ToString(),
                ["lease_id"] = "",
                ["renewable"] = false,
                ["lease_duration"] = 0,
                ["data"] = new JsonObject
                {
                    ["accessor"] = token.Accessor,
                    ["creation_ttl"] = (long)TokenTtl.TotalSeconds,
                    ["display_name"] = token.Method,
                    ["policies"] = new JsonArray("default", "mutt"),
                    ["renewable"] = token.Renewable,
                    ["ttl"] = (long)Math.Max(0, (token.ExpiresAt - Now).TotalSeconds),
                    ["type"] = "service",
                },
            });
        });
        app.MapPost("/v1/auth/token/renew-self", async context =>
        {
            if (Authenticate(context) is not { } token)
            {
                await Error(context, 403, "permission denied");
                return;
            }
            if (RefuseRenewals || !token.Renewable)
            {
                await Error(context, 400, "lease is not renewable");
                return;
            }
            Interlocked.Increment(ref Renewals);
            var expires = Now + TokenTtl;
            token.ExpiresAt = expires < token.MaxExpiresAt ? expires : token.MaxExpiresAt;
            await context.Response.WriteAsJsonAsync(AuthBlock(token));
        });
        app.MapGet("/v1/{mount}/data/{**path}", async (HttpContext context, string mount, string path) =>
        {
            Interlocked.Increment(ref Reads);
            if (Authenticate(context) is null || !PolicyAllowsRead)
            {
                await Error(context, 403, "permission denied");
                return;
            }
            if (mount != KvMount || path != KvPath)
            {
                context.Response.StatusCode = 404;
                await context.Response.WriteAsJsonAsync(new JsonObject { ["errors"] = new JsonArray() });
                return;
            }
            var data = new JsonObject();
            foreach (var (key, value) in Secrets)
            {
                data[key] = value;
            }
            await context.Response.WriteAsJsonAsync(new JsonObject
            {
                ["request_id"] = Guid.NewGuid().ToString(),
                ["lease_id"] = "",
                ["renewable"] = false,
                ["lease_duration"] = 0,
                ["data"] = new JsonObject
                {
                    ["data"] = data,
                    ["metadata"] = new JsonObject
                    {
                        ["created_time"] = Now.ToString("O"),
                        ["deletion_time"] = "",
                        ["destroyed"] = false,
                        ["version"] = KvVersion,
                    },
                },
            });
        });
    }

    private async Task Login(HttpContext context, string method)
    {
        Interlocked.Increment(ref Logins);
        var token = new TokenState("hvs." + Guid.NewGuid().ToString("N"), Guid.NewGuid().ToString("N"), method, TokensRenewable, Now + TokenTtl, Now + TokenMaxTtl);
        _tokens[token.Token] = token;
        await context.Response.WriteAsJsonAsync(AuthBlock(token));
    }

    private JsonObject AuthBlock(TokenState token) => new()
    {
        ["request_id"] = Guid.NewGuid().ToString(),
        ["lease_id"] = "",
        ["renewable"] = false,
        ["lease_duration"] = 0,
        ["data"] = null,
        ["auth"] = new JsonObject
        {
            ["client_token"] = token.Token,
            ["accessor"] = token.Accessor,
            ["policies"] = new JsonArray("default", "mutt"),
            ["token_policies"] = new JsonArray("default", "mutt"),
            ["metadata"] = new JsonObject { ["role_name"] = "mutt" },
            ["lease_duration"] = (long)Math.Max(0, (token.ExpiresAt - Now).TotalSeconds),
            ["renewable"] = token.Renewable,
        },
    };

    private TokenState? Authenticate(HttpContext context)
    {
        var presented = context.Request.Headers["X-Vault-Token"].ToString();
        return _tokens.TryGetValue(presented, out var token) && token.ExpiresAt > Now ? token : null;
    }

    private static async Task Error(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = status;
        await context.Response.WriteAsJsonAsync(new JsonObject { ["errors"] = new JsonArray(message) });
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private sealed class TokenState(string token, string accessor, string method, bool renewable, DateTimeOffset expiresAt, DateTimeOffset maxExpiresAt)
    {
        public string Token { get; } = token;
        public string Accessor { get; } = accessor;
        public string Method { get; } = method;
        public bool Renewable { get; } = renewable;
        public DateTimeOffset ExpiresAt { get; set; } = expiresAt;
        public DateTimeOffset MaxExpiresAt { get; } = maxExpiresAt;
    }
}
