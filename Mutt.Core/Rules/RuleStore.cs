using Npgsql;

namespace Mutt.Core.Rules;

/// <summary>What the rule cache is built from: active rules, development hosts and device→team overrides.</summary>
public sealed record RuleData(IReadOnlyList<AlertRule> Rules, IReadOnlyList<string> DevelopmentHosts, IReadOnlyDictionary<string, string> DeviceTeams)
{
    public RuleSet Compile(TimeSpan regexTimeout) => new(Rules, DevelopmentHosts, DeviceTeams, regexTimeout);
}

/// <summary>Reads the rule cache's inputs from PostgreSQL in one repeatable-read snapshot.</summary>
public sealed class RuleStore(NpgsqlDataSource dataSource)
{
    public async Task<RuleData> LoadAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        // One snapshot, so a rule and the team override it relies on are never seen half-updated.
        await using var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken).ConfigureAwait(false);

        var rules = new List<AlertRule>();
        await using (var command = new NpgsqlCommand(
            $"SELECT {RuleColumns} FROM alert_rules WHERE is_active ORDER BY priority, id", connection, transaction))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                rules.Add(ReadRule(reader));
            }
        }

        var hosts = new List<string>();
        await using (var command = new NpgsqlCommand("SELECT hostname FROM development_hosts", connection, transaction))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                hosts.Add(reader.GetString(0));
            }
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
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return new RuleData(rules, hosts, teams);
    }

    /// <summary>The alert_rules columns in the order <see cref="ReadRule"/> reads them.</summary>
    public const string RuleColumns = "id, match_string, trap_oid, syslog_severity, match_type, priority, prod_handling, dev_handling, team_assignment, is_active, match_source, match_labels";

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
        MatchSource = reader.IsDBNull(10) ? null : reader.GetString(10),
        MatchLabels = reader.IsDBNull(11) ? null
            : System.Text.Json.JsonSerializer.Deserialize(reader.GetString(11), RuleJsonContext.Default.DictionaryStringString),
    };
}

[System.Text.Json.Serialization.JsonSerializable(typeof(Dictionary<string, string>))]
public sealed partial class RuleJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
