namespace Mutt.Dashboard.Apis;

/// <summary>Spec 003 api_versioning: every API response says which version answered and which are supported.</summary>
public static class ApiVersioning
{
    public const string CurrentApiVersion = "2.5";
    public static readonly string[] SupportedVersions = ["2.5", "2.0", "1.0"];
    public const string VersionHeader = "X-API-Version";
    public const string SupportedHeader = "X-API-Supported-Versions";

    public static Task AddHeadersAsync(HttpContext context, RequestDelegate next)
    {
        if (context.Request.Path.StartsWithSegments("/api"))
        {
            context.Response.OnStarting(() =>
            {
                context.Response.Headers[VersionHeader] = CurrentApiVersion;
                context.Response.Headers[SupportedHeader] = string.Join(", ", SupportedVersions);
                return Task.CompletedTask;
            });
        }
        return next(context);
    }

    /// <summary>
    /// Maps one set of handlers twice: /api/v2 (canonical, named) and /api/v1 (alias). The
    /// handlers are the same delegates, so v1 and v2 cannot drift apart.
    /// </summary>
    public static void MapVersioned(this IEndpointRouteBuilder app, string tag, Action<RouteGroupBuilder, bool> map)
    {
        // Viewer is every route's floor; routes that change something add RequireOperator() or the admin policy.
        map(app.MapGroup("/api/v2").RequireAuthorization(Auth.MuttPolicies.Viewer).WithTags(tag), true);
        map(app.MapGroup("/api/v1").RequireAuthorization(Auth.MuttPolicies.Viewer).WithTags(tag + " (v1)"), false);
    }

    /// <summary>Names only the canonical route (endpoint names must be unique).</summary>
    public static RouteHandlerBuilder Named(this RouteHandlerBuilder builder, bool canonical, string name) =>
        canonical ? builder.WithName(name) : builder;
}
