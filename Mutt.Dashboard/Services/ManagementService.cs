using Mutt.Core.Auth;
using Mutt.Core.Configuration;
using Mutt.Core.Redis;
using Mutt.Core.Rules;
using Mutt.Dashboard.Data;
using Mutt.Dashboard.Metrics;
using Mutt.Dashboard.Rules;
using Npgsql;
using StackExchange.Redis;

namespace Mutt.Dashboard.Services;

/// <summary>
/// Who is changing something (a user or key name: config_audit_log.changed_by), with which role,
/// why, and under which correlation id (spec 003 audit_logger).
/// </summary>
public sealed record ChangeContext(string ChangedBy, string? Reason, string? CorrelationId, string? Role);

public enum ChangeStatus { Ok, NotFound, Conflict, Invalid, Forbidden }

public sealed record ChangeResult<T>(ChangeStatus Status, T? Value = default, IDictionary<string, string[]>? Errors = null)
{
    public static ChangeResult<T> Invalid(string field, string message) => new(ChangeStatus.Invalid, Errors: new Dictionary<string, string[]> { [field] = [message] });
}

/// <summary>
/// Every change made through the API or the pages: the write and its config_audit_log row
/// commit in one transaction, then the change is published on mutt:config:updates so the
/// Alerters reload at once instead of at their next cache interval.
/// </summary>
public sealed partial class ManagementService(NpgsqlDataSource db, IConnectionMultiplexer redis, DynamicConfig config, AuditedTransactions transactions, ILogger<ManagementService> logger)
{
    public const string RulesChannelMessage = "rules";
    public const string DevHostsChannelMessage = "dev_hosts";
    public const string TeamsChannelMessage = "teams";
    public const string DynamicConfigTable = "dynamic_config";

    public Task<ChangeResult<AlertRule>> CreateRuleAsync(AlertRule rule, ChangeContext change, CancellationToken ct = default) =>
        WriteAsync("rule_create", RulesChannelMessage, change, async conn =>
        {
            var errors = RuleValidator.Validate(rule);
            if (errors.Count > 0)
            {
                return new ChangeResult<AlertRule>(ChangeStatus.Invalid, Errors: errors);
            }
            var created = await AlertRuleStore.InsertAsync(conn, rule, ct);
            await ConfigAuditStore.WriteAsync(conn, change, "CREATE", "alert_rules", Id(created.Id), null, created, ct);
            return new(ChangeStatus.Ok, created);
        }, ct);

    public Task<ChangeResult<AlertRule>> UpdateRuleAsync(int id, AlertRule rule, ChangeContext change, CancellationToken ct = default) =>
        WriteAsync("rule_update", RulesChannelMessage, change, async conn =>
        {
            var errors = RuleValidator.Validate(rule);
            if (errors.Count > 0)
            {
                return new ChangeResult<AlertRule>(ChangeStatus.Invalid, Errors: errors);
            }
            var old = await AlertRuleStore.GetAsync(conn, id, ct);
            if (old is null)
            {
                return new(ChangeStatus.NotFound);
            }
            var updated = await AlertRuleStore.UpdateAsync(conn, id, rule, ct);
            await ConfigAuditStore.WriteAsync(conn, change, "UPDATE", "alert_rules", Id(id), old, updated, ct);
            return new(ChangeStatus.Ok, updated);
        }, ct);

    public Task<ChangeResult<AlertRule>> DeleteRuleAsync(int id, ChangeContext change, CancellationToken ct = default) =>
        WriteAsync("rule_delete", RulesChannelMessage, change, async conn =>
        {
            var old = await AlertRuleStore.GetAsync(conn, id, ct);
            if (old is null || !await AlertRuleStore.DeleteAsync(conn, id, ct))
            {
                return new ChangeResult<AlertRule>(ChangeStatus.NotFound);
            }
            await ConfigAuditStore.WriteAsync(conn, change, "DELETE", "alert_rules", Id(id), old, null, ct);
            return new(ChangeStatus.Ok, old);
        }, ct);

    public Task<ChangeResult<DevHost>> AddDevHostAsync(DevHost host, ChangeContext change, CancellationToken ct = default) =>
        WriteAsync("dev_host_create", DevHostsChannelMessage, change, async conn =>
        {
            if (string.IsNullOrWhiteSpace(host.Hostname))
            {
                return ChangeResult<DevHost>.Invalid("hostname", "hostname is required.");
            }
            host = host with { Hostname = host.Hostname.Trim() };
            if (await HostStore.GetDevHostAsync(conn, host.Hostname, ct) is not null)
            {
                return new(ChangeStatus.Conflict);
            }
            await HostStore.InsertDevHostAsync(conn, host, ct);
            await ConfigAuditStore.WriteAsync(conn, change, "CREATE", "development_hosts", host.Hostname, null, host, ct);
            return new(ChangeStatus.Ok, host);
        }, ct);

    public Task<ChangeResult<DevHost>> DeleteDevHostAsync(string hostname, ChangeContext change, CancellationToken ct = default) =>
        WriteAsync("dev_host_delete", DevHostsChannelMessage, change, async conn =>
        {
            var old = await HostStore.GetDevHostAsync(conn, hostname, ct);
            if (old is null || !await HostStore.DeleteDevHostAsync(conn, hostname, ct))
            {
                return new ChangeResult<DevHost>(ChangeStatus.NotFound);
            }
            await ConfigAuditStore.WriteAsync(conn, change, "DELETE", "development_hosts", hostname, old, null, ct);
            return new(ChangeStatus.Ok, old);
        }, ct);

    public Task<ChangeResult<DeviceTeam>> AddTeamAsync(DeviceTeam team, ChangeContext change, CancellationToken ct = default) =>
        WriteAsync("team_create", TeamsChannelMessage, change, async conn =>
        {
            if (Validate(team) is { } invalid)
            {
                return invalid;
            }
            team = team with { Hostname = team.Hostname.Trim() };
            if (await HostStore.GetTeamAsync(conn, team.Hostname, ct) is not null)
            {
                return new(ChangeStatus.Conflict);
            }
            await HostStore.InsertTeamAsync(conn, team, ct);
            await ConfigAuditStore.WriteAsync(conn, change, "CREATE", "device_teams", team.Hostname, null, team, ct);
            return new(ChangeStatus.Ok, team);
        }, ct);

    public Task<ChangeResult<DeviceTeam>> UpdateTeamAsync(DeviceTeam team, ChangeContext change, CancellationToken ct = default) =>
        WriteAsync("team_update", TeamsChannelMessage, change, async conn =>
        {
            if (Validate(team) is { } invalid)
            {
                return invalid;
            }
            var old = await HostStore.GetTeamAsync(conn, team.Hostname, ct);
            if (old is null)
            {
                return new(ChangeStatus.NotFound);
            }
            await HostStore.UpdateTeamAsync(conn, team, ct);
            await ConfigAuditStore.WriteAsync(conn, change, "UPDATE", "device_teams", team.Hostname, old, team, ct);
            return new(ChangeStatus.Ok, team);
        }, ct);

    public Task<ChangeResult<DeviceTeam>> DeleteTeamAsync(string hostname, ChangeContext change, CancellationToken ct = default) =>
        WriteAsync("team_delete", TeamsChannelMessage, change, async conn =>
        {
            var old = await HostStore.GetTeamAsync(conn, hostname, ct);
            if (old is null || !await HostStore.DeleteTeamAsync(conn, hostname, ct))
            {
                return new ChangeResult<DeviceTeam>(ChangeStatus.NotFound);
            }
            await ConfigAuditStore.WriteAsync(conn, change, "DELETE", "device_teams", hostname, old, null, ct);
            return new(ChangeStatus.Ok, old);
        }, ct);

    public async Task<IReadOnlyList<ConfigEntry>> GetConfigAsync()
    {
        var db = redis.GetDatabase();
        var values = await db.StringGetAsync(DynamicConfigKeys.All.Select(k => (RedisKey)MuttKeys.Config(k.Name)).ToArray());
        return DynamicConfigKeys.All.Select((k, i) => new ConfigEntry(k.Name, k.Type, values[i].IsNull ? k.Default : (string?)values[i], k.Default,
            !values[i].IsNull, k.Purpose, k.Min, k.Max, k.Allowed)).ToList();
    }

    /// <summary>Sets a spec 004 dynamic config key through DynamicConfig.SetAsync (which publishes the key name).</summary>
    public async Task<ChangeResult<ConfigEntry>> SetConfigAsync(string key, string? value, ChangeContext change, CancellationToken ct = default)
    {
        if (!MuttRoles.Satisfies(change.Role, MuttRoles.Operator))
        {
            return new(ChangeStatus.Forbidden);
        }
        var definition = DynamicConfigKeys.Find(key);
        if (definition is null)
        {
            return new(ChangeStatus.NotFound);
        }
        value = value?.Trim();
        if (definition.Validate(value) is { } error)
        {
            return ChangeResult<ConfigEntry>.Invalid("value", error);
        }
        var old = (string?)await redis.GetDatabase().StringGetAsync(MuttKeys.Config(key));
        await config.SetAsync(key, value!);
        await using (var conn = await db.OpenConnectionAsync(ct))
        {
            await ConfigAuditStore.WriteAsync(conn, change, old is null ? "CREATE" : "UPDATE", DynamicConfigTable, key,
                old is null ? null : new Dictionary<string, string> { ["value"] = old }, new Dictionary<string, string> { ["value"] = value! }, ct);
        }
        logger.LogInformation("Dynamic config {Key} set by {ChangedBy}", key, change.ChangedBy);
        return new(ChangeStatus.Ok, (await GetConfigAsync()).First(e => e.Key == key));
    }

    private static ChangeResult<DeviceTeam>? Validate(DeviceTeam team)
    {
        var errors = new Dictionary<string, string[]>();
        if (string.IsNullOrWhiteSpace(team.Hostname))
        {
            errors["hostname"] = ["hostname is required."];
        }
        if (string.IsNullOrWhiteSpace(team.TeamAssignment))
        {
            errors["team_assignment"] = ["team_assignment is required."];
        }
        return errors.Count > 0 ? new(ChangeStatus.Invalid, Errors: errors) : null;
    }

    private static string Id(int id) => id.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Rules, hosts, teams and webhook mappings are changed by operators and admins (their write and config_audit_log row in one transaction); the Alerters reload on the channel message.</summary>
    public Task<ChangeResult<T>> WriteAsync<T>(string operation, string channelMessage, ChangeContext change, Func<NpgsqlConnection, Task<ChangeResult<T>>> work, CancellationToken ct) =>
        transactions.RunAsync(operation, MuttRoles.Operator, change, MuttKeys.ConfigUpdatesChannel, channelMessage, work, ct);
}

public sealed record ConfigEntry(
    [property: System.Text.Json.Serialization.JsonPropertyName("key")] string Key,
    [property: System.Text.Json.Serialization.JsonPropertyName("type")] string Type,
    [property: System.Text.Json.Serialization.JsonPropertyName("value")] string? Value,
    [property: System.Text.Json.Serialization.JsonPropertyName("default")] string Default,
    [property: System.Text.Json.Serialization.JsonPropertyName("is_set")] bool IsSet,
    [property: System.Text.Json.Serialization.JsonPropertyName("purpose")] string Purpose,
    [property: System.Text.Json.Serialization.JsonPropertyName("min")] double? Min,
    [property: System.Text.Json.Serialization.JsonPropertyName("max")] double? Max,
    [property: System.Text.Json.Serialization.JsonPropertyName("allowed")] IReadOnlyList<string>? Allowed);
