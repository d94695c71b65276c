using Microsoft.Extensions.Logging;
using Mutt.Core.Auth;
using Npgsql;

namespace Mutt.DbManager.Database;

/// <summary>
/// The first admin (issue 17): with BOOTSTRAP_ADMIN_USER and BOOTSTRAP_ADMIN_PASSWORD (a secret:
/// Vault, else the variable) the DbManager creates that operator account with role admin, unless
/// an account of that name exists already, which is left exactly as it is (a re-run never resets
/// a password an admin has since changed). The creation is audited in config_audit_log under the
/// account's own name. Without the two variables nothing happens; the other bootstrap is the
/// legacy WEBUI_API_KEY, which acts as an admin on POST /api/v2/users.
/// </summary>
public static class BootstrapAdmin
{
    public static async Task<bool> EnsureAsync(NpgsqlDataSource admin, string username, string password, ILogger logger, CancellationToken ct)
    {
        await using var conn = await admin.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var tx = await conn.BeginTransactionAsync(ct).ConfigureAwait(false);
        await using var insert = new NpgsqlCommand(
            "INSERT INTO operators (username, password_hash, role) VALUES ($1, $2, 'admin') ON CONFLICT (username) DO NOTHING RETURNING id", conn, tx)
        {
            Parameters = { new() { Value = username }, new() { Value = OperatorPasswords.Hash(password) } },
        };
        if (await insert.ExecuteScalarAsync(ct).ConfigureAwait(false) is null)
        {
            logger.LogInformation("Bootstrap admin {Username} exists already; left unchanged", username);
            return false;
        }
        await using var audit = new NpgsqlCommand(
            "INSERT INTO config_audit_log (changed_by, operation, table_name, record_id, new_values, reason) " +
            "VALUES ($1, 'CREATE', 'operators', $1, jsonb_build_object('username', $1, 'role', 'admin', 'is_active', true), 'bootstrap by Mutt.DbManager (BOOTSTRAP_ADMIN_USER)')", conn, tx)
        {
            Parameters = { new() { Value = username } },
        };
        await audit.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        await tx.CommitAsync(ct).ConfigureAwait(false);
        logger.LogInformation("Bootstrap admin {Username} created (role admin)", username);
        return true;
    }

    /// <summary>Null when the pair is complete and valid (or absent); else what is wrong, naming the variable.</summary>
    public static string? Validate(string? username, string? password)
    {
        if (string.IsNullOrWhiteSpace(username) && string.IsNullOrEmpty(password))
        {
            return null;
        }
        if (string.IsNullOrWhiteSpace(username) || !System.Text.RegularExpressions.Regex.IsMatch(username, "^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$"))
        {
            return "BOOTSTRAP_ADMIN_USER must be 1-64 letters, digits, '.', '_', '@' or '-' when BOOTSTRAP_ADMIN_PASSWORD is set";
        }
        return OperatorPasswords.Validate(password) is { } error ? "BOOTSTRAP_ADMIN_PASSWORD: " + error : null;
    }
}
