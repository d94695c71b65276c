using System.Text.Json;
using System.Text.Json.Serialization;
using Npgsql;
using NpgsqlTypes;
using Mutt.Dashboard.Services;
using Mutt.Core.Data;

namespace Mutt.Dashboard.Data;

public sealed record Page<T>(
    [property: JsonPropertyName("items")] IReadOnlyList<T> Items,
    [property: JsonPropertyName("page")] int PageNumber,
    [property: JsonPropertyName("page_size")] int PageSize,
    [property: JsonPropertyName("total")] long Total)
{
    [JsonPropertyName("total_pages")] public long TotalPages => PageSize == 0 ? 0 : (Total + PageSize - 1) / PageSize;
}

public sealed record EventAuditFilter(string? Hostname = null, int? RuleId = null, string? Decision = null, bool? Forwarded = null,
    DateTimeOffset? StartTime = null, DateTimeOffset? EndTime = null, string? CorrelationId = null);

public sealed record EventAuditRow(
    [property: JsonPropertyName("id")] long Id,
    [property: JsonPropertyName("event_timestamp")] DateTimeOffset EventTimestamp,
    [property: JsonPropertyName("hostname")] string Hostname,
    [property: JsonPropertyName("matched_rule_id")] int? MatchedRuleId,
    [property: JsonPropertyName("handling_decision")] string HandlingDecision,
    [property: JsonPropertyName("forwarded_to_moog")] bool ForwardedToMoog,
    [property: JsonPropertyName("correlation_id")] string CorrelationId,
    [property: JsonPropertyName("raw_message")] JsonElement RawMessage)
{
    /// <summary>Deduplicated: the repeat number in its window; Flapping: transitions counted.</summary>
    [JsonPropertyName("decision_count")] public int? DecisionCount { get; init; }
    [JsonPropertyName("maintenance_window_id")] public int? MaintenanceWindowId { get; init; }
    [JsonPropertyName("correlation_rule_id")] public int? CorrelationRuleId { get; init; }
}

public sealed record ConfigAuditFilter(string? TableName = null, string? Operation = null, string? ChangedBy = null, string? RecordId = null,
    string? CorrelationId = null, DateTimeOffset? StartTime = null, DateTimeOffset? EndTime = null);

public sealed record ConfigAuditRow(
    [property: JsonPropertyName("id")] long Id,
    [property: JsonPropertyName("changed_at")] DateTimeOffset ChangedAt,
    [property: JsonPropertyName("changed_by")] string ChangedBy,
    [property: JsonPropertyName("operation")] string Operation,
    [property: JsonPropertyName("table_name")] string TableName,
    [property: JsonPropertyName("record_id")] string? RecordId,
    [property: JsonPropertyName("old_values")] JsonElement? OldValues,
    [property: JsonPropertyName("new_values")] JsonElement? NewValues,
    [property: JsonPropertyName("reason")] string? Reason,
    [property: JsonPropertyName("correlation_id")] string? CorrelationId);

/// <summary>Builds a WHERE clause of positional parameters; values never enter the SQL text.</summary>
internal sealed class WhereBuilder(NpgsqlCommand cmd)
{
    private readonly List<string> _clauses = [];

    public void Add(string column, string op, object? value, NpgsqlDbType type)
    {
        if (value is null)
        {
            return;
        }
        cmd.Parameters.Add(new NpgsqlParameter { Value = value, NpgsqlDbType = type });
        _clauses.Add($"{column} {op} ${cmd.Parameters.Count}");
    }

    public string Sql => _clauses.Count == 0 ? "" : " WHERE " + string.Join(" AND ", _clauses);
}

public sealed class EventAuditStore(NpgsqlDataSource db)
{
    public async Task<Page<EventAuditRow>> QueryAsync(EventAuditFilter filter, int page, int pageSize, CancellationToken ct = default)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        await using var cmd = new NpgsqlCommand { Connection = conn };
        var where = new WhereBuilder(cmd);
        where.Add("hostname", "=", filter.Hostname, NpgsqlDbType.Text);
        where.Add("matched_rule_id", "=", filter.RuleId, NpgsqlDbType.Integer);
        where.Add("handling_decision", "=", filter.Decision, NpgsqlDbType.Text);
        where.Add("forwarded_to_moog", "=", filter.Forwarded, NpgsqlDbType.Boolean);
        where.Add("event_timestamp", ">=", filter.StartTime?.UtcDateTime, NpgsqlDbType.TimestampTz);
        where.Add("event_timestamp", "<", filter.EndTime?.UtcDateTime, NpgsqlDbType.TimestampTz);
        where.Add("correlation_id", "=", filter.CorrelationId, NpgsqlDbType.Text);
        cmd.CommandText = "SELECT count(*) FROM event_audit_log" + where.Sql;
        var total = (long)(await cmd.ExecuteScalarAsync(ct))!;
        cmd.Parameters.Add(new NpgsqlParameter { Value = pageSize });
        cmd.Parameters.Add(new NpgsqlParameter { Value = (long)(page - 1) * pageSize });
        cmd.CommandText = "SELECT id, event_timestamp, hostname, matched_rule_id, handling_decision, forwarded_to_moog, correlation_id, raw_message::text, " +
            "decision_count, maintenance_window_id, correlation_rule_id " +
            $"FROM event_audit_log{where.Sql} ORDER BY event_timestamp DESC, id DESC LIMIT ${cmd.Parameters.Count - 1} OFFSET ${cmd.Parameters.Count}";
        var rows = new List<EventAuditRow>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            rows.Add(new EventAuditRow(reader.GetInt64(0), reader.GetFieldValue<DateTimeOffset>(1), reader.GetString(2),
                reader.IsDBNull(3) ? null : reader.GetInt32(3), reader.GetString(4), reader.GetBoolean(5), reader.GetString(6),
                JsonDocument.Parse(reader.GetString(7)).RootElement.Clone())
            {
                DecisionCount = reader.IsDBNull(8) ? null : reader.GetInt32(8),
                MaintenanceWindowId = reader.IsDBNull(9) ? null : reader.GetInt32(9),
                CorrelationRuleId = reader.IsDBNull(10) ? null : reader.GetInt32(10),
            });
        }
        return new Page<EventAuditRow>(rows, page, pageSize, total);
    }
}

/// <summary>config_audit_log (spec 003 audit_logger): who changed what, old and new values, why, under which correlation id.</summary>
public sealed class ConfigAuditStore(NpgsqlDataSource db)
{
    public static async Task WriteAsync(NpgsqlConnection conn, ChangeContext change, string operation, string tableName, string? recordId,
        object? oldValues, object? newValues, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(
            "INSERT INTO config_audit_log (changed_by, operation, table_name, record_id, old_values, new_values, reason, correlation_id) " +
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)", conn)
        {
            Parameters =
            {
                new() { Value = change.ChangedBy },
                new() { Value = operation },
                new() { Value = tableName },
                new() { Value = (object?)recordId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text },
                new() { Value = oldValues is null ? DBNull.Value : JsonSerializer.Serialize(oldValues), NpgsqlDbType = NpgsqlDbType.Jsonb },
                new() { Value = newValues is null ? DBNull.Value : JsonSerializer.Serialize(newValues), NpgsqlDbType = NpgsqlDbType.Jsonb },
                new() { Value = (object?)change.Reason ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text },
                new() { Value = (object?)change.CorrelationId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text },
            },
        };
        await cmd.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Everyone who appears in the trail (users and keys), for the "who" filter.</summary>
    public async Task<IReadOnlyList<string>> PeopleAsync(CancellationToken ct = default)
    {
        await using var cmd = db.CreateCommand("SELECT DISTINCT changed_by FROM config_audit_log ORDER BY changed_by LIMIT 500");
        return await cmd.ReadAllAsync(r => r.GetString(0), ct);
    }

    public async Task<Page<ConfigAuditRow>> QueryAsync(ConfigAuditFilter filter, int page, int pageSize, CancellationToken ct = default)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        await using var cmd = new NpgsqlCommand { Connection = conn };
        var where = new WhereBuilder(cmd);
        where.Add("table_name", "=", filter.TableName, NpgsqlDbType.Text);
        where.Add("operation", "=", filter.Operation, NpgsqlDbType.Text);
        where.Add("changed_by", "=", filter.ChangedBy, NpgsqlDbType.Text);
        where.Add("record_id", "=", filter.RecordId, NpgsqlDbType.Text);
        where.Add("correlation_id", "=", filter.CorrelationId, NpgsqlDbType.Text);
        where.Add("changed_at", ">=", filter.StartTime?.UtcDateTime, NpgsqlDbType.TimestampTz);
        where.Add("changed_at", "<", filter.EndTime?.UtcDateTime, NpgsqlDbType.TimestampTz);
        cmd.CommandText = "SELECT count(*) FROM config_audit_log" + where.Sql;
        var total = (long)(await cmd.ExecuteScalarAsync(ct))!;
        cmd.Parameters.Add(new NpgsqlParameter { Value = pageSize });
        cmd.Parameters.Add(new NpgsqlParameter { Value = (long)(page - 1) * pageSize });
        cmd.CommandText = "SELECT id, changed_at, changed_by, operation, table_name, record_id, old_values::text, new_values::text, reason, correlation_id " +
            $"FROM config_audit_log{where.Sql} ORDER BY changed_at DESC, id DESC LIMIT ${cmd.Parameters.Count - 1} OFFSET ${cmd.Parameters.Count}";
        var rows = new List<ConfigAuditRow>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            rows.Add(new ConfigAuditRow(reader.GetInt64(0), reader.GetFieldValue<DateTimeOffset>(1), reader.GetString(2), reader.GetString(3),
                reader.GetString(4), reader.IsDBNull(5) ? null : reader.GetString(5), Json(reader, 6), Json(reader, 7),
                reader.IsDBNull(8) ? null : reader.GetString(8), reader.IsDBNull(9) ? null : reader.GetString(9)));
        }
        return new Page<ConfigAuditRow>(rows, page, pageSize, total);
    }

    private static JsonElement? Json(NpgsqlDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : JsonDocument.Parse(reader.GetString(ordinal)).RootElement.Clone();
}
