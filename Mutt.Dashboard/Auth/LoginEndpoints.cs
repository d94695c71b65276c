using System.Net;
using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Mutt.Dashboard.Apis;
using Mutt.Dashboard.Metrics;
using Mutt.Core.Security;

namespace Mutt.Dashboard.Auth;

public static class LoginEndpoints
{
    /// <summary>
    /// Middleware order: correlation ids first (so refused responses carry one too), security headers,
    /// version headers, metrics, the per-address failure limit (429 before any credential is looked
    /// at), the spec's ?api_key= exchange, then authentication and authorization.
    /// </summary>
    public static WebApplication UseDashboardPipeline(this WebApplication app)
    {
        app.UseCorrelationId();
        if (!app.Environment.IsDevelopment())
        {
            app.UseExceptionHandler();
        }
        app.Use(SecurityHeaders.AddAsync);
        app.UseStatusCodePages();
        app.Use(ApiVersioning.AddHeadersAsync);
        app.UseMiddleware<RequestMetricsMiddleware>();
        app.UseRateLimiter();
        app.Use(ExchangeQueryKeyAsync);
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseAntiforgery();
        app.MapStaticAssets();
        return app;
    }

    /// <summary>
    /// The spec lets a link carry ?api_key=. It is accepted once: the key becomes a cookie
    /// session and the browser is sent to the same URL without it, so the key does not stay
    /// in history, bookmarks or Referer headers.
    /// </summary>
    private static async Task ExchangeQueryKeyAsync(HttpContext context, RequestDelegate next)
    {
        if (!context.Request.Query.TryGetValue(ApiKeyDefaults.QueryName, out var key))
        {
            await next(context);
            return;
        }
        var services = context.RequestServices;
        if (services.GetRequiredService<DashboardKeys>().Validate(key.ToString()) is not { } identity)
        {
            services.GetRequiredService<AuthFailureGuard>().RecordFailure(context.Connection.RemoteIpAddress, ApiKeyDefaults.SignInSurface);
            await ApiKeyDefaults.WriteUnauthorizedAsync(context);
            return;
        }
        await context.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme,
            MuttPolicies.Principal(identity.Name, identity.Role, "api-key", CookieAuthenticationDefaults.AuthenticationScheme));
        await services.GetRequiredService<SignInService>().AuditAsync("SIGN_IN", identity.Name, null, context.Connection.RemoteIpAddress, "api-key", CorrelationId(context));
        var query = QueryString.Create(context.Request.Query.Where(q => q.Key != ApiKeyDefaults.QueryName));
        context.Response.Redirect(context.Request.PathBase + context.Request.Path + query);
    }

    public static IEndpointRouteBuilder MapLoginEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/login", (string? returnUrl, string? error, IConfiguration configuration) =>
            Results.Content(LoginHtml(returnUrl, error, OidcSignIn.IsConfigured(configuration)), "text/html; charset=utf-8"))
            .AllowAnonymous().ExcludeFromDescription();
        app.MapPost("/login", SignInAsync).AllowAnonymous().DisableAntiforgery().ExcludeFromDescription();
        app.MapPost("/logout", async (HttpContext context, SignInService signIn) =>
        {
            if (context.User.Identity?.IsAuthenticated == true && context.User.FindFirstValue(ClaimTypes.Name) is { } name)
            {
                await signIn.AuditAsync("SIGN_OUT", name, DirectoryName(context.User), context.Connection.RemoteIpAddress,
                    context.User.FindFirstValue(MuttPolicies.MethodClaim) ?? "", CorrelationId(context));
            }
            await context.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
            return Results.Redirect("/login");
        }).AllowAnonymous().DisableAntiforgery().ExcludeFromDescription();
        return app;
    }

    private static async Task<IResult> SignInAsync(HttpContext context, SignInService signIn, AuthFailureGuard guard, ILogger<SignInService> logger)
    {
        var form = await context.Request.ReadFormAsync();
        var returnUrl = SafeReturnUrl(form["returnUrl"].ToString());
        var username = form["username"].ToString().Trim();
        var address = context.Connection.RemoteIpAddress;
        var account = await signIn.VerifyAsync(username, form["password"].ToString(), context.RequestAborted);
        if (account is null)
        {
            guard.RecordFailure(address, ApiKeyDefaults.SignInSurface);
            var known = await signIn.IsAccountAsync(username, context.RequestAborted);
            logger.LogWarning("Failed sign-in from {Address} for {Username}", address, known ? username : SignInService.UnknownUser);
            await signIn.AuditAsync("SIGN_IN_FAILED", known ? username : SignInService.UnknownUser, known ? username : null, address, SignInService.PasswordMethod, CorrelationId(context));
            return Results.Redirect("/login?error=1&returnUrl=" + Uri.EscapeDataString(returnUrl));
        }
        await context.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme,
            MuttPolicies.Principal(account.Username, account.Role, SignInService.PasswordMethod, CookieAuthenticationDefaults.AuthenticationScheme));
        await signIn.AuditAsync("SIGN_IN", account.Username, account.Username, address, SignInService.PasswordMethod, CorrelationId(context));
        logger.LogInformation("{Username} ({Role}) signed in from {Address}", account.Username, account.Role, address);
        return Results.Redirect(returnUrl);
    }

    /// <summary>The account a session belongs to (record_id of its audit rows), null for key sessions.</summary>
    private static string? DirectoryName(ClaimsPrincipal user) => OperatorDirectory.IsOperatorSession(user) ? user.FindFirstValue(ClaimTypes.Name) : null;

    private static string? CorrelationId(HttpContext context) => context.Items[Microsoft.Extensions.Hosting.Extensions.CorrelationIdHeader] as string;

    /// <summary>Only local paths, so the login form cannot be used as an open redirect.</summary>
    public static string SafeReturnUrl(string? url) =>
        !string.IsNullOrEmpty(url) && url.StartsWith('/') && !url.StartsWith("//", StringComparison.Ordinal) && !url.StartsWith("/\\", StringComparison.Ordinal) ? url : "/";

    private static string LoginHtml(string? returnUrl, string? error, bool oidc)
    {
        var message = error is null ? "" : "<p class=\"rz-color-danger\" id=\"login-error\" role=\"alert\">Wrong user name or password.</p>";
        var safe = WebUtility.HtmlEncode(SafeReturnUrl(returnUrl));
        var oidcLink = oidc ? $"<a id=\"sign-in-oidc\" class=\"rz-button rz-secondary\" href=\"{OidcSignIn.ChallengePath}?returnUrl={Uri.EscapeDataString(SafeReturnUrl(returnUrl))}\">Sign in with single sign-on</a>" : "";
        return $$"""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>MUTT sign in</title>
            <link rel="stylesheet" href="/_content/Radzen.Blazor/css/material-base.css">
            <style>body{font-family:system-ui,sans-serif;display:flex;justify-content:center;margin-top:10vh}
            form{width:22rem;padding:2rem;border:1px solid #ddd;border-radius:8px;display:flex;flex-direction:column;gap:.75rem}
            input{padding:.5rem;font-size:1rem}button,a.rz-button{padding:.6rem;font-size:1rem;text-align:center}</style></head>
            <body><form method="post" action="/login">
            <h2>MUTT dashboard</h2>
            <label for="username">User name</label>
            <input id="username" name="username" autocomplete="username" required autofocus>
            <label for="password">Password</label>
            <input id="password" name="password" type="password" autocomplete="current-password" required>
            <input type="hidden" name="returnUrl" value="{{safe}}">
            {{message}}
            <button type="submit" id="sign-in" class="rz-button rz-primary">Sign in</button>
            {{oidcLink}}
            </form></body></html>
            """;
    }
}
