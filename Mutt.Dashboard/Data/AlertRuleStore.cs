using Mutt.Core.Rules;
using Npgsql;
using Mutt.Core.Data;

namespace Mutt.Dashboard.Data;

/// <summary>alert_rules. Writes take the caller's connection so the change and its config audit row commit together.</summary>
public sealed class AlertRuleStore(NpgsqlDataSource db)
{
    private const string Columns = Mutt.Core.Rules.RuleStore.RuleColumns;

    public async Task<List<AlertRule>> ListAsync(CancellationToken ct = default)
    {
        await using var cmd = db.CreateCommand($"SELECT {Columns} FROM alert_rules ORDER BY priority, id");
        return await ReadAsync(cmd, ct);
    }

    public static async Task<AlertRule?> GetAsync(NpgsqlConnection conn, int id, CancellationToken ct = default)
    {
        await using var cmd = new NpgsqlCommand($"SELECT {Columns} FROM alert_rules WHERE id = $1", conn) { Parameters = { new() { Value = id } } };
        return (await ReadAsync(cmd, ct)).FirstOrDefault();
    }

    public async Task<AlertRule?> GetAsync(int id, CancellationToken ct = default)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        return await GetAsync(conn, id, ct);
    }

    public static async Task<AlertRule> InsertAsync(NpgsqlConnection conn, AlertRule rule, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(
            $"INSERT INTO alert_rules (match_string, trap_oid, syslog_severity, match_type, priority, prod_handling, dev_handling, team_assignment, is_active, dedup_window_seconds, match_source, match_labels) " +
            $"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING {Columns}", conn);
        AddValues(cmd, rule);
        return (await ReadAsync(cmd, ct))[0];
    }

    public static async Task<AlertRule?> UpdateAsync(NpgsqlConnection conn, int id, AlertRule rule, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(
            $"UPDATE alert_rules SET match_string = $1, trap_oid = $2, syslog_severity = $3, match_type = $4, priority = $5, prod_handling = $6, " +
            $"dev_handling = $7, team_assignment = $8, is_active = $9, dedup_window_seconds = $10, match_source = $11, match_labels = $12, updated_at = now() WHERE id = $13 RETURNING {Columns}", conn);
        AddValues(cmd, rule);
        cmd.Parameters.Add(new() { Value = id });
        return (await ReadAsync(cmd, ct)).FirstOrDefault();
    }

    public static async Task<bool> DeleteAsync(NpgsqlConnection conn, int id, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("DELETE FROM alert_rules WHERE id = $1", conn) { Parameters = { new() { Value = id } } };
        return await cmd.ExecuteNonQueryAsync(ct) == 1;
    }

    private static void AddValues(NpgsqlCommand cmd, AlertRule rule)
    {
        cmd.Parameters.Add(new() { Value = (object?)rule.MatchString ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        cmd.Parameters.Add(new() { Value = (object?)rule.TrapOid ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        cmd.Parameters.Add(new() { Value = (object?)rule.SyslogSeverity ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Integer });
        cmd.Parameters.Add(new() { Value = rule.MatchType });
        cmd.Parameters.Add(new() { Value = rule.Priority });
        cmd.Parameters.Add(new() { Value = rule.ProdHandling });
        cmd.Parameters.Add(new() { Value = rule.DevHandling });
        cmd.Parameters.Add(new() { Value = rule.TeamAssignment });
        cmd.Parameters.Add(new() { Value = rule.IsActive });
        cmd.Parameters.Add(new() { Value = (object?)rule.DedupWindowSeconds ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Integer });
        cmd.Parameters.Add(new() { Value = (object?)rule.MatchSource ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        cmd.Parameters.Add(new()
        {
            Value = rule.MatchLabels is { Count: > 0 } labels
                ? System.Text.Json.JsonSerializer.Serialize(labels.ToDictionary(), Mutt.Core.Rules.RuleJsonContext.Default.DictionaryStringString)
                : DBNull.Value,
            NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Jsonb,
        });
    }

    private static Task<List<AlertRule>> ReadAsync(NpgsqlCommand cmd, CancellationToken ct) => cmd.ReadAllAsync(Mutt.Core.Rules.RuleStore.ReadRule, ct);
}
