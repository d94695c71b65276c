using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Mutt.Core.Secrets;
using Mutt.ServiceDefaults.Security;

namespace Mutt.Dashboard.Auth;

public static class ApiKeyDefaults
{
    public const string Scheme = "ApiKey";
    public const string PolicyScheme = "ApiKeyOrSession";
    public const string HeaderName = "X-API-KEY";
    public const string QueryName = "api_key";
    /// <summary>The principal recorded as changed_by for API-key callers; signed-in operators are "webui".</summary>
    public const string ApiKeyPrincipal = "api-key";
    public const string WebUiPrincipal = "webui";

    public static bool IsApi(HttpRequest request) => request.Path.StartsWithSegments("/api");

    /// <summary>Constant-time comparison so the response time does not leak how much of the key was right.</summary>
    public static bool Matches(string? candidate, string? expected) => ApiKeyComparer.Matches(candidate, expected);

    /// <summary>
    /// The current WEBUI_API_KEY: from the secret store (Vault, refreshed without restart) when it
    /// has one, else the configured value.
    /// </summary>
    public static string? Expected(IServiceProvider services) =>
        services.GetService<ISecretStore>()?.Get(SecretNames.WebUiApiKey) is { Length: > 0 } fromStore
            ? fromStore
            : services.GetRequiredService<IOptions<DashboardOptions>>().Value.WEBUI_API_KEY;

    public static ClaimsPrincipal Principal(string name, string scheme) =>
        new(new ClaimsIdentity([new Claim(ClaimTypes.Name, name)], scheme));

    public static Task WriteUnauthorizedAsync(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        return Results.Problem(statusCode: 401, title: "Unauthorized",
            detail: "A valid X-API-KEY header or a signed-in session is required.").ExecuteAsync(context);
    }
}

public sealed class ApiKeyOptions : AuthenticationSchemeOptions;

/// <summary>Authenticates API calls by the X-API-KEY header against WEBUI_API_KEY.</summary>
public sealed class ApiKeyHandler(IOptionsMonitor<ApiKeyOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<ApiKeyOptions>(options, logger, encoder)
{
    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!Request.Headers.TryGetValue(ApiKeyDefaults.HeaderName, out var values))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }
        if (!ApiKeyDefaults.Matches(values.ToString(), ApiKeyDefaults.Expected(Context.RequestServices)))
        {
            return Task.FromResult(AuthenticateResult.Fail("Invalid API key."));
        }
        var ticket = new AuthenticationTicket(ApiKeyDefaults.Principal(ApiKeyDefaults.ApiKeyPrincipal, Scheme.Name), Scheme.Name);
        return Task.FromResult(AuthenticateResult.Success(ticket));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties) => ApiKeyDefaults.WriteUnauthorizedAsync(Context);
}
