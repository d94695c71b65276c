using Npgsql;

namespace Mutt.Core.Noise;

/// <summary>
/// How <c>maintenance_windows</c> and <c>correlation_rules</c> rows are selected and read, for the
/// Alerter's cache (<see cref="Rules.RuleStore"/>) and the Dashboard's stores alike.
/// </summary>
public static class NoiseRuleRows
{
    public const string MaintenanceColumns = "id, hosts, rule_id, team, starts_at, ends_at, reason, created_by, ended_by";

    public const string CorrelationColumns =
        "id, name, rule_type, open_pattern, close_pattern, open_trap_oid, close_trap_oid, interface_pattern, window_seconds, threshold, handling, team_assignment, is_active";

    public static MaintenanceWindow ReadMaintenanceWindow(NpgsqlDataReader reader) => new()
    {
        Id = reader.GetInt32(0),
        Hosts = reader.GetFieldValue<string[]>(1),
        RuleId = reader.IsDBNull(2) ? null : reader.GetInt32(2),
        Team = reader.IsDBNull(3) ? null : reader.GetString(3),
        StartsAt = reader.GetFieldValue<DateTimeOffset>(4),
        EndsAt = reader.GetFieldValue<DateTimeOffset>(5),
        Reason = reader.GetString(6),
        CreatedBy = reader.GetString(7),
        EndedBy = reader.IsDBNull(8) ? null : reader.GetString(8),
    };

    public static CorrelationRule ReadCorrelationRule(NpgsqlDataReader reader) => new()
    {
        Id = reader.GetInt32(0),
        Name = reader.GetString(1),
        RuleType = reader.GetString(2),
        OpenPattern = reader.IsDBNull(3) ? null : reader.GetString(3),
        ClosePattern = reader.IsDBNull(4) ? null : reader.GetString(4),
        OpenTrapOid = reader.IsDBNull(5) ? null : reader.GetString(5),
        CloseTrapOid = reader.IsDBNull(6) ? null : reader.GetString(6),
        InterfacePattern = reader.IsDBNull(7) ? null : reader.GetString(7),
        WindowSeconds = reader.GetInt32(8),
        Threshold = reader.GetInt32(9),
        Handling = reader.GetString(10),
        TeamAssignment = reader.GetString(11),
        IsActive = reader.GetBoolean(12),
    };
}
