using System.Text.Json.Serialization;
using Npgsql;
using Mutt.Core.Data;

namespace Mutt.Dashboard.Data;

public sealed record OperatorAccount(
    [property: JsonPropertyName("id")] int Id,
    [property: JsonPropertyName("username")] string Username,
    [property: JsonPropertyName("role")] string Role,
    [property: JsonPropertyName("is_active")] bool IsActive,
    [property: JsonPropertyName("has_password")] bool HasPassword,
    [property: JsonPropertyName("created_at")] DateTimeOffset CreatedAt,
    [property: JsonPropertyName("last_sign_in_at")] DateTimeOffset? LastSignInAt);

public sealed record ApiKeyInfo(
    [property: JsonPropertyName("id")] int Id,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("prefix")] string Prefix,
    [property: JsonPropertyName("role")] string Role,
    [property: JsonPropertyName("created_by")] string CreatedBy,
    [property: JsonPropertyName("created_at")] DateTimeOffset CreatedAt,
    [property: JsonPropertyName("last_used_at")] DateTimeOffset? LastUsedAt,
    [property: JsonPropertyName("revoked_at")] DateTimeOffset? RevokedAt,
    [property: JsonPropertyName("revoked_by")] string? RevokedBy)
{
    [JsonPropertyName("is_active")] public bool IsActive => RevokedAt is null;
}

/// <summary>operators (issue 17): accounts, their role and their password hash (which never leaves this class but for verification).</summary>
public sealed class OperatorStore(NpgsqlDataSource db)
{
    private const string Columns = "id, username, role, is_active, password_hash IS NOT NULL, created_at, last_sign_in_at";

    public async Task<List<OperatorAccount>> ListAsync(CancellationToken ct = default)
    {
        await using var cmd = db.CreateCommand($"SELECT {Columns} FROM operators ORDER BY username");
        return await cmd.ReadAllAsync(Read, ct);
    }

    public async Task<OperatorAccount?> GetAsync(string username, CancellationToken ct = default)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        return await GetAsync(conn, username, ct);
    }

    public static async Task<OperatorAccount?> GetAsync(NpgsqlConnection conn, string username, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand($"SELECT {Columns} FROM operators WHERE username = $1", conn) { Parameters = { new() { Value = username } } };
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? Read(reader) : null;
    }

    /// <summary>The account and its password hash, for sign-in only.</summary>
    public async Task<(OperatorAccount Account, string? PasswordHash)?> GetCredentialsAsync(string username, CancellationToken ct = default)
    {
        await using var cmd = db.CreateCommand($"SELECT {Columns}, password_hash FROM operators WHERE username = $1");
        cmd.Parameters.Add(new() { Value = username });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? (Read(reader), reader.IsDBNull(7) ? null : reader.GetString(7)) : null;
    }

    public static async Task<OperatorAccount> InsertAsync(NpgsqlConnection conn, string username, string? passwordHash, string role, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand($"INSERT INTO operators (username, password_hash, role) VALUES ($1, $2, $3) RETURNING {Columns}", conn)
        {
            Parameters = { new() { Value = username }, new() { Value = (object?)passwordHash ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text }, new() { Value = role } },
        };
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        return Read(reader);
    }

    /// <summary>Sets what is given (null = unchanged).</summary>
    public static async Task<OperatorAccount?> UpdateAsync(NpgsqlConnection conn, string username, string? role, bool? isActive, string? passwordHash, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(
            "UPDATE operators SET role = COALESCE($2, role), is_active = COALESCE($3, is_active), password_hash = COALESCE($4, password_hash), updated_at = now() " +
            $"WHERE username = $1 RETURNING {Columns}", conn)
        {
            Parameters =
            {
                new() { Value = username },
                new() { Value = (object?)role ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text },
                new() { Value = (object?)isActive ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Boolean },
                new() { Value = (object?)passwordHash ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text },
            },
        };
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? Read(reader) : null;
    }

    public static async Task<int> CountActiveAdminsAsync(NpgsqlConnection conn, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("SELECT count(*) FROM operators WHERE role = 'admin' AND is_active", conn);
        return (int)(long)(await cmd.ExecuteScalarAsync(ct))!;
    }

    public async Task RecordSignInAsync(string username, string? newPasswordHash, CancellationToken ct = default)
    {
        await using var cmd = db.CreateCommand("UPDATE operators SET last_sign_in_at = now(), password_hash = COALESCE($2, password_hash) WHERE username = $1");
        cmd.Parameters.Add(new() { Value = username });
        cmd.Parameters.Add(new() { Value = (object?)newPasswordHash ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        await cmd.ExecuteNonQueryAsync(ct);
    }

    private static OperatorAccount Read(NpgsqlDataReader r) => new(r.GetInt32(0), r.GetString(1), r.GetString(2), r.GetBoolean(3), r.GetBoolean(4),
        r.GetFieldValue<DateTimeOffset>(5), r.IsDBNull(6) ? null : r.GetFieldValue<DateTimeOffset>(6));
}

/// <summary>api_keys (issue 17): named keys, stored as SHA-256 only; revoked, never deleted.</summary>
public sealed class ApiKeyStore(NpgsqlDataSource db)
{
    private const string Columns = "id, name, key_prefix, role, created_by, created_at, last_used_at, revoked_at, revoked_by";

    public async Task<List<ApiKeyInfo>> ListAsync(CancellationToken ct = default)
    {
        await using var cmd = db.CreateCommand($"SELECT {Columns} FROM api_keys ORDER BY revoked_at IS NOT NULL, name");
        return await cmd.ReadAllAsync(Read, ct);
    }

    public static async Task<ApiKeyInfo?> GetAsync(NpgsqlConnection conn, string name, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand($"SELECT {Columns} FROM api_keys WHERE name = $1", conn) { Parameters = { new() { Value = name } } };
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? Read(reader) : null;
    }

    public static async Task<ApiKeyInfo> InsertAsync(NpgsqlConnection conn, string name, string prefix, byte[] hash, string role, string createdBy, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(
            $"INSERT INTO api_keys (name, key_prefix, key_hash, role, created_by) VALUES ($1, $2, $3, $4, $5) RETURNING {Columns}", conn)
        {
            Parameters = { new() { Value = name }, new() { Value = prefix }, new() { Value = hash }, new() { Value = role }, new() { Value = createdBy } },
        };
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        return Read(reader);
    }

    public static async Task<ApiKeyInfo?> RevokeAsync(NpgsqlConnection conn, string name, string revokedBy, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(
            $"UPDATE api_keys SET revoked_at = now(), revoked_by = $2 WHERE name = $1 AND revoked_at IS NULL RETURNING {Columns}", conn)
        {
            Parameters = { new() { Value = name }, new() { Value = revokedBy } },
        };
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? Read(reader) : null;
    }

    private static ApiKeyInfo Read(NpgsqlDataReader r) => new(r.GetInt32(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4),
        r.GetFieldValue<DateTimeOffset>(5), r.IsDBNull(6) ? null : r.GetFieldValue<DateTimeOffset>(6),
        r.IsDBNull(7) ? null : r.GetFieldValue<DateTimeOffset>(7), r.IsDBNull(8) ? null : r.GetString(8));
}
