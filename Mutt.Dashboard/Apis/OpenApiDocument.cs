namespace Mutt.Dashboard.Apis;

/// <summary>The management API's OpenAPI document, served at /openapi/v2.json (v2 routes only: v1 is an alias of them).</summary>
public static class OpenApiDocument
{
    public const string Name = "v2";
    public const string Path = "/openapi/{documentName}.json";

    public static IServiceCollection AddDashboardOpenApi(this IServiceCollection services) =>
        services.AddOpenApi(Name, o =>
        {
            o.ShouldInclude = d => d.RelativePath?.StartsWith("api/v2/", StringComparison.Ordinal) == true;
            o.AddDocumentTransformer((document, _, _) =>
            {
                document.Info.Title = "MUTT management API";
                document.Info.Version = ApiVersioning.CurrentApiVersion;
                return Task.CompletedTask;
            });
        });

    public static IEndpointRouteBuilder MapDashboardOpenApi(this IEndpointRouteBuilder app)
    {
        app.MapOpenApi(Path).AllowAnonymous();
        return app;
    }
}
