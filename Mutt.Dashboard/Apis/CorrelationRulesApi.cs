using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using Mutt.Core.Noise;
using Mutt.Core.Rules;
using Mutt.Dashboard.Data;
using Mutt.Dashboard.Services;

namespace Mutt.Dashboard.Apis;

public sealed record CorrelationRuleRequest
{
    [JsonPropertyName("name")] public string? Name { get; init; }
    [JsonPropertyName("rule_type")] public string? RuleType { get; init; }
    [JsonPropertyName("open_pattern")] public string? OpenPattern { get; init; }
    [JsonPropertyName("close_pattern")] public string? ClosePattern { get; init; }
    [JsonPropertyName("open_trap_oid")] public string? OpenTrapOid { get; init; }
    [JsonPropertyName("close_trap_oid")] public string? CloseTrapOid { get; init; }
    [JsonPropertyName("interface_pattern")] public string? InterfacePattern { get; init; }
    [JsonPropertyName("window_seconds")] public int? WindowSeconds { get; init; }
    [JsonPropertyName("threshold")] public int? Threshold { get; init; }
    [JsonPropertyName("handling")] public string? Handling { get; init; }
    [JsonPropertyName("team_assignment")] public string? TeamAssignment { get; init; }
    [JsonPropertyName("is_active")] public bool? IsActive { get; init; }
    [JsonPropertyName("reason")] public string? Reason { get; init; }

    public CorrelationRule ToRule() => new()
    {
        Name = Name?.Trim() ?? "",
        RuleType = RuleType ?? CorrelationRule.FlappingType,
        OpenPattern = Blank(OpenPattern),
        ClosePattern = Blank(ClosePattern),
        OpenTrapOid = Blank(OpenTrapOid)?.Trim(),
        CloseTrapOid = Blank(CloseTrapOid)?.Trim(),
        InterfacePattern = Blank(InterfacePattern),
        WindowSeconds = WindowSeconds ?? 0,
        Threshold = Threshold ?? 0,
        Handling = Handling ?? Core.Rules.Handling.PageAndTicket,
        TeamAssignment = TeamAssignment?.Trim() ?? "",
        IsActive = IsActive ?? true,
    };

    private static string? Blank(string? s) => string.IsNullOrWhiteSpace(s) ? null : s;
}

/// <summary>
/// Correlation rules (issue 15; type <c>flapping</c>): <c>/api/v2/correlation-rules</c>, v1 as an alias.
/// Every change is one config_audit_log row and a message on mutt:config:updates.
/// </summary>
public static class CorrelationRulesApi
{
    public static IEndpointRouteBuilder MapCorrelationRulesApi(this IEndpointRouteBuilder app)
    {
        app.MapVersioned("Correlation rules", (g, v2) =>
        {
            g.MapGet("/correlation-rules", ListRules).Named(v2, "ListCorrelationRules").WithSummary("List correlation (flapping) rules");
            g.MapGet("/correlation-rules/{id:int}", GetRule).Named(v2, "GetCorrelationRule").WithSummary("Get a correlation rule");
            g.MapPost("/correlation-rules", CreateRule).Named(v2, "CreateCorrelationRule").WithSummary("Create a correlation rule");
            g.MapPut("/correlation-rules/{id:int}", UpdateRule).Named(v2, "UpdateCorrelationRule").WithSummary("Update a correlation rule");
            g.MapDelete("/correlation-rules/{id:int}", DeleteRule).Named(v2, "DeleteCorrelationRule").WithSummary("Delete a correlation rule");
        });
        return app;
    }

    public static async Task<Ok<List<CorrelationRule>>> ListRules(CorrelationRuleStore store, CancellationToken ct) => TypedResults.Ok(await store.ListAsync(ct));

    public static async Task<Results<Ok<CorrelationRule>, NotFound>> GetRule(int id, CorrelationRuleStore store, CancellationToken ct) =>
        await store.GetAsync(id, ct) is { } rule ? TypedResults.Ok(rule) : TypedResults.NotFound();

    public static async Task<IResult> CreateRule(CorrelationRuleRequest body, HttpContext context, ManagementService m, CancellationToken ct) =>
        ManagementApi.ToResult(await m.CreateCorrelationRuleAsync(body.ToRule(), ManagementApi.Change(context, body.Reason), ct),
            r => TypedResults.Created($"{ManagementApi.Prefix(context)}/correlation-rules/{r.Id}", r));

    public static async Task<IResult> UpdateRule(int id, CorrelationRuleRequest body, HttpContext context, ManagementService m, CancellationToken ct) =>
        ManagementApi.ToResult(await m.UpdateCorrelationRuleAsync(id, body.ToRule(), ManagementApi.Change(context, body.Reason), ct), TypedResults.Ok);

    public static async Task<IResult> DeleteRule(int id, HttpContext context, ManagementService m, CancellationToken ct) =>
        ManagementApi.ToResult(await m.DeleteCorrelationRuleAsync(id, ManagementApi.Change(context), ct), _ => TypedResults.NoContent());
}
