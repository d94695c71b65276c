using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Mutt.Core.Secrets;
using Mutt.Core.Security;

namespace Mutt.Dashboard.Auth;

public static class ApiKeyDefaults
{
    public const string Scheme = "ApiKey";
    public const string PolicyScheme = "ApiKeyOrSession";
    public const string HeaderName = "X-API-KEY";
    public const string QueryName = "api_key";

    /// <summary>The <c>surface</c> labels of mutt_auth_failures_total.</summary>
    public const string ApiSurface = "dashboard_api";
    public const string SignInSurface = "sign_in";

    public static bool IsApi(HttpRequest request) => request.Path.StartsWithSegments("/api");

    /// <summary>
    /// The current WEBUI_API_KEY: from the secret store (Vault, refreshed without restart) when it
    /// has one, else the configured value.
    /// </summary>
    public static string? Expected(IServiceProvider services) =>
        services.GetService<ISecretStore>()?.Get(SecretNames.WebUiApiKey) is { Length: > 0 } fromStore
            ? fromStore
            : services.GetRequiredService<IOptions<DashboardOptions>>().Value.WEBUI_API_KEY;

    public static Task WriteUnauthorizedAsync(HttpContext context) =>
        WriteProblemAsync(context, StatusCodes.Status401Unauthorized, "Unauthorized", "A valid X-API-KEY header or a signed-in session is required.");

    public static Task WriteForbiddenAsync(HttpContext context) =>
        WriteProblemAsync(context, StatusCodes.Status403Forbidden, "Forbidden",
            $"Your role ({context.User.Role() ?? "none"}) does not allow this; it needs a stronger role (viewer < operator < admin).");

    private static Task WriteProblemAsync(HttpContext context, int status, string title, string detail)
    {
        context.Response.StatusCode = status;
        return Results.Problem(statusCode: status, title: title, detail: detail).ExecuteAsync(context);
    }
}

public sealed class ApiKeyOptions : AuthenticationSchemeOptions;

/// <summary>
/// Authenticates API calls by the X-API-KEY header: the legacy WEBUI_API_KEY or a named key
/// (<see cref="DashboardKeys"/>). A wrong key counts against the caller's address
/// (<see cref="AuthFailureGuard"/>) and is logged without the key.
/// </summary>
public sealed class ApiKeyHandler(IOptionsMonitor<ApiKeyOptions> options, ILoggerFactory logger, UrlEncoder encoder, DashboardKeys keys, AuthFailureGuard guard)
    : AuthenticationHandler<ApiKeyOptions>(options, logger, encoder)
{
    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!Request.Headers.TryGetValue(ApiKeyDefaults.HeaderName, out var values))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }
        if (keys.Validate(values.ToString()) is not { } key)
        {
            guard.RecordFailure(Context.Connection.RemoteIpAddress, ApiKeyDefaults.ApiSurface);
            Logger.LogWarning("API request {Method} {Path} from {Address} refused: invalid API key",
                Request.Method, Request.Path.Value, Context.Connection.RemoteIpAddress);
            return Task.FromResult(AuthenticateResult.Fail("Invalid API key."));
        }
        var principal = MuttPolicies.Principal(key.Name, key.Role, "api-key", Scheme.Name);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(principal, Scheme.Name)));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties) => ApiKeyDefaults.WriteUnauthorizedAsync(Context);

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) => ApiKeyDefaults.WriteForbiddenAsync(Context);
}
