using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using Mutt.Dashboard.Services;
using static Mutt.Dashboard.Apis.ApiResults;

using Mutt.Dashboard.Auth;

namespace Mutt.Dashboard.Apis;

public sealed record ConfigRequest([property: JsonPropertyName("value")] string? Value, [property: JsonPropertyName("reason")] string? Reason);

/// <summary>Spec 004's dynamic configuration keys (mutt:config:*), changed live and audited.</summary>
public static class ConfigApi
{
    public static IEndpointRouteBuilder MapConfigApi(this IEndpointRouteBuilder app)
    {
        app.MapVersioned("Config", (g, v2) =>
        {
            g.MapGet("/config", GetConfig).Named(v2, "GetConfig").WithSummary("Every dynamic configuration key with its value and default");
            g.MapGet("/config/{key}", GetConfigKey).Named(v2, "GetConfigKey").WithSummary("One dynamic configuration key");
            g.MapPut("/config/{key}", SetConfigKey).Named(v2, "SetConfigKey").WithSummary("Set a dynamic configuration key (validated, audited, published)").RequireOperator();
        });
        return app;
    }

    public static async Task<Ok<IReadOnlyList<ConfigEntry>>> GetConfig(ManagementService m) => TypedResults.Ok(await m.GetConfigAsync());

    public static async Task<Results<Ok<ConfigEntry>, NotFound>> GetConfigKey(string key, ManagementService m) =>
        (await m.GetConfigAsync()).FirstOrDefault(e => e.Key == key) is { } entry ? TypedResults.Ok(entry) : TypedResults.NotFound();

    public static async Task<Results<Ok<ConfigEntry>, NotFound, ProblemHttpResult, ValidationProblem>> SetConfigKey(
        string key, ConfigRequest body, HttpContext context, ManagementService m, CancellationToken ct) =>
        ToResult(await m.SetConfigAsync(key, body.Value, Change(context, body.Reason), ct), TypedResults.Ok);
}
