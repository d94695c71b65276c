using Mutt.Core.Noise;
using Npgsql;
using Mutt.Core.Data;

namespace Mutt.Core.Rules;

/// <summary>
/// What the rule cache is built from: active rules, development hosts and device→team overrides,
/// and the noise rules (maintenance windows not yet ended, active correlation rules).
/// </summary>
public sealed record RuleData(IReadOnlyList<AlertRule> Rules, IReadOnlyList<string> DevelopmentHosts, IReadOnlyDictionary<string, string> DeviceTeams)
{
    public IReadOnlyList<MaintenanceWindow> MaintenanceWindows { get; init; } = [];
    public IReadOnlyList<CorrelationRule> CorrelationRules { get; init; } = [];

    public RuleSet Compile(TimeSpan regexTimeout) => new(Rules, DevelopmentHosts, DeviceTeams, regexTimeout);

    public NoiseRules CompileNoise(TimeSpan regexTimeout) =>
        new(new MaintenanceSchedule(MaintenanceWindows), new FlappingRuleSet(CorrelationRules, regexTimeout));
}

/// <summary>Reads the rule cache's inputs from PostgreSQL in one repeatable-read snapshot.</summary>
public sealed class RuleStore(NpgsqlDataSource dataSource)
{
    public async Task<RuleData> LoadAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        // One snapshot, so a rule and the team override it relies on are never seen half-updated.
        await using var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken).ConfigureAwait(false);

        List<AlertRule> rules;
        await using (var command = new NpgsqlCommand(
            $"SELECT {RuleColumns} FROM alert_rules WHERE is_active ORDER BY priority, id", connection, transaction))
        {
            rules = await command.ReadAllAsync(ReadRule, cancellationToken).ConfigureAwait(false);
        }

        List<string> hosts;
        await using (var command = new NpgsqlCommand("SELECT hostname FROM development_hosts", connection, transaction))
        {
            hosts = await command.ReadAllAsync(r => r.GetString(0), cancellationToken).ConfigureAwait(false);
        }

        var teams = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        await using (var command = new NpgsqlCommand("SELECT hostname, team_assignment FROM device_teams", connection, transaction))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                teams[reader.GetString(0)] = reader.GetString(1);
            }
        }

        // Windows that have not ended yet: one that starts later is cached now and begins on time.
        await using var windows = new NpgsqlCommand(
            $"SELECT {NoiseRuleRows.MaintenanceColumns} FROM maintenance_windows WHERE ends_at > now() ORDER BY id", connection, transaction);
        var maintenance = await windows.ReadAllAsync(NoiseRuleRows.ReadMaintenanceWindow, cancellationToken).ConfigureAwait(false);
        await using var correlation = new NpgsqlCommand(
            $"SELECT {NoiseRuleRows.CorrelationColumns} FROM correlation_rules WHERE is_active ORDER BY id", connection, transaction);
        var correlationRules = await correlation.ReadAllAsync(NoiseRuleRows.ReadCorrelationRule, cancellationToken).ConfigureAwait(false);

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return new RuleData(rules, hosts, teams) { MaintenanceWindows = maintenance, CorrelationRules = correlationRules };
    }

    /// <summary>The alert_rules columns in the order <see cref="ReadRule"/> reads them.</summary>
    public const string RuleColumns = "id, match_string, trap_oid, syslog_severity, match_type, priority, prod_handling, dev_handling, team_assignment, is_active, dedup_window_seconds, match_source, match_labels";

    /// <summary>Reads one alert_rules row selected with <see cref="RuleColumns"/>; the Dashboard's store reads rules the same way.</summary>
    public static AlertRule ReadRule(NpgsqlDataReader reader) => new()
    {
        Id = reader.GetInt32(0),
        MatchString = reader.IsDBNull(1) ? null : reader.GetString(1),
        TrapOid = reader.IsDBNull(2) ? null : reader.GetString(2),
        SyslogSeverity = reader.IsDBNull(3) ? null : reader.GetInt32(3),
        MatchType = reader.GetString(4),
        Priority = reader.GetInt32(5),
        ProdHandling = reader.GetString(6),
        DevHandling = reader.GetString(7),
        TeamAssignment = reader.GetString(8),
        IsActive = reader.GetBoolean(9),
        // By name: later migrations add alert_rules columns of their own to RuleColumns.
        DedupWindowSeconds = NullableInt(reader, "dedup_window_seconds"),
        MatchSource = NullableText(reader, "match_source"),
        MatchLabels = NullableText(reader, "match_labels") is { } labels
            ? System.Text.Json.JsonSerializer.Deserialize(labels, RuleJsonContext.Default.DictionaryStringString) : null,
    };

    private static int? NullableInt(NpgsqlDataReader reader, string column)
    {
        var ordinal = reader.GetOrdinal(column);
        return reader.IsDBNull(ordinal) ? null : reader.GetInt32(ordinal);
    }

    private static string? NullableText(NpgsqlDataReader reader, string column)
    {
        var ordinal = reader.GetOrdinal(column);
        return reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(Dictionary<string, string>))]
public sealed partial class RuleJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
