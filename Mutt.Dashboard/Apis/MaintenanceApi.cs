using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using Mutt.Core.Noise;
using Mutt.Dashboard.Data;
using Mutt.Dashboard.Services;

namespace Mutt.Dashboard.Apis;

public sealed record MaintenanceWindowRequest
{
    [JsonPropertyName("hosts")] public List<string>? Hosts { get; init; }
    [JsonPropertyName("rule_id")] public int? RuleId { get; init; }
    [JsonPropertyName("team")] public string? Team { get; init; }
    [JsonPropertyName("starts_at")] public DateTimeOffset? StartsAt { get; init; }
    [JsonPropertyName("ends_at")] public DateTimeOffset? EndsAt { get; init; }
    [JsonPropertyName("reason")] public string? Reason { get; init; }

    /// <summary>A missing start is "now"; a missing end or reason becomes a value the validator names.</summary>
    public MaintenanceWindow ToWindow(DateTimeOffset now) => new()
    {
        Hosts = Hosts ?? [],
        RuleId = RuleId,
        Team = Team,
        StartsAt = StartsAt ?? now,
        EndsAt = EndsAt ?? DateTimeOffset.MinValue,
        Reason = Reason ?? "",
    };
}

/// <summary>
/// Maintenance windows (issue 15): <c>/api/v2/maintenance-windows</c>, v1 as an alias. Create, edit and
/// end (<c>POST {id}/end</c>); windows are never deleted, so the audit trail's window ids stay
/// resolvable. Each change is one config_audit_log row and a message on mutt:config:updates.
/// </summary>
public static class MaintenanceApi
{
    public static IEndpointRouteBuilder MapMaintenanceApi(this IEndpointRouteBuilder app)
    {
        app.MapVersioned("Maintenance windows", (g, v2) =>
        {
            g.MapGet("/maintenance-windows", ListWindows).Named(v2, "ListMaintenanceWindows")
                .WithSummary("List maintenance windows, newest first (?current=true: only those not ended)");
            g.MapGet("/maintenance-windows/{id:int}", GetWindow).Named(v2, "GetMaintenanceWindow").WithSummary("Get a maintenance window");
            g.MapPost("/maintenance-windows", CreateWindow).Named(v2, "CreateMaintenanceWindow").WithSummary("Create a maintenance window");
            g.MapPut("/maintenance-windows/{id:int}", UpdateWindow).Named(v2, "UpdateMaintenanceWindow").WithSummary("Edit a maintenance window");
            g.MapPost("/maintenance-windows/{id:int}/end", EndWindow).Named(v2, "EndMaintenanceWindow").WithSummary("End a maintenance window now");
        });
        return app;
    }

    public static async Task<Ok<List<MaintenanceWindow>>> ListWindows(MaintenanceWindowStore store, bool? current, CancellationToken ct) =>
        TypedResults.Ok(await store.ListAsync(current ?? false, ct));

    public static async Task<Results<Ok<MaintenanceWindow>, NotFound>> GetWindow(int id, MaintenanceWindowStore store, CancellationToken ct) =>
        await store.GetAsync(id, ct) is { } window ? TypedResults.Ok(window) : TypedResults.NotFound();

    public static async Task<IResult> CreateWindow(MaintenanceWindowRequest body, HttpContext context, ManagementService m, CancellationToken ct) =>
        ManagementApi.ToResult(await m.CreateMaintenanceWindowAsync(body.ToWindow(DateTimeOffset.UtcNow), ManagementApi.Change(context, body.Reason), ct),
            w => TypedResults.Created($"{ManagementApi.Prefix(context)}/maintenance-windows/{w.Id}", w));

    public static async Task<IResult> UpdateWindow(int id, MaintenanceWindowRequest body, HttpContext context, ManagementService m, CancellationToken ct) =>
        ManagementApi.ToResult(await m.UpdateMaintenanceWindowAsync(id, body.ToWindow(DateTimeOffset.UtcNow), ManagementApi.Change(context, body.Reason), ct), TypedResults.Ok);

    public static async Task<IResult> EndWindow(int id, HttpContext context, ManagementService m, CancellationToken ct) =>
        ManagementApi.ToResult(await m.EndMaintenanceWindowAsync(id, ManagementApi.Change(context), ct), TypedResults.Ok);
}
