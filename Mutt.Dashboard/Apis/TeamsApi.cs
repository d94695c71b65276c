using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using Mutt.Dashboard.Data;
using Mutt.Dashboard.Services;
using static Mutt.Dashboard.Apis.ApiResults;

using Mutt.Dashboard.Auth;

namespace Mutt.Dashboard.Apis;

public sealed record TeamRequest([property: JsonPropertyName("hostname")] string? Hostname, [property: JsonPropertyName("team_assignment")] string? TeamAssignment, [property: JsonPropertyName("reason")] string? Reason);

/// <summary>Device → team assignments (spec 004 /api/v2/teams): they override a rule's team_assignment.</summary>
public static class TeamsApi
{
    public static IEndpointRouteBuilder MapTeamsApi(this IEndpointRouteBuilder app)
    {
        app.MapVersioned("Teams", (g, v2) =>
        {
            g.MapGet("/teams", ListTeams).Named(v2, "ListTeams").WithSummary("List device team assignments");
            g.MapPost("/teams", AddTeam).Named(v2, "AddTeam").WithSummary("Assign a device to a team").RequireOperator();
            g.MapPut("/teams/{hostname}", UpdateTeam).Named(v2, "UpdateTeam").WithSummary("Change a device's team").RequireOperator();
            g.MapDelete("/teams/{hostname}", DeleteTeam).Named(v2, "DeleteTeam").WithSummary("Remove a device's team assignment").RequireOperator();
        });
        return app;
    }

    public static async Task<Ok<List<DeviceTeam>>> ListTeams(HostStore store, CancellationToken ct) => TypedResults.Ok(await store.ListTeamsAsync(ct));

    public static async Task<Results<Created<DeviceTeam>, NotFound, ProblemHttpResult, ValidationProblem>> AddTeam(
        TeamRequest body, HttpContext context, ManagementService m, CancellationToken ct) =>
        ToResult(await m.AddTeamAsync(new DeviceTeam(body.Hostname ?? "", body.TeamAssignment ?? ""), Change(context, body.Reason), ct),
            t => TypedResults.Created($"{Prefix(context)}/teams/{Uri.EscapeDataString(t.Hostname)}", t));

    public static async Task<Results<Ok<DeviceTeam>, NotFound, ProblemHttpResult, ValidationProblem>> UpdateTeam(
        string hostname, TeamRequest body, HttpContext context, ManagementService m, CancellationToken ct) =>
        ToResult(await m.UpdateTeamAsync(new DeviceTeam(hostname, body.TeamAssignment ?? ""), Change(context, body.Reason), ct), TypedResults.Ok);

    public static async Task<Results<NoContent, NotFound, ProblemHttpResult, ValidationProblem>> DeleteTeam(
        string hostname, HttpContext context, ManagementService m, CancellationToken ct) =>
        ToResult(await m.DeleteTeamAsync(hostname, Change(context), ct), _ => TypedResults.NoContent());
}
