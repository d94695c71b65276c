using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Mutt.Core.Auth;
using Mutt.Dashboard.Data;

namespace Mutt.Dashboard.Auth;

/// <summary>
/// Which MUTT role an identity provider's claim values give: the strongest role any value is
/// listed under (OIDC_ADMIN_VALUES, OIDC_OPERATOR_VALUES, OIDC_VIEWER_VALUES, comma-separated,
/// compared case-sensitively as IdPs send them); null when none matches (the sign-in is refused).
/// </summary>
public sealed record OidcRoleMapping(IReadOnlySet<string> Admin, IReadOnlySet<string> Operator, IReadOnlySet<string> Viewer)
{
    public static OidcRoleMapping FromConfiguration(IConfiguration c) => new(Set(c["OIDC_ADMIN_VALUES"]), Set(c["OIDC_OPERATOR_VALUES"]), Set(c["OIDC_VIEWER_VALUES"]));

    public string? RoleFor(IEnumerable<string> values)
    {
        var given = values.ToHashSet(StringComparer.Ordinal);
        return given.Overlaps(Admin) ? MuttRoles.Admin : given.Overlaps(Operator) ? MuttRoles.Operator : given.Overlaps(Viewer) ? MuttRoles.Viewer : null;
    }

    private static HashSet<string> Set(string? csv) =>
        (csv ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);
}

/// <summary>
/// Optional OpenID Connect sign-in (Microsoft.AspNetCore.Authentication.OpenIdConnect), off unless
/// OIDC_AUTHORITY is set. The provider's OIDC_ROLE_CLAIM (default <c>roles</c>) is mapped to a MUTT
/// role by <see cref="OidcRoleMapping"/>; the user then holds an ordinary MUTT session (the same
/// cookie, idle expiry and audit rows as a password sign-in) and an operators row without a
/// password, so an admin can see and deactivate them.
/// </summary>
public static class OidcSignIn
{
    public const string Scheme = OpenIdConnectDefaults.AuthenticationScheme;
    public const string ChallengePath = "/login/oidc";

    public static bool IsConfigured(IConfiguration configuration) => !string.IsNullOrWhiteSpace(configuration["OIDC_AUTHORITY"]);

    public static AuthenticationBuilder AddMuttOidc(this AuthenticationBuilder builder, IConfiguration configuration)
    {
        if (!IsConfigured(configuration))
        {
            return builder;
        }
        var mapping = OidcRoleMapping.FromConfiguration(configuration);
        var roleClaim = configuration["OIDC_ROLE_CLAIM"] is { Length: > 0 } claim ? claim : "roles";
        return builder.AddOpenIdConnect(Scheme, "Single sign-on", o =>
        {
            o.Authority = configuration["OIDC_AUTHORITY"];
            o.ClientId = configuration["OIDC_CLIENT_ID"];
            o.ClientSecret = configuration["OIDC_CLIENT_SECRET"];
            o.ResponseType = "code";
            o.UsePkce = true;
            o.SignInScheme = CookieAuthenticationDefaults.AuthenticationScheme;
            o.MapInboundClaims = false;
            o.GetClaimsFromUserInfoEndpoint = true;
            o.Scope.Add("profile");
            o.Scope.Add("email");
            o.Events.OnTokenValidated = async ctx =>
            {
                var provider = ctx.Principal!;
                var name = provider.FindFirstValue("preferred_username") ?? provider.FindFirstValue("email") ?? provider.FindFirstValue("sub");
                var role = mapping.RoleFor(provider.FindAll(roleClaim).Select(c => c.Value));
                var services = ctx.HttpContext.RequestServices;
                var signIn = services.GetRequiredService<SignInService>();
                if (name is null || role is null || !await signIn.UpsertOidcAccountAsync(name, role, ctx.HttpContext.RequestAborted))
                {
                    await signIn.AuditAsync("SIGN_IN_FAILED", name ?? SignInService.UnknownUser, null, ctx.HttpContext.Connection.RemoteIpAddress, SignInService.OidcMethod, null);
                    ctx.Fail($"No MUTT role for this account (claim '{roleClaim}'), or the account is deactivated.");
                    return;
                }
                ctx.Principal = MuttPolicies.Principal(name, role, SignInService.OidcMethod, CookieAuthenticationDefaults.AuthenticationScheme);
                await signIn.AuditAsync("SIGN_IN", name, name, ctx.HttpContext.Connection.RemoteIpAddress, SignInService.OidcMethod, null);
            };
        });
    }

    public static IEndpointRouteBuilder MapOidcSignIn(this IEndpointRouteBuilder app, IConfiguration configuration)
    {
        if (IsConfigured(configuration))
        {
            app.MapGet(ChallengePath, (string? returnUrl) =>
                Results.Challenge(new AuthenticationProperties { RedirectUri = LoginEndpoints.SafeReturnUrl(returnUrl) }, [Scheme]))
                .AllowAnonymous().ExcludeFromDescription();
        }
        return app;
    }
}
