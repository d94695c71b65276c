using System.Text.RegularExpressions;
using Mutt.Core.Auth;
using Mutt.Core.Redis;
using Mutt.Dashboard.Auth;
using Mutt.Dashboard.Data;
using Npgsql;

namespace Mutt.Dashboard.Services;

/// <summary>A key as created: the secret is in this object only, shown once and never stored.</summary>
public sealed record CreatedApiKey(
    [property: System.Text.Json.Serialization.JsonPropertyName("key")] ApiKeyInfo Key,
    [property: System.Text.Json.Serialization.JsonPropertyName("secret")] string Secret);

/// <summary>
/// Operator accounts and named API keys, changed by admins only (issue 17). Each change and its
/// config_audit_log row commit together; password hashes and key secrets never enter the audit row
/// or a log line. Key changes are announced on mutt:auth:updates, so the Ingestors and Dashboards
/// reload their key rings at once (and within API_KEY_REFRESH_SECONDS if a message is missed).
/// </summary>
public sealed partial class AccountService(AuditedTransactions transactions, OperatorDirectory directory)
{
    public const string OperatorsTable = "operators";
    public const string ApiKeysTable = "api_keys";

    public Task<ChangeResult<OperatorAccount>> CreateOperatorAsync(string? username, string? password, string? role, ChangeContext change, CancellationToken ct = default) =>
        RunAsync("operator_create", OperatorsTable, change, async conn =>
        {
            var errors = new Dictionary<string, string[]>();
            if (string.IsNullOrWhiteSpace(username) || !UsernamePattern().IsMatch(username))
            {
                errors["username"] = ["username is required: 1-64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit."];
            }
            if (!MuttRoles.IsOperatorRole(role))
            {
                errors["role"] = [$"role must be one of {string.Join(", ", MuttRoles.OperatorRoles)}."];
            }
            if (OperatorPasswords.Validate(password) is { } passwordError)
            {
                errors["password"] = [passwordError];
            }
            if (errors.Count > 0)
            {
                return new ChangeResult<OperatorAccount>(ChangeStatus.Invalid, Errors: errors);
            }
            if (await OperatorStore.GetAsync(conn, username!, ct) is not null)
            {
                return new(ChangeStatus.Conflict);
            }
            var account = await OperatorStore.InsertAsync(conn, username!, OperatorPasswords.Hash(password!), role!, ct);
            await ConfigAuditStore.WriteAsync(conn, change, "CREATE", OperatorsTable, account.Username, null, AuditView(account), ct);
            return new(ChangeStatus.Ok, account);
        }, ct);

    /// <summary>Changes what is given: role, active flag, password (null = unchanged). The last active admin cannot be demoted or deactivated.</summary>
    public Task<ChangeResult<OperatorAccount>> UpdateOperatorAsync(string username, string? role, bool? isActive, string? password, ChangeContext change, CancellationToken ct = default) =>
        RunAsync("operator_update", OperatorsTable, change, async conn =>
        {
            if (role is not null && !MuttRoles.IsOperatorRole(role))
            {
                return ChangeResult<OperatorAccount>.Invalid("role", $"role must be one of {string.Join(", ", MuttRoles.OperatorRoles)}.");
            }
            if (password is not null && OperatorPasswords.Validate(password) is { } passwordError)
            {
                return ChangeResult<OperatorAccount>.Invalid("password", passwordError);
            }
            var old = await OperatorStore.GetAsync(conn, username, ct);
            if (old is null)
            {
                return new(ChangeStatus.NotFound);
            }
            var updated = await OperatorStore.UpdateAsync(conn, username, role, isActive, password is null ? null : OperatorPasswords.Hash(password), ct);
            if (old is { Role: MuttRoles.Admin, IsActive: true } && await OperatorStore.CountActiveAdminsAsync(conn, ct) == 0)
            {
                return ChangeResult<OperatorAccount>.Invalid(role is not null ? "role" : "is_active", "this is the last active admin; make another admin first.");
            }
            var after = AuditView(updated!);
            if (password is not null)
            {
                after["password"] = "changed";
            }
            await ConfigAuditStore.WriteAsync(conn, change, "UPDATE", OperatorsTable, username, AuditView(old), after, ct);
            directory.Invalidate(username);
            return new(ChangeStatus.Ok, updated);
        }, ct);

    public Task<ChangeResult<CreatedApiKey>> CreateKeyAsync(string? name, string? role, ChangeContext change, CancellationToken ct = default) =>
        RunAsync("api_key_create", ApiKeysTable, change, async conn =>
        {
            var errors = new Dictionary<string, string[]>();
            if (string.IsNullOrWhiteSpace(name) || !KeyNamePattern().IsMatch(name))
            {
                errors["name"] = ["name is required: 1-63 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit (it labels metrics and audit rows)."];
            }
            if (!MuttRoles.IsKeyRole(role))
            {
                errors["role"] = [$"role must be one of {string.Join(", ", MuttRoles.KeyRoles)}."];
            }
            if (errors.Count > 0)
            {
                return new ChangeResult<CreatedApiKey>(ChangeStatus.Invalid, Errors: errors);
            }
            if (await ApiKeyStore.GetAsync(conn, name!, ct) is not null)
            {
                return new(ChangeStatus.Conflict);
            }
            var secret = ApiKeySecret.Generate();
            var key = await ApiKeyStore.InsertAsync(conn, name!, secret.Prefix, secret.Hash, role!, change.ChangedBy, ct);
            await ConfigAuditStore.WriteAsync(conn, change, "CREATE", ApiKeysTable, key.Name, null,
                new Dictionary<string, string> { ["name"] = key.Name, ["role"] = key.Role, ["prefix"] = key.Prefix }, ct);
            return new(ChangeStatus.Ok, new CreatedApiKey(key, secret.Secret));
        }, ct);

    public Task<ChangeResult<ApiKeyInfo>> RevokeKeyAsync(string name, ChangeContext change, CancellationToken ct = default) =>
        RunAsync("api_key_revoke", ApiKeysTable, change, async conn =>
        {
            var revoked = await ApiKeyStore.RevokeAsync(conn, name, change.ChangedBy, ct);
            if (revoked is null)
            {
                return new ChangeResult<ApiKeyInfo>(ChangeStatus.NotFound);
            }
            await ConfigAuditStore.WriteAsync(conn, change, "REVOKE", ApiKeysTable, name,
                new Dictionary<string, string> { ["name"] = name, ["role"] = revoked.Role, ["prefix"] = revoked.Prefix },
                new Dictionary<string, string?> { ["revoked_at"] = revoked.RevokedAt?.ToString("O"), ["revoked_by"] = revoked.RevokedBy }, ct);
            return new(ChangeStatus.Ok, revoked);
        }, ct);

    private Task<ChangeResult<T>> RunAsync<T>(string operation, string table, ChangeContext change, Func<NpgsqlConnection, Task<ChangeResult<T>>> work, CancellationToken ct) =>
        transactions.RunAsync(operation, MuttRoles.Admin, change, MuttKeys.AuthUpdatesChannel, table, work, ct);

    private static Dictionary<string, object?> AuditView(OperatorAccount a) =>
        new() { ["username"] = a.Username, ["role"] = a.Role, ["is_active"] = a.IsActive };

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")]
    private static partial Regex UsernamePattern();

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,62}$")]
    private static partial Regex KeyNamePattern();
}
