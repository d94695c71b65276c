using System.Text.Json.Serialization;
using Npgsql;
using Mutt.Core.Data;

namespace Mutt.Dashboard.Data;

public sealed record DevHost([property: JsonPropertyName("hostname")] string Hostname, [property: JsonPropertyName("reason")] string? Reason);

public sealed record DeviceTeam([property: JsonPropertyName("hostname")] string Hostname, [property: JsonPropertyName("team_assignment")] string TeamAssignment);

/// <summary>development_hosts and device_teams.</summary>
public sealed class HostStore(NpgsqlDataSource db)
{
    public async Task<List<DevHost>> ListDevHostsAsync(CancellationToken ct = default)
    {
        await using var cmd = db.CreateCommand("SELECT hostname, reason FROM development_hosts ORDER BY hostname");
        return await cmd.ReadAllAsync(r => new DevHost(r.GetString(0), r.IsDBNull(1) ? null : r.GetString(1)), ct);
    }

    public static async Task<DevHost?> GetDevHostAsync(NpgsqlConnection conn, string hostname, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("SELECT hostname, reason FROM development_hosts WHERE hostname = $1", conn) { Parameters = { new() { Value = hostname } } };
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? new DevHost(reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1)) : null;
    }

    public static async Task InsertDevHostAsync(NpgsqlConnection conn, DevHost host, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("INSERT INTO development_hosts (hostname, reason) VALUES ($1, $2)", conn)
        {
            Parameters = { new() { Value = host.Hostname }, new() { Value = (object?)host.Reason ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text } },
        };
        await cmd.ExecuteNonQueryAsync(ct);
    }

    public static async Task<bool> DeleteDevHostAsync(NpgsqlConnection conn, string hostname, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("DELETE FROM development_hosts WHERE hostname = $1", conn) { Parameters = { new() { Value = hostname } } };
        return await cmd.ExecuteNonQueryAsync(ct) == 1;
    }

    public async Task<List<DeviceTeam>> ListTeamsAsync(CancellationToken ct = default)
    {
        await using var cmd = db.CreateCommand("SELECT hostname, team_assignment FROM device_teams ORDER BY hostname");
        return await cmd.ReadAllAsync(r => new DeviceTeam(r.GetString(0), r.GetString(1)), ct);
    }

    public static async Task<DeviceTeam?> GetTeamAsync(NpgsqlConnection conn, string hostname, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("SELECT hostname, team_assignment FROM device_teams WHERE hostname = $1", conn) { Parameters = { new() { Value = hostname } } };
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? new DeviceTeam(reader.GetString(0), reader.GetString(1)) : null;
    }

    public static async Task InsertTeamAsync(NpgsqlConnection conn, DeviceTeam team, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("INSERT INTO device_teams (hostname, team_assignment) VALUES ($1, $2)", conn)
        {
            Parameters = { new() { Value = team.Hostname }, new() { Value = team.TeamAssignment } },
        };
        await cmd.ExecuteNonQueryAsync(ct);
    }

    public static async Task<bool> UpdateTeamAsync(NpgsqlConnection conn, DeviceTeam team, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("UPDATE device_teams SET team_assignment = $2, updated_at = now() WHERE hostname = $1", conn)
        {
            Parameters = { new() { Value = team.Hostname }, new() { Value = team.TeamAssignment } },
        };
        return await cmd.ExecuteNonQueryAsync(ct) == 1;
    }

    public static async Task<bool> DeleteTeamAsync(NpgsqlConnection conn, string hostname, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("DELETE FROM device_teams WHERE hostname = $1", conn) { Parameters = { new() { Value = hostname } } };
        return await cmd.ExecuteNonQueryAsync(ct) == 1;
    }
}
