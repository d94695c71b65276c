using System.Text.Json;
using Mutt.Core.Webhooks;
using Npgsql;
using NpgsqlTypes;
using Mutt.Core.Data;

namespace Mutt.Dashboard.Data;

/// <summary>webhook_mappings. Writes take the caller's connection so the change and its config audit row commit together.</summary>
public sealed class MappingStore(NpgsqlDataSource db)
{
    private const string Columns = WebhookMappingStore.Columns;

    public async Task<List<WebhookMapping>> ListAsync(CancellationToken ct = default)
    {
        await using var cmd = db.CreateCommand($"SELECT {Columns} FROM webhook_mappings ORDER BY name");
        return await cmd.ReadAllAsync(WebhookMappingStore.ReadMapping, ct);
    }

    public async Task<WebhookMapping?> GetAsync(string name, CancellationToken ct = default)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        return await GetAsync(conn, name, ct);
    }

    public static async Task<WebhookMapping?> GetAsync(NpgsqlConnection conn, string name, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand($"SELECT {Columns} FROM webhook_mappings WHERE name = $1", conn) { Parameters = { new() { Value = name } } };
        return (await cmd.ReadAllAsync(WebhookMappingStore.ReadMapping, ct)).FirstOrDefault();
    }

    public static async Task<WebhookMapping> InsertAsync(NpgsqlConnection conn, WebhookMapping mapping, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(
            "INSERT INTO webhook_mappings (name, description, hostname_path, message_path, severity_path, severity_map, timestamp_path, trap_oid_path, " +
            $"stable_key_path, labels_path, is_active, status_path, resolved_values) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING {Columns}", conn);
        AddValues(cmd, mapping);
        return (await cmd.ReadAllAsync(WebhookMappingStore.ReadMapping, ct))[0];
    }

    public static async Task<WebhookMapping?> UpdateAsync(NpgsqlConnection conn, WebhookMapping mapping, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(
            "UPDATE webhook_mappings SET description = $2, hostname_path = $3, message_path = $4, severity_path = $5, severity_map = $6, " +
            "timestamp_path = $7, trap_oid_path = $8, stable_key_path = $9, labels_path = $10, is_active = $11, status_path = $12, resolved_values = $13, updated_at = now() " +
            $"WHERE name = $1 RETURNING {Columns}", conn);
        AddValues(cmd, mapping);
        return (await cmd.ReadAllAsync(WebhookMappingStore.ReadMapping, ct)).FirstOrDefault();
    }

    public static async Task<bool> DeleteAsync(NpgsqlConnection conn, string name, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("DELETE FROM webhook_mappings WHERE name = $1", conn) { Parameters = { new() { Value = name } } };
        return await cmd.ExecuteNonQueryAsync(ct) == 1;
    }

    private static void AddValues(NpgsqlCommand cmd, WebhookMapping m)
    {
        cmd.Parameters.Add(new() { Value = m.Name });
        cmd.Parameters.Add(Text(m.Description));
        cmd.Parameters.Add(new() { Value = m.HostnamePath });
        cmd.Parameters.Add(new() { Value = m.MessagePath });
        cmd.Parameters.Add(Text(m.SeverityPath));
        cmd.Parameters.Add(new() { Value = JsonSerializer.Serialize(m.SeverityMap, WebhookJsonContext.Default.DictionaryStringInt32), NpgsqlDbType = NpgsqlDbType.Jsonb });
        cmd.Parameters.Add(Text(m.TimestampPath));
        cmd.Parameters.Add(Text(m.TrapOidPath));
        cmd.Parameters.Add(Text(m.StableKeyPath));
        cmd.Parameters.Add(Text(m.LabelsPath));
        cmd.Parameters.Add(new() { Value = m.IsActive });
        cmd.Parameters.Add(Text(m.StatusPath));
        cmd.Parameters.Add(new() { Value = JsonSerializer.Serialize(m.ResolvedValues, WebhookJsonContext.Default.ListString), NpgsqlDbType = NpgsqlDbType.Jsonb });
    }

    private static NpgsqlParameter Text(string? value) => new() { Value = (object?)value ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text };
}
