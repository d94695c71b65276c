using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using Mutt.Core.Rules;
using Mutt.Dashboard.Data;
using Mutt.Dashboard.Services;
using static Mutt.Dashboard.Apis.ApiResults;

using Mutt.Dashboard.Auth;

namespace Mutt.Dashboard.Apis;

public sealed record RuleRequest
{
    [JsonPropertyName("match_string")] public string? MatchString { get; init; }
    [JsonPropertyName("trap_oid")] public string? TrapOid { get; init; }
    [JsonPropertyName("syslog_severity")] public int? SyslogSeverity { get; init; }
    [JsonPropertyName("match_type")] public string? MatchType { get; init; }
    [JsonPropertyName("priority")] public int? Priority { get; init; }
    [JsonPropertyName("prod_handling")] public string? ProdHandling { get; init; }
    [JsonPropertyName("dev_handling")] public string? DevHandling { get; init; }
    [JsonPropertyName("team_assignment")] public string? TeamAssignment { get; init; }
    [JsonPropertyName("is_active")] public bool? IsActive { get; init; }
    [JsonPropertyName("dedup_window_seconds")] public int? DedupWindowSeconds { get; init; }
    [JsonPropertyName("match_source")] public string? MatchSource { get; init; }
    [JsonPropertyName("match_labels")] public Dictionary<string, string>? MatchLabels { get; init; }
    [JsonPropertyName("reason")] public string? Reason { get; init; }

    /// <summary>Missing required values become "" / 0 so the validator names them.</summary>
    public AlertRule ToRule() => new()
    {
        MatchString = string.IsNullOrEmpty(MatchString) ? null : MatchString,
        TrapOid = string.IsNullOrWhiteSpace(TrapOid) ? null : TrapOid.Trim(),
        SyslogSeverity = SyslogSeverity,
        MatchType = MatchType ?? "",
        Priority = Priority ?? 0,
        ProdHandling = ProdHandling ?? "",
        DevHandling = DevHandling ?? "",
        TeamAssignment = TeamAssignment?.Trim() ?? "",
        IsActive = IsActive ?? true,
        DedupWindowSeconds = DedupWindowSeconds,
        MatchSource = string.IsNullOrWhiteSpace(MatchSource) ? null : MatchSource.Trim(),
        MatchLabels = MatchLabels is { Count: > 0 } ? MatchLabels : null,
    };
}

public sealed record RuleTestRequest(
    [property: JsonPropertyName("message")] string? Message, [property: JsonPropertyName("hostname")] string? Hostname,
    [property: JsonPropertyName("trap_oid")] string? TrapOid, [property: JsonPropertyName("syslog_severity")] int? SyslogSeverity,
    [property: JsonPropertyName("source")] string? Source = null, [property: JsonPropertyName("labels")] Dictionary<string, string>? Labels = null);

/// <summary>Alert rules (spec 004 /api/v2/rules) and the rule tester.</summary>
public static class RulesApi
{
    public static IEndpointRouteBuilder MapRulesApi(this IEndpointRouteBuilder app)
    {
        app.MapVersioned("Rules", (g, v2) =>
        {
            g.MapGet("/rules", ListRules).Named(v2, "ListRules").WithSummary("List all alert rules");
            g.MapGet("/rules/{id:int}", GetRule).Named(v2, "GetRule").WithSummary("Get an alert rule");
            g.MapPost("/rules", CreateRule).Named(v2, "CreateRule").WithSummary("Create an alert rule").RequireOperator();
            g.MapPut("/rules/{id:int}", UpdateRule).Named(v2, "UpdateRule").WithSummary("Update an alert rule").RequireOperator();
            g.MapDelete("/rules/{id:int}", DeleteRule).Named(v2, "DeleteRule").WithSummary("Delete an alert rule").RequireOperator();
            g.MapPost("/rules/test", TestRules).Named(v2, "TestRules").WithSummary("Match a sample event with the Alerter's matcher");
        });
        return app;
    }

    public static async Task<Ok<List<AlertRule>>> ListRules(AlertRuleStore store, CancellationToken ct) => TypedResults.Ok(await store.ListAsync(ct));

    public static async Task<Results<Ok<AlertRule>, NotFound>> GetRule(int id, AlertRuleStore store, CancellationToken ct) =>
        await store.GetAsync(id, ct) is { } rule ? TypedResults.Ok(rule) : TypedResults.NotFound();

    public static async Task<Results<Created<AlertRule>, NotFound, ProblemHttpResult, ValidationProblem>> CreateRule(
        RuleRequest body, HttpContext context, ManagementService m, CancellationToken ct) =>
        ToResult(await m.CreateRuleAsync(body.ToRule(), Change(context, body.Reason), ct), r => TypedResults.Created($"{Prefix(context)}/rules/{r.Id}", r));

    public static async Task<Results<Ok<AlertRule>, NotFound, ProblemHttpResult, ValidationProblem>> UpdateRule(
        int id, RuleRequest body, HttpContext context, ManagementService m, CancellationToken ct) =>
        ToResult(await m.UpdateRuleAsync(id, body.ToRule(), Change(context, body.Reason), ct), TypedResults.Ok);

    public static async Task<Results<NoContent, NotFound, ProblemHttpResult, ValidationProblem>> DeleteRule(
        int id, HttpContext context, ManagementService m, CancellationToken ct) =>
        ToResult(await m.DeleteRuleAsync(id, Change(context), ct), _ => TypedResults.NoContent());

    public static async Task<Ok<RuleTestResult>> TestRules(RuleTestRequest body, RuleTester tester, CancellationToken ct) =>
        TypedResults.Ok(await tester.TestAsync(body.Message, body.Hostname, body.TrapOid, body.SyslogSeverity, ct, body.Source, body.Labels is { } labels ? labels.GetValueOrDefault : null));
}
