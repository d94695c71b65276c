using System.Net;
using Mutt.Core.Auth;
using Mutt.Dashboard.Data;
using Mutt.Dashboard.Services;
using Npgsql;

namespace Mutt.Dashboard.Auth;

/// <summary>
/// Sign-in with user name and password (framework PasswordHasher), and the audit rows of sign-in,
/// sign-out and failed sign-in. A failed sign-in costs the same whether or not the account exists
/// (a dummy hash is verified), and its audit row names the account only if it exists: a password
/// typed into the user field must not end up in the audit trail.
/// </summary>
public sealed class SignInService(OperatorStore store, NpgsqlDataSource db, ILogger<SignInService> logger)
{
    public const string PasswordMethod = "password";
    public const string OidcMethod = "oidc";
    /// <summary>changed_by of a failed sign-in for a user name that is no account.</summary>
    public const string UnknownUser = "(unknown user)";

    private static readonly string DummyHash = OperatorPasswords.Hash(Guid.NewGuid().ToString());

    public async Task<OperatorAccount?> VerifyAsync(string? username, string? password, CancellationToken ct = default)
    {
        if (string.IsNullOrWhiteSpace(username) || string.IsNullOrEmpty(password) || username.Length > 64 || password.Length > 1024)
        {
            OperatorPasswords.Verify(DummyHash, password ?? "", out _);
            return null;
        }
        var credentials = await store.GetCredentialsAsync(username.Trim(), ct);
        var ok = OperatorPasswords.Verify(credentials?.PasswordHash ?? DummyHash, password, out var rehash) && credentials is { Account.IsActive: true };
        if (!ok)
        {
            return null;
        }
        var account = credentials!.Value.Account;
        await store.RecordSignInAsync(account.Username, rehash ? OperatorPasswords.Hash(password) : null, ct);
        return account;
    }

    /// <summary>An OpenID Connect user's operators row (no password), with the role the provider gives now; false if an admin deactivated it.</summary>
    public async Task<bool> UpsertOidcAccountAsync(string username, string role, CancellationToken ct = default)
    {
        await using var cmd = db.CreateCommand(
            "INSERT INTO operators (username, role) VALUES ($1, $2) ON CONFLICT (username) DO UPDATE SET role = excluded.role, last_sign_in_at = now(), updated_at = now() " +
            "WHERE operators.is_active RETURNING is_active");
        cmd.Parameters.Add(new() { Value = username });
        cmd.Parameters.Add(new() { Value = role });
        return await cmd.ExecuteScalarAsync(ct) is true;
    }

    public async Task<bool> IsAccountAsync(string? username, CancellationToken ct = default) =>
        !string.IsNullOrWhiteSpace(username) && username.Length <= 64 && await store.GetAsync(username.Trim(), ct) is not null;

    /// <summary>One config_audit_log row: SIGN_IN, SIGN_OUT or SIGN_IN_FAILED, with the client address and how.</summary>
    public async Task AuditAsync(string operation, string changedBy, string? account, IPAddress? address, string method, string? correlationId, CancellationToken ct = default)
    {
        try
        {
            await using var conn = await db.OpenConnectionAsync(ct);
            await ConfigAuditStore.WriteAsync(conn, new ChangeContext(changedBy, null, correlationId, null), operation, AccountService.OperatorsTable, account,
                null, new Dictionary<string, string?> { ["client_address"] = address?.ToString(), ["method"] = method }, ct);
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            // The sign-in itself is decided; its audit row is logged instead of lost silently.
            logger.LogError("Could not write the {Operation} audit row for {ChangedBy} from {Address}: {Error}", operation, changedBy, address, ex.GetType().Name);
        }
    }
}
