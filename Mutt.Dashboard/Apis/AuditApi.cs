using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Mutt.Dashboard.Data;
using Mutt.Dashboard.Metrics;
using static Mutt.Dashboard.Apis.ApiResults;

namespace Mutt.Dashboard.Apis;

/// <summary>The event audit trail and the configuration change log, paginated and filtered (spec 004).</summary>
public static class AuditApi
{
    public static IEndpointRouteBuilder MapAuditApi(this IEndpointRouteBuilder app)
    {
        app.MapVersioned("Audit", (g, v2) =>
        {
            g.MapGet("/audit-logs", AuditLogs).Named(v2, "AuditLogs").WithSummary("Event audit log, paginated");
            g.MapGet("/config-audit", ConfigAudit).Named(v2, "ConfigAudit").WithSummary("Configuration change log, paginated");
        });
        return app;
    }

    public static async Task<Results<Ok<Page<EventAuditRow>>, ValidationProblem>> AuditLogs(
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

    public static async Task<Results<Ok<Page<ConfigAuditRow>>, ValidationProblem>> ConfigAudit(
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

    private static (int?, int?) Paging(int? page, int? pageSize, int defaultSize) =>
        page is < 1 || pageSize is < 1 or > 1000 ? (null, null) : (page ?? 1, pageSize ?? defaultSize);

    private static ValidationProblem PagingProblem() =>
        TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["page"] = ["page must be ≥ 1 and page_size between 1 and 1000."] });
}
