using Mutt.Core.Noise;
using Mutt.Dashboard.Data;
using Mutt.Dashboard.Rules;

namespace Mutt.Dashboard.Services;

/// <summary>Maintenance windows and correlation rules: written with their config_audit_log row in one transaction, then published.</summary>
public sealed partial class ManagementService
{
    public const string MaintenanceChannelMessage = "maintenance_windows";
    public const string CorrelationRulesChannelMessage = "correlation_rules";

    public Task<ChangeResult<MaintenanceWindow>> CreateMaintenanceWindowAsync(MaintenanceWindow window, ChangeContext change, CancellationToken ct = default) =>
        WriteAsync("maintenance_create", MaintenanceChannelMessage, change, async conn =>
        {
            window = Normalise(window) with { CreatedBy = change.ChangedBy };
            if (await ValidateAsync(conn, window, creating: true, ct) is { } invalid)
            {
                return invalid;
            }
            var created = await MaintenanceWindowStore.InsertAsync(conn, window, ct);
            await ConfigAuditStore.WriteAsync(conn, change, "CREATE", "maintenance_windows", Id(created.Id), null, created, ct);
            return new(ChangeStatus.Ok, created);
        }, ct);

    public Task<ChangeResult<MaintenanceWindow>> UpdateMaintenanceWindowAsync(int id, MaintenanceWindow window, ChangeContext change, CancellationToken ct = default) =>
        WriteAsync("maintenance_update", MaintenanceChannelMessage, change, async conn =>
        {
            var old = await MaintenanceWindowStore.GetAsync(conn, id, ct);
            if (old is null)
            {
                return new ChangeResult<MaintenanceWindow>(ChangeStatus.NotFound);
            }
            window = Normalise(window);
            if (await ValidateAsync(conn, window, creating: false, ct) is { } invalid)
            {
                return invalid;
            }
            var updated = await MaintenanceWindowStore.UpdateAsync(conn, id, window, ct);
            await ConfigAuditStore.WriteAsync(conn, change, "UPDATE", "maintenance_windows", Id(id), old, updated, ct);
            return new(ChangeStatus.Ok, updated);
        }, ct);

    /// <summary>Ends a window now; a window that already ended is left as it is (404 is for unknown ids only).</summary>
    public Task<ChangeResult<MaintenanceWindow>> EndMaintenanceWindowAsync(int id, ChangeContext change, CancellationToken ct = default) =>
        WriteAsync("maintenance_end", MaintenanceChannelMessage, change, async conn =>
        {
            var old = await MaintenanceWindowStore.GetAsync(conn, id, ct);
            if (old is null)
            {
                return new ChangeResult<MaintenanceWindow>(ChangeStatus.NotFound);
            }
            if (old.EndsAt <= DateTimeOffset.UtcNow)
            {
                return ChangeResult<MaintenanceWindow>.Invalid("ends_at", $"window {id} already ended at {old.EndsAt:u}.");
            }
            var ended = await MaintenanceWindowStore.EndAsync(conn, id, change.ChangedBy, ct);
            await ConfigAuditStore.WriteAsync(conn, change, "UPDATE", "maintenance_windows", Id(id), old, ended, ct);
            return new(ChangeStatus.Ok, ended);
        }, ct);

    public Task<ChangeResult<CorrelationRule>> CreateCorrelationRuleAsync(CorrelationRule rule, ChangeContext change, CancellationToken ct = default) =>
        WriteAsync("correlation_rule_create", CorrelationRulesChannelMessage, change, async conn =>
        {
            var errors = NoiseRuleValidator.Validate(rule);
            if (errors.Count > 0)
            {
                return new ChangeResult<CorrelationRule>(ChangeStatus.Invalid, Errors: errors);
            }
            var created = await CorrelationRuleStore.InsertAsync(conn, rule, ct);
            await ConfigAuditStore.WriteAsync(conn, change, "CREATE", "correlation_rules", Id(created.Id), null, created, ct);
            return new(ChangeStatus.Ok, created);
        }, ct);

    public Task<ChangeResult<CorrelationRule>> UpdateCorrelationRuleAsync(int id, CorrelationRule rule, ChangeContext change, CancellationToken ct = default) =>
        WriteAsync("correlation_rule_update", CorrelationRulesChannelMessage, change, async conn =>
        {
            var errors = NoiseRuleValidator.Validate(rule);
            if (errors.Count > 0)
            {
                return new ChangeResult<CorrelationRule>(ChangeStatus.Invalid, Errors: errors);
            }
            var old = await CorrelationRuleStore.GetAsync(conn, id, ct);
            if (old is null)
            {
                return new(ChangeStatus.NotFound);
            }
            var updated = await CorrelationRuleStore.UpdateAsync(conn, id, rule, ct);
            await ConfigAuditStore.WriteAsync(conn, change, "UPDATE", "correlation_rules", Id(id), old, updated, ct);
            return new(ChangeStatus.Ok, updated);
        }, ct);

    public Task<ChangeResult<CorrelationRule>> DeleteCorrelationRuleAsync(int id, ChangeContext change, CancellationToken ct = default) =>
        WriteAsync("correlation_rule_delete", CorrelationRulesChannelMessage, change, async conn =>
        {
            var old = await CorrelationRuleStore.GetAsync(conn, id, ct);
            if (old is null || !await CorrelationRuleStore.DeleteAsync(conn, id, ct))
            {
                return new ChangeResult<CorrelationRule>(ChangeStatus.NotFound);
            }
            await ConfigAuditStore.WriteAsync(conn, change, "DELETE", "correlation_rules", Id(id), old, null, ct);
            return new(ChangeStatus.Ok, old);
        }, ct);

    private static MaintenanceWindow Normalise(MaintenanceWindow window) => window with
    {
        Hosts = window.Hosts.Select(h => h.Trim()).Where(h => h.Length > 0).Distinct(StringComparer.OrdinalIgnoreCase).ToList(),
        Team = string.IsNullOrWhiteSpace(window.Team) ? null : window.Team.Trim(),
        Reason = window.Reason.Trim(),
        StartsAt = window.StartsAt.ToUniversalTime(),
        EndsAt = window.EndsAt.ToUniversalTime(),
    };

    private static async Task<ChangeResult<MaintenanceWindow>?> ValidateAsync(Npgsql.NpgsqlConnection conn, MaintenanceWindow window, bool creating, CancellationToken ct)
    {
        var errors = NoiseRuleValidator.Validate(window, DateTimeOffset.UtcNow, creating);
        if (window.RuleId is > 0 and var ruleId && await AlertRuleStore.GetAsync(conn, ruleId, ct) is null)
        {
            errors["rule_id"] = [$"rule_id {ruleId} names no alert rule."];
        }
        return errors.Count > 0 ? new ChangeResult<MaintenanceWindow>(ChangeStatus.Invalid, Errors: errors) : null;
    }
}
