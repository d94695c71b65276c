using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using Mutt.Dashboard.Auth;
using Mutt.Dashboard.Data;
using Mutt.Dashboard.Services;
using static Mutt.Dashboard.Apis.ApiResults;

namespace Mutt.Dashboard.Apis;

public sealed record CreateApiKeyRequest(
    [property: JsonPropertyName("name")] string? Name, [property: JsonPropertyName("role")] string? Role, [property: JsonPropertyName("reason")] string? Reason);

/// <summary>
/// Named API keys (issue 17), for admins. The secret is in the creation response only; the list
/// shows name, role, prefix, creator, creation, last use and revocation. DELETE revokes: the row
/// stays, so audit rows that name the key stay unambiguous.
/// </summary>
public static class ApiKeysApi
{
    public static IEndpointRouteBuilder MapApiKeysApi(this IEndpointRouteBuilder app)
    {
        app.MapVersioned("API keys", (g, v2) =>
        {
            g.MapGet("/api-keys", ListKeys).Named(v2, "ListApiKeys").WithSummary("List named API keys (never their secrets)").RequireAdmin();
            g.MapPost("/api-keys", CreateKey).Named(v2, "CreateApiKey").WithSummary("Create a named key; the secret is returned once").RequireAdmin();
            g.MapDelete("/api-keys/{name}", RevokeKey).Named(v2, "RevokeApiKey").WithSummary("Revoke a key: refused everywhere within seconds").RequireAdmin();
        });
        return app;
    }

    public static async Task<Ok<List<ApiKeyInfo>>> ListKeys(ApiKeyStore store, CancellationToken ct) => TypedResults.Ok(await store.ListAsync(ct));

    public static async Task<Results<Created<CreatedApiKey>, NotFound, ProblemHttpResult, ValidationProblem>> CreateKey(
        CreateApiKeyRequest body, HttpContext context, AccountService accounts, CancellationToken ct) =>
        ToResult(await accounts.CreateKeyAsync(body.Name?.Trim(), body.Role, Change(context, body.Reason), ct),
            k => TypedResults.Created($"{Prefix(context)}/api-keys/{Uri.EscapeDataString(k.Key.Name)}", k));

    public static async Task<Results<Ok<ApiKeyInfo>, NotFound, ProblemHttpResult, ValidationProblem>> RevokeKey(
        string name, HttpContext context, AccountService accounts, CancellationToken ct) =>
        ToResult(await accounts.RevokeKeyAsync(name, Change(context), ct), TypedResults.Ok);
}
