using System.Security.Claims;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Mutt.Core.DeadLetters;
using Mutt.Core.Events;
using Mutt.Core.Rules;
using Mutt.Dashboard.Data;
using Mutt.Dashboard.DeadLetters;
using Mutt.Dashboard.Metrics;
using Mutt.Dashboard.Services;

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

public sealed record DevHostRequest([property: JsonPropertyName("hostname")] string? Hostname, [property: JsonPropertyName("reason")] string? Reason);

public sealed record TeamRequest([property: JsonPropertyName("hostname")] string? Hostname, [property: JsonPropertyName("team_assignment")] string? TeamAssignment, [property: JsonPropertyName("reason")] string? Reason);

public sealed record ConfigRequest([property: JsonPropertyName("value")] string? Value, [property: JsonPropertyName("reason")] string? Reason);

public sealed record RuleTestRequest(
    [property: JsonPropertyName("message")] string? Message, [property: JsonPropertyName("hostname")] string? Hostname,
    [property: JsonPropertyName("trap_oid")] string? TrapOid, [property: JsonPropertyName("syslog_severity")] int? SyslogSeverity,
    [property: JsonPropertyName("source")] string? Source = null, [property: JsonPropertyName("labels")] Dictionary<string, string>? Labels = null);

public static class ManagementApi
{
    public const string ChangeReasonHeader = "X-Change-Reason";

    public static IEndpointRouteBuilder MapManagementApi(this IEndpointRouteBuilder app)
    {
        app.MapVersioned("Rules", (g, v2) =>
        {
            g.MapGet("/rules", ListRules).Named(v2, "ListRules").WithSummary("List all alert rules");
            g.MapGet("/rules/{id:int}", GetRule).Named(v2, "GetRule").WithSummary("Get an alert rule");
            g.MapPost("/rules", CreateRule).Named(v2, "CreateRule").WithSummary("Create an alert rule");
            g.MapPut("/rules/{id:int}", UpdateRule).Named(v2, "UpdateRule").WithSummary("Update an alert rule");
            g.MapDelete("/rules/{id:int}", DeleteRule).Named(v2, "DeleteRule").WithSummary("Delete an alert rule");
            g.MapPost("/rules/test", TestRules).Named(v2, "TestRules").WithSummary("Match a sample event with the Alerter's matcher");
        });
        app.MapVersioned("Hosts", (g, v2) =>
        {
            g.MapGet("/dev-hosts", ListDevHosts).Named(v2, "ListDevHosts");
            g.MapPost("/dev-hosts", AddDevHost).Named(v2, "AddDevHost");
            g.MapDelete("/dev-hosts/{hostname}", DeleteDevHost).Named(v2, "DeleteDevHost");
            g.MapGet("/teams", ListTeams).Named(v2, "ListTeams");
            g.MapPost("/teams", AddTeam).Named(v2, "AddTeam");
            g.MapPut("/teams/{hostname}", UpdateTeam).Named(v2, "UpdateTeam");
            g.MapDelete("/teams/{hostname}", DeleteTeam).Named(v2, "DeleteTeam");
        });
        app.MapVersioned("Audit", (g, v2) =>
        {
            g.MapGet("/audit-logs", AuditLogs).Named(v2, "AuditLogs").WithSummary("Event audit log, paginated");
            g.MapGet("/config-audit", ConfigAudit).Named(v2, "ConfigAudit").WithSummary("Configuration change log, paginated");
        });
        app.MapVersioned("Metrics", (g, v2) =>
        {
            g.MapGet("/metrics", (IFlowMetrics flow, CancellationToken ct) => flow.SnapshotAsync(ct)).Named(v2, "FlowMetrics");
            g.MapGet("/slo", (SloService slo, CancellationToken ct) => slo.EvaluateAsync(ct)).Named(v2, "Slo");
        });
        app.MapVersioned("Config", (g, v2) =>
        {
            g.MapGet("/config", (ManagementService m) => m.GetConfigAsync()).Named(v2, "GetConfig");
            g.MapGet("/config/{key}", GetConfigKey).Named(v2, "GetConfigKey");
            g.MapPut("/config/{key}", SetConfigKey).Named(v2, "SetConfigKey");
        });
        app.MapVersioned("Dead letters", (g, v2) =>
        {
            g.MapGet("/dlq", (DeadLetterOperations d) => d.InfoAsync()).Named(v2, "DlqQueues");
            g.MapGet("/dlq/{queue}", ListDlq).Named(v2, "ListDlq");
            g.MapGet("/dlq/{queue}/{id}", GetDlq).Named(v2, "GetDlq");
            g.MapPost("/dlq/{queue}/{id}/replay", ReplayDlq).Named(v2, "ReplayDlq");
            g.MapPost("/dlq/{queue}/replay", ReplayAllDlq).Named(v2, "ReplayAllDlq");
            g.MapDelete("/dlq/{queue}/{id}", DeleteDlq).Named(v2, "DeleteDlq");
        });
        return app;
    }

    public static ChangeContext Change(HttpContext context, string? bodyReason = null)
    {
        var header = context.Request.Headers[ChangeReasonHeader].ToString();
        return new ChangeContext(
            context.User.FindFirstValue(ClaimTypes.Name) ?? "unknown",
            !string.IsNullOrWhiteSpace(bodyReason) ? bodyReason : string.IsNullOrWhiteSpace(header) ? context.Request.Query["reason"].ToString() is { Length: > 0 } q ? q : null : header,
            context.Items[Microsoft.Extensions.Hosting.Extensions.CorrelationIdHeader] as string);
    }

    private static async Task<Ok<List<AlertRule>>> ListRules(AlertRuleStore store, CancellationToken ct) => TypedResults.Ok(await store.ListAsync(ct));

    private static async Task<Results<Ok<AlertRule>, NotFound>> GetRule(int id, AlertRuleStore store, CancellationToken ct) =>
        await store.GetAsync(id, ct) is { } rule ? TypedResults.Ok(rule) : TypedResults.NotFound();

    private static async Task<IResult> CreateRule(RuleRequest body, HttpContext context, ManagementService m, CancellationToken ct) =>
        ToResult(await m.CreateRuleAsync(body.ToRule(), Change(context, body.Reason), ct), r => TypedResults.Created($"{Prefix(context)}/rules/{r.Id}", r));

    private static async Task<IResult> UpdateRule(int id, RuleRequest body, HttpContext context, ManagementService m, CancellationToken ct) =>
        ToResult(await m.UpdateRuleAsync(id, body.ToRule(), Change(context, body.Reason), ct), TypedResults.Ok);

    private static async Task<IResult> DeleteRule(int id, HttpContext context, ManagementService m, CancellationToken ct) =>
        ToResult(await m.DeleteRuleAsync(id, Change(context), ct), _ => TypedResults.NoContent());

    private static async Task<Ok<RuleTestResult>> TestRules(RuleTestRequest body, RuleTester tester, CancellationToken ct) =>
        TypedResults.Ok(await tester.TestAsync(body.Message, body.Hostname, body.TrapOid, body.SyslogSeverity, ct, body.Source, body.Labels is { } labels ? labels.GetValueOrDefault : null));

    private static async Task<Ok<List<DevHost>>> ListDevHosts(HostStore store, CancellationToken ct) => TypedResults.Ok(await store.ListDevHostsAsync(ct));

    private static async Task<IResult> AddDevHost(DevHostRequest body, HttpContext context, ManagementService m, CancellationToken ct) =>
        ToResult(await m.AddDevHostAsync(new DevHost(body.Hostname ?? "", body.Reason), Change(context, body.Reason), ct),
            h => TypedResults.Created($"{Prefix(context)}/dev-hosts/{Uri.EscapeDataString(h.Hostname)}", h));

    private static async Task<IResult> DeleteDevHost(string hostname, HttpContext context, ManagementService m, CancellationToken ct) =>
        ToResult(await m.DeleteDevHostAsync(hostname, Change(context), ct), _ => TypedResults.NoContent());

    private static async Task<Ok<List<DeviceTeam>>> ListTeams(HostStore store, CancellationToken ct) => TypedResults.Ok(await store.ListTeamsAsync(ct));

    private static async Task<IResult> AddTeam(TeamRequest body, HttpContext context, ManagementService m, CancellationToken ct) =>
        ToResult(await m.AddTeamAsync(new DeviceTeam(body.Hostname ?? "", body.TeamAssignment ?? ""), Change(context, body.Reason), ct),
            t => TypedResults.Created($"{Prefix(context)}/teams/{Uri.EscapeDataString(t.Hostname)}", t));

    private static async Task<IResult> UpdateTeam(string hostname, TeamRequest body, HttpContext context, ManagementService m, CancellationToken ct) =>
        ToResult(await m.UpdateTeamAsync(new DeviceTeam(hostname, body.TeamAssignment ?? ""), Change(context, body.Reason), ct), TypedResults.Ok);

    private static async Task<IResult> DeleteTeam(string hostname, HttpContext context, ManagementService m, CancellationToken ct) =>
        ToResult(await m.DeleteTeamAsync(hostname, Change(context), ct), _ => TypedResults.NoContent());

    private static async Task<Results<Ok<Page<EventAuditRow>>, ValidationProblem>> AuditLogs(
        EventAuditStore store, IOptions<DashboardOptions> options, DashboardMetrics metrics, CancellationToken ct,
        int? page, int? page_size, string? hostname, int? rule_id, string? decision, bool? forwarded,
        DateTimeOffset? start_time, DateTimeOffset? end_time, string? correlation_id)
    {
        if (Paging(page, page_size, options.Value.AUDIT_LOG_PAGE_SIZE) is not ({ } p, { } size))
        {
            return PagingProblem();
        }
        var filter = new EventAuditFilter(Blank(hostname), rule_id, Blank(decision), forwarded, start_time, end_time, Blank(correlation_id));
        return TypedResults.Ok(await metrics.TimeDbAsync("audit_logs", () => store.QueryAsync(filter, p, size, ct)));
    }

    private static async Task<Results<Ok<Page<ConfigAuditRow>>, ValidationProblem>> ConfigAudit(
        ConfigAuditStore store, IOptions<DashboardOptions> options, DashboardMetrics metrics, CancellationToken ct,
        int? page, int? page_size, string? table_name, string? operation, string? changed_by, string? record_id,
        string? correlation_id, DateTimeOffset? start_time, DateTimeOffset? end_time)
    {
        if (Paging(page, page_size, options.Value.AUDIT_LOG_PAGE_SIZE) is not ({ } p, { } size))
        {
            return PagingProblem();
        }
        var filter = new ConfigAuditFilter(Blank(table_name), Blank(operation)?.ToUpperInvariant(), Blank(changed_by), Blank(record_id), Blank(correlation_id), start_time, end_time);
        return TypedResults.Ok(await metrics.TimeDbAsync("config_audit", () => store.QueryAsync(filter, p, size, ct)));
    }

    private static async Task<Results<Ok<ConfigEntry>, NotFound>> GetConfigKey(string key, ManagementService m) =>
        (await m.GetConfigAsync()).FirstOrDefault(e => e.Key == key) is { } entry ? TypedResults.Ok(entry) : TypedResults.NotFound();

    private static async Task<IResult> SetConfigKey(string key, ConfigRequest body, HttpContext context, ManagementService m, CancellationToken ct) =>
        ToResult(await m.SetConfigAsync(key, body.Value, Change(context, body.Reason), ct), TypedResults.Ok);

    private static async Task<IResult> ListDlq(string queue, DeadLetterOperations d, int? offset, int? count)
    {
        if (!DeadLetterQueues.TryResolve(queue, out var key))
        {
            return TypedResults.NotFound();
        }
        var (total, items) = await d.PageAsync(key, Math.Max(0, offset ?? 0), Math.Clamp(count ?? 50, 1, 500));
        return TypedResults.Ok(new { queue, total, items });
    }

    /// <summary>The entry as stored, plus <c>replay_history</c>: every replay of its payload so far (kept across DLQ round trips).</summary>
    private static async Task<IResult> GetDlq(string queue, string id, DeadLetterOperations d)
    {
        if (!DeadLetterQueues.TryResolve(queue, out var key) || await d.FindAsync(key, id) is not { } entry)
        {
            return TypedResults.NotFound();
        }
        var json = JsonSerializer.SerializeToNode(entry.Letter, MuttJsonContext.Default.DeadLetter)!.AsObject();
        json["replay_history"] = JsonSerializer.SerializeToNode(await d.HistoryAsync(entry.Letter.Payload));
        return TypedResults.Ok(json);
    }

    private static async Task<IResult> ReplayDlq(string queue, string id, HttpContext context, DeadLetterOperations d, ILogger<DeadLetterOperations> logger)
    {
        if (!DeadLetterQueues.TryResolve(queue, out var key))
        {
            return TypedResults.NotFound();
        }
        var outcome = await d.ReplayAsync(key, id, Change(context).ChangedBy);
        logger.LogInformation("Manual replay of dead letter {Id} from {Queue}: {Outcome}", id, key, outcome);
        return outcome switch
        {
            ReplayOutcome.Replayed => TypedResults.Ok(new { replayed = 1 }),
            ReplayOutcome.CircuitOpen => CircuitOpen(0),
            _ => TypedResults.NotFound(),
        };
    }

    private static async Task<IResult> ReplayAllDlq(string queue, HttpContext context, DeadLetterOperations d, ILogger<DeadLetterOperations> logger)
    {
        if (!DeadLetterQueues.TryResolve(queue, out var key))
        {
            return TypedResults.NotFound();
        }
        var replayed = await d.ReplayAllAsync(key, Change(context).ChangedBy);
        logger.LogInformation("Manual replay of all of {Queue}: {Replayed} entries replayed", key, replayed);
        return await d.CountAsync(key) > 0 && await d.IsMoogCircuitOpenAsync() ? CircuitOpen(replayed) : TypedResults.Ok(new { replayed });
    }

    private static async Task<IResult> DeleteDlq(string queue, string id, DeadLetterOperations d, ILogger<DeadLetterOperations> logger)
    {
        if (!DeadLetterQueues.TryResolve(queue, out var key) || !await d.DeleteAsync(key, id))
        {
            return TypedResults.NotFound();
        }
        logger.LogWarning("Deleted dead letter {Id} from {Queue} by operator request", id, key);
        return TypedResults.NoContent();
    }

    private static ProblemHttpResult CircuitOpen(int replayed) =>
        TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: DeadLetterQueues.CircuitOpenTitle, detail: DeadLetterQueues.CircuitOpenDetail,
            extensions: new Dictionary<string, object?> { ["replayed"] = replayed });

    internal static IResult ToResult<T>(ChangeResult<T> result, Func<T, IResult> ok) => result.Status switch
    {
        ChangeStatus.Ok => ok(result.Value!),
        ChangeStatus.NotFound => TypedResults.NotFound(),
        ChangeStatus.Conflict => TypedResults.Problem(statusCode: 409, title: "Already exists"),
        _ => TypedResults.ValidationProblem(result.Errors!),
    };

    private static (int?, int?) Paging(int? page, int? pageSize, int defaultSize) =>
        page is < 1 || pageSize is < 1 or > 1000 ? (null, null) : (page ?? 1, pageSize ?? defaultSize);

    private static ValidationProblem PagingProblem() =>
        TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["page"] = ["page must be ≥ 1 and page_size between 1 and 1000."] });

    private static string? Blank(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();

    internal static string Prefix(HttpContext context) => context.Request.Path.StartsWithSegments("/api/v1") ? "/api/v1" : "/api/v2";
}
