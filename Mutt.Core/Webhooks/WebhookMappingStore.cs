using System.Text.Json;
using System.Text.Json.Serialization;
using Npgsql;
using Mutt.Core.Data;

namespace Mutt.Core.Webhooks;

/// <summary>Reads <c>webhook_mappings</c> (migration 004); the Ingestor's cache and the Dashboard's store read rows the same way.</summary>
public sealed class WebhookMappingStore(NpgsqlDataSource dataSource)
{
    /// <summary>The webhook_mappings columns in the order <see cref="ReadMapping"/> reads them.</summary>
    public const string Columns = "name, description, hostname_path, message_path, severity_path, severity_map, timestamp_path, trap_oid_path, stable_key_path, labels_path, is_active, status_path, resolved_values";

    public async Task<List<WebhookMapping>> LoadActiveAsync(CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand($"SELECT {Columns} FROM webhook_mappings WHERE is_active ORDER BY name");
        return await command.ReadAllAsync(ReadMapping, cancellationToken).ConfigureAwait(false);
    }

    public static WebhookMapping ReadMapping(NpgsqlDataReader reader) => new()
    {
        Name = reader.GetString(0),
        Description = Text(reader, 1),
        HostnamePath = reader.GetString(2),
        MessagePath = reader.GetString(3),
        SeverityPath = Text(reader, 4),
        SeverityMap = JsonSerializer.Deserialize(reader.GetString(5), WebhookJsonContext.Default.DictionaryStringInt32) ?? [],
        TimestampPath = Text(reader, 6),
        TrapOidPath = Text(reader, 7),
        StableKeyPath = Text(reader, 8),
        LabelsPath = Text(reader, 9),
        IsActive = reader.GetBoolean(10),
        StatusPath = Text(reader, 11),
        ResolvedValues = JsonSerializer.Deserialize(reader.GetString(12), WebhookJsonContext.Default.ListString) ?? [],
    };

    private static string? Text(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);
}

[JsonSerializable(typeof(WebhookMapping))]
[JsonSerializable(typeof(List<WebhookMapping>))]
[JsonSerializable(typeof(Dictionary<string, int>))]
[JsonSerializable(typeof(List<string>))]
public sealed partial class WebhookJsonContext : JsonSerializerContext;
