using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using Mutt.Dashboard.Data;
using Mutt.Dashboard.Services;
using static Mutt.Dashboard.Apis.ApiResults;

using Mutt.Dashboard.Auth;

namespace Mutt.Dashboard.Apis;

public sealed record DevHostRequest([property: JsonPropertyName("hostname")] string? Hostname, [property: JsonPropertyName("reason")] string? Reason);

/// <summary>Development hosts (spec 004 /api/v2/dev-hosts): their alerts take a rule's dev_handling.</summary>
public static class HostsApi
{
    public static IEndpointRouteBuilder MapHostsApi(this IEndpointRouteBuilder app)
    {
        app.MapVersioned("Hosts", (g, v2) =>
        {
            g.MapGet("/dev-hosts", ListDevHosts).Named(v2, "ListDevHosts").WithSummary("List development hosts");
            g.MapPost("/dev-hosts", AddDevHost).Named(v2, "AddDevHost").WithSummary("Mark a host as a development host").RequireOperator();
            g.MapDelete("/dev-hosts/{hostname}", DeleteDevHost).Named(v2, "DeleteDevHost").WithSummary("Make a development host a production host again").RequireOperator();
        });
        return app;
    }

    public static async Task<Ok<List<DevHost>>> ListDevHosts(HostStore store, CancellationToken ct) => TypedResults.Ok(await store.ListDevHostsAsync(ct));

    public static async Task<Results<Created<DevHost>, NotFound, ProblemHttpResult, ValidationProblem>> AddDevHost(
        DevHostRequest body, HttpContext context, ManagementService m, CancellationToken ct) =>
        ToResult(await m.AddDevHostAsync(new DevHost(body.Hostname ?? "", body.Reason), Change(context, body.Reason), ct),
            h => TypedResults.Created($"{Prefix(context)}/dev-hosts/{Uri.EscapeDataString(h.Hostname)}", h));

    public static async Task<Results<NoContent, NotFound, ProblemHttpResult, ValidationProblem>> DeleteDevHost(
        string hostname, HttpContext context, ManagementService m, CancellationToken ct) =>
        ToResult(await m.DeleteDevHostAsync(hostname, Change(context), ct), _ => TypedResults.NoContent());
}
