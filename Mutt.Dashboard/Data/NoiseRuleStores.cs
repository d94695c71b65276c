using Mutt.Core.Noise;
using Npgsql;
using NpgsqlTypes;
using Mutt.Core.Data;

namespace Mutt.Dashboard.Data;

/// <summary>maintenance_windows. Writes take the caller's connection so the change and its config audit row commit together.</summary>
public sealed class MaintenanceWindowStore(NpgsqlDataSource db)
{
    private const string Columns = NoiseRuleRows.MaintenanceColumns;

    /// <summary>Newest first; <paramref name="current"/> = only windows that have not ended.</summary>
    public async Task<List<MaintenanceWindow>> ListAsync(bool current = false, CancellationToken ct = default)
    {
        await using var cmd = db.CreateCommand($"SELECT {Columns} FROM maintenance_windows{(current ? " WHERE ends_at > now()" : "")} ORDER BY starts_at DESC, id DESC");
        return await cmd.ReadAllAsync(NoiseRuleRows.ReadMaintenanceWindow, ct);
    }

    public static async Task<MaintenanceWindow?> GetAsync(NpgsqlConnection conn, int id, CancellationToken ct = default)
    {
        await using var cmd = new NpgsqlCommand($"SELECT {Columns} FROM maintenance_windows WHERE id = $1 FOR UPDATE", conn) { Parameters = { new() { Value = id } } };
        return (await cmd.ReadAllAsync(NoiseRuleRows.ReadMaintenanceWindow, ct)).FirstOrDefault();
    }

    public async Task<MaintenanceWindow?> GetAsync(int id, CancellationToken ct = default)
    {
        await using var cmd = db.CreateCommand($"SELECT {Columns} FROM maintenance_windows WHERE id = $1");
        cmd.Parameters.Add(new() { Value = id });
        return (await cmd.ReadAllAsync(NoiseRuleRows.ReadMaintenanceWindow, ct)).FirstOrDefault();
    }

    public static async Task<MaintenanceWindow> InsertAsync(NpgsqlConnection conn, MaintenanceWindow window, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(
            $"INSERT INTO maintenance_windows (hosts, rule_id, team, starts_at, ends_at, reason, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {Columns}", conn);
        AddValues(cmd, window);
        cmd.Parameters.Add(new() { Value = window.CreatedBy });
        return (await cmd.ReadAllAsync(NoiseRuleRows.ReadMaintenanceWindow, ct))[0];
    }

    public static async Task<MaintenanceWindow> UpdateAsync(NpgsqlConnection conn, int id, MaintenanceWindow window, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(
            $"UPDATE maintenance_windows SET hosts = $1, rule_id = $2, team = $3, starts_at = $4, ends_at = $5, reason = $6, updated_at = now() WHERE id = $7 RETURNING {Columns}", conn);
        AddValues(cmd, window);
        cmd.Parameters.Add(new() { Value = id });
        return (await cmd.ReadAllAsync(NoiseRuleRows.ReadMaintenanceWindow, ct))[0];
    }

    /// <summary>Ends a window now (the row stays: audit rows name it).</summary>
    public static async Task<MaintenanceWindow> EndAsync(NpgsqlConnection conn, int id, string endedBy, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(
            $"UPDATE maintenance_windows SET ends_at = greatest(now(), starts_at + interval '1 millisecond'), ended_by = $1, updated_at = now() WHERE id = $2 RETURNING {Columns}", conn)
        {
            Parameters = { new() { Value = endedBy }, new() { Value = id } },
        };
        return (await cmd.ReadAllAsync(NoiseRuleRows.ReadMaintenanceWindow, ct))[0];
    }

    private static void AddValues(NpgsqlCommand cmd, MaintenanceWindow window)
    {
        cmd.Parameters.Add(new() { Value = window.Hosts.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        cmd.Parameters.Add(new() { Value = (object?)window.RuleId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Integer });
        cmd.Parameters.Add(new() { Value = (object?)window.Team ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        cmd.Parameters.Add(new() { Value = window.StartsAt.UtcDateTime, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        cmd.Parameters.Add(new() { Value = window.EndsAt.UtcDateTime, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        cmd.Parameters.Add(new() { Value = window.Reason });
    }
}

/// <summary>correlation_rules (flapping detection).</summary>
public sealed class CorrelationRuleStore(NpgsqlDataSource db)
{
    private const string Columns = NoiseRuleRows.CorrelationColumns;

    public async Task<List<CorrelationRule>> ListAsync(CancellationToken ct = default)
    {
        await using var cmd = db.CreateCommand($"SELECT {Columns} FROM correlation_rules ORDER BY id");
        return await cmd.ReadAllAsync(NoiseRuleRows.ReadCorrelationRule, ct);
    }

    public static async Task<CorrelationRule?> GetAsync(NpgsqlConnection conn, int id, CancellationToken ct = default)
    {
        await using var cmd = new NpgsqlCommand($"SELECT {Columns} FROM correlation_rules WHERE id = $1", conn) { Parameters = { new() { Value = id } } };
        return (await cmd.ReadAllAsync(NoiseRuleRows.ReadCorrelationRule, ct)).FirstOrDefault();
    }

    public async Task<CorrelationRule?> GetAsync(int id, CancellationToken ct = default)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        return await GetAsync(conn, id, ct);
    }

    public static async Task<CorrelationRule> InsertAsync(NpgsqlConnection conn, CorrelationRule rule, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(
            "INSERT INTO correlation_rules (name, rule_type, open_pattern, close_pattern, open_trap_oid, close_trap_oid, interface_pattern, window_seconds, threshold, handling, team_assignment, is_active) " +
            $"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING {Columns}", conn);
        AddValues(cmd, rule);
        return (await cmd.ReadAllAsync(NoiseRuleRows.ReadCorrelationRule, ct))[0];
    }

    public static async Task<CorrelationRule?> UpdateAsync(NpgsqlConnection conn, int id, CorrelationRule rule, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(
            "UPDATE correlation_rules SET name = $1, rule_type = $2, open_pattern = $3, close_pattern = $4, open_trap_oid = $5, close_trap_oid = $6, interface_pattern = $7, " +
            $"window_seconds = $8, threshold = $9, handling = $10, team_assignment = $11, is_active = $12, updated_at = now() WHERE id = $13 RETURNING {Columns}", conn);
        AddValues(cmd, rule);
        cmd.Parameters.Add(new() { Value = id });
        return (await cmd.ReadAllAsync(NoiseRuleRows.ReadCorrelationRule, ct)).FirstOrDefault();
    }

    public static async Task<bool> DeleteAsync(NpgsqlConnection conn, int id, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("DELETE FROM correlation_rules WHERE id = $1", conn) { Parameters = { new() { Value = id } } };
        return await cmd.ExecuteNonQueryAsync(ct) == 1;
    }

    private static void AddValues(NpgsqlCommand cmd, CorrelationRule rule)
    {
        cmd.Parameters.Add(new() { Value = rule.Name });
        cmd.Parameters.Add(new() { Value = rule.RuleType });
        foreach (var text in new[] { rule.OpenPattern, rule.ClosePattern, rule.OpenTrapOid, rule.CloseTrapOid, rule.InterfacePattern })
        {
            cmd.Parameters.Add(new() { Value = (object?)text ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        }
        cmd.Parameters.Add(new() { Value = rule.WindowSeconds });
        cmd.Parameters.Add(new() { Value = rule.Threshold });
        cmd.Parameters.Add(new() { Value = rule.Handling });
        cmd.Parameters.Add(new() { Value = rule.TeamAssignment });
        cmd.Parameters.Add(new() { Value = rule.IsActive });
    }
}
