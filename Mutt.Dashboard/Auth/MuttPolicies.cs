using System.Security.Claims;
using Mutt.Core.Auth;

namespace Mutt.Dashboard.Auth;

/// <summary>
/// The three authorization policies, one per operator role, each satisfied by that role and the
/// stronger ones. Every page carries one ([Authorize(Policy = ...)]), every API group has viewer as
/// its floor and every route that changes something asks for operator or admin.
/// </summary>
public static class MuttPolicies
{
    public const string Viewer = MuttRoles.Viewer;
    public const string Operator = MuttRoles.Operator;
    public const string Admin = MuttRoles.Admin;

    /// <summary>Claim saying how the principal signed in: password, oidc, api-key or legacy-key.</summary>
    public const string MethodClaim = "mutt:auth_method";

    public static IServiceCollection AddMuttAuthorization(this IServiceCollection services) =>
        services.AddAuthorizationBuilder()
            .AddPolicy(Viewer, p => p.RequireAuthenticatedUser().RequireRole(MuttRoles.AtLeast(MuttRoles.Viewer)))
            .AddPolicy(Operator, p => p.RequireAuthenticatedUser().RequireRole(MuttRoles.AtLeast(MuttRoles.Operator)))
            .AddPolicy(Admin, p => p.RequireAuthenticatedUser().RequireRole(MuttRoles.AtLeast(MuttRoles.Admin)))
            .Services;

    /// <summary>A route that changes configuration or moves events.</summary>
    public static RouteHandlerBuilder RequireOperator(this RouteHandlerBuilder builder) => builder.RequireAuthorization(Operator);

    /// <summary>A route about accounts or keys.</summary>
    public static RouteHandlerBuilder RequireAdmin(this RouteHandlerBuilder builder) => builder.RequireAuthorization(Admin);

    public static ClaimsPrincipal Principal(string name, string role, string method, string scheme) =>
        new(new ClaimsIdentity([new Claim(ClaimTypes.Name, name), new Claim(ClaimTypes.Role, role), new Claim(MethodClaim, method)], scheme));

    public static string? Role(this ClaimsPrincipal user) => user.FindFirstValue(ClaimTypes.Role);

    public static bool Satisfies(this ClaimsPrincipal user, string minimum) => MuttRoles.Satisfies(user.Role(), minimum);
}
