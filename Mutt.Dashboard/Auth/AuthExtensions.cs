using System.Net;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.Components.Server.Circuits;
using Microsoft.AspNetCore.RateLimiting;
using Mutt.Core.Auth;
using Mutt.Dashboard.Data;
using Mutt.Dashboard.Services;
using Mutt.Core.Security;

namespace Mutt.Dashboard.Auth;

/// <summary>Everything that decides who a Dashboard caller is and what they may do (issue 17).</summary>
public static class AuthExtensions
{
    public static IHostApplicationBuilder AddDashboardAuth(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        var idle = TimeSpan.FromMinutes(Math.Clamp(builder.Configuration.GetValue("DASHBOARD_SESSION_IDLE_MINUTES", 30), 1, 1440));

        services.AddApiKeyRing(builder.Configuration, MuttRoles.Viewer, MuttRoles.Operator, MuttRoles.Admin);
        services.AddSingleton<DashboardKeys>();
        services.AddSingleton<AuthFailureGuard>();
        services.AddHostedService<AuthFailureSeries>();
        services.AddSingleton<OperatorStore>();
        services.AddSingleton<ApiKeyStore>();
        services.AddSingleton<OperatorDirectory>();
        services.AddSingleton<SignInService>();
        services.AddSingleton<AccountService>();

        services.AddAuthentication(ApiKeyDefaults.PolicyScheme)
            .AddPolicyScheme(ApiKeyDefaults.PolicyScheme, "API key or session", o =>
                o.ForwardDefaultSelector = ctx => ctx.Request.Headers.ContainsKey(ApiKeyDefaults.HeaderName)
                    ? ApiKeyDefaults.Scheme : CookieAuthenticationDefaults.AuthenticationScheme)
            .AddScheme<ApiKeyOptions, ApiKeyHandler>(ApiKeyDefaults.Scheme, _ => { })
            .AddCookie(o =>
            {
                o.LoginPath = "/login";
                o.Cookie.Name = "mutt.session";
                o.Cookie.HttpOnly = true;
                o.Cookie.SameSite = SameSiteMode.Strict;
                // Secure whenever the request came over HTTPS (TLS_CERT_PATH), so the cookie never leaves it.
                o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                o.SlidingExpiration = true;
                o.ExpireTimeSpan = idle;
                o.Events.OnRedirectToLogin = ctx => ApiKeyDefaults.IsApi(ctx.Request)
                    ? ApiKeyDefaults.WriteUnauthorizedAsync(ctx.HttpContext)
                    : Redirect(ctx);
                o.Events.OnRedirectToAccessDenied = ctx => ApiKeyDefaults.WriteForbiddenAsync(ctx.HttpContext);
                o.Events.OnValidatePrincipal = async ctx =>
                {
                    var current = await ctx.HttpContext.RequestServices.GetRequiredService<OperatorDirectory>().RevalidateAsync(ctx.Principal!, ctx.HttpContext.RequestAborted);
                    if (current is null)
                    {
                        ctx.RejectPrincipal();
                    }
                    else if (!ReferenceEquals(current, ctx.Principal))
                    {
                        ctx.ReplacePrincipal(current);
                        ctx.ShouldRenew = true;
                    }
                };
            })
            .AddMuttOidc(builder.Configuration);
        services.AddMuttAuthorization();
        services.AddCascadingAuthenticationState();
        // Open pages (Blazor circuits) re-check their user and end after the same idle time as the cookie.
        services.AddSingleton(new SessionIdleLimit(idle));
        services.AddScoped<CircuitActivity>();
        services.AddScoped<CircuitHandler>(sp => sp.GetRequiredService<CircuitActivity>());
        services.AddScoped<AuthenticationStateProvider, OperatorRevalidator>();

        // The framework's rate limiting middleware answers 429 for an address over its failure limit.
        services.AddRateLimiter(_ => { });
        services.AddOptions<RateLimiterOptions>().Configure<AuthFailureGuard>((o, guard) =>
        {
            o.GlobalLimiter = guard.AsRequestLimiter(OffersCredentials);
            o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            o.OnRejected = async (ctx, ct) =>
            {
                var http = ctx.HttpContext;
                var retryAfter = ctx.Lease.TryGetMetadata(System.Threading.RateLimiting.MetadataName.RetryAfter, out var r) ? r : TimeSpan.FromSeconds(60);
                http.Response.Headers.RetryAfter = AuthFailureGuard.RetryAfterSeconds(retryAfter);
                guard.CountRefusal(http.Request.Path.StartsWithSegments("/api") ? ApiKeyDefaults.ApiSurface : ApiKeyDefaults.SignInSurface);
                await Results.Problem(statusCode: StatusCodes.Status429TooManyRequests, title: "Too many failed sign-ins or key checks",
                    detail: $"Too many failed attempts from this address; retry after {AuthFailureGuard.RetryAfterSeconds(retryAfter)} s.").ExecuteAsync(http);
            };
        });
        return builder;
    }

    /// <summary>
    /// What a guesser could try a secret with: a sign-in, an API key, a ?api_key= link, any API call.
    /// The sign-in page itself, health probes and /metrics stay reachable from a blocked address
    /// (a node behind the same NAT must not fail its probes; the 10th failure must show its message).
    /// </summary>
    private static bool OffersCredentials(HttpContext context)
    {
        var request = context.Request;
        return (HttpMethods.IsPost(request.Method) && request.Path.StartsWithSegments("/login"))
            || request.Headers.ContainsKey(ApiKeyDefaults.HeaderName)
            || request.Query.ContainsKey(ApiKeyDefaults.QueryName)
            || ApiKeyDefaults.IsApi(request);
    }

    private static Task Redirect(Microsoft.AspNetCore.Authentication.RedirectContext<CookieAuthenticationOptions> ctx)
    {
        ctx.Response.Redirect(ctx.RedirectUri);
        return Task.CompletedTask;
    }
}

/// <summary>The Dashboard's mutt_auth_failures_total series, made at 0 at start-up (after the /metrics exporter exists).</summary>
internal sealed class AuthFailureSeries(AuthFailureGuard guard) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        guard.DeclareSurface(ApiKeyDefaults.ApiSurface);
        guard.DeclareSurface(ApiKeyDefaults.SignInSurface);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
