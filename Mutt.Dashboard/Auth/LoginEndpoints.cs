using System.Net;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Http.Extensions;
using Microsoft.Extensions.Options;
using Mutt.Dashboard.Apis;
using Mutt.Dashboard.Metrics;

namespace Mutt.Dashboard.Auth;

public static class LoginEndpoints
{
    /// <summary>Middleware order: correlation ids first (so refused responses carry one too), then version headers, metrics, ?api_key= exchange, auth.</summary>
    public static WebApplication UseDashboardPipeline(this WebApplication app)
    {
        app.UseCorrelationId();
        if (!app.Environment.IsDevelopment())
        {
            app.UseExceptionHandler();
        }
        app.UseStatusCodePages();
        app.Use(ApiVersioning.AddHeadersAsync);
        app.UseMiddleware<RequestMetricsMiddleware>();
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
        var expected = ApiKeyDefaults.Expected(context.RequestServices);
        if (!ApiKeyDefaults.Matches(key.ToString(), expected))
        {
            await ApiKeyDefaults.WriteUnauthorizedAsync(context);
            return;
        }
        await context.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme,
            ApiKeyDefaults.Principal(ApiKeyDefaults.WebUiPrincipal, CookieAuthenticationDefaults.AuthenticationScheme));
        var query = QueryString.Create(context.Request.Query.Where(q => q.Key != ApiKeyDefaults.QueryName));
        context.Response.Redirect(context.Request.PathBase + context.Request.Path + query);
    }

    public static IEndpointRouteBuilder MapLoginEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/login", (string? returnUrl, string? error) => Results.Content(LoginHtml(returnUrl, error), "text/html; charset=utf-8"))
            .AllowAnonymous().ExcludeFromDescription();
        app.MapPost("/login", async (HttpContext context) =>
        {
            var form = await context.Request.ReadFormAsync();
            var returnUrl = SafeReturnUrl(form["returnUrl"].ToString());
            if (!ApiKeyDefaults.Matches(form["api_key"].ToString(), ApiKeyDefaults.Expected(context.RequestServices)))
            {
                return Results.Redirect("/login?error=1&returnUrl=" + Uri.EscapeDataString(returnUrl));
            }
            await context.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme,
                ApiKeyDefaults.Principal(ApiKeyDefaults.WebUiPrincipal, CookieAuthenticationDefaults.AuthenticationScheme));
            return Results.Redirect(returnUrl);
        }).AllowAnonymous().DisableAntiforgery().ExcludeFromDescription();
        app.MapPost("/logout", async (HttpContext context) =>
        {
            await context.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
            return Results.Redirect("/login");
        }).AllowAnonymous().DisableAntiforgery().ExcludeFromDescription();
        return app;
    }

    /// <summary>Only local paths, so the login form cannot be used as an open redirect.</summary>
    private static string SafeReturnUrl(string? url) =>
        !string.IsNullOrEmpty(url) && url.StartsWith('/') && !url.StartsWith("//", StringComparison.Ordinal) && !url.StartsWith("/\\", StringComparison.Ordinal) ? url : "/";

    private static string LoginHtml(string? returnUrl, string? error)
    {
        var message = error is null ? "" : "<p class=\"rz-color-danger\" id=\"login-error\" role=\"alert\">That API key is not valid.</p>";
        return $$"""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>MUTT sign in</title>
            <link rel="stylesheet" href="/_content/Radzen.Blazor/css/material-base.css">
            <style>body{font-family:system-ui,sans-serif;display:flex;justify-content:center;margin-top:10vh}
            form{width:22rem;padding:2rem;border:1px solid #ddd;border-radius:8px;display:flex;flex-direction:column;gap:.75rem}
            input{padding:.5rem;font-size:1rem}button{padding:.6rem;font-size:1rem}</style></head>
            <body><form method="post" action="/login">
            <h2>MUTT dashboard</h2>
            <label for="api_key">WEBUI API key</label>
            <input id="api_key" name="api_key" type="password" autocomplete="current-password" required autofocus>
            <input type="hidden" name="returnUrl" value="{{WebUtility.HtmlEncode(SafeReturnUrl(returnUrl))}}">
            {{message}}
            <button type="submit" id="sign-in" class="rz-button rz-primary">Sign in</button>
            </form></body></html>
            """;
    }
}
