using Microsoft.Extensions.Logging;
using Npgsql;

namespace Mutt.DbManager.Database;

/// <summary>What <see cref="ServiceRole.EnsureAsync"/> did to the role.</summary>
public enum ServiceRoleChange
{
    Created,
    Updated,
}

/// <summary>
/// The least-privilege login every MUTT service connects as (DB_USER): created or updated with
/// the DB_PASS_CURRENT password, its privileges brought to exactly <see cref="ServiceGrants"/>,
/// and the result checked (not a superuser, owns nothing, cannot create in public, cannot act as
/// the admin role). Privileges are granted to the role itself, never through a group role, so
/// they hold whether the role inherits or not (it is created NOINHERIT).
/// </summary>
public static class ServiceRole
{
    // Serialises concurrent DbManagers: two GRANTs on one object at once fail with "tuple concurrently updated".
    private const long AdvisoryLockKey = 0x4D555454_524F4C45; // "MUTTROLE"

    /// <summary>PostgreSQL names are at most 63 bytes; longer ones are cut silently, which would create another role.</summary>
    public const int MaxNameBytes = 63;

    public static async Task<ServiceRoleChange> EnsureAsync(NpgsqlDataSource admin, string role, string password, ILogger logger, CancellationToken cancellationToken)
    {
        await using var connection = await admin.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var sql = new Session(connection, transaction, cancellationToken);
        await sql.ExecuteAsync("taking the role lock", "SELECT pg_advisory_xact_lock($1)", AdvisoryLockKey).ConfigureAwait(false);

        var adminRole = await sql.ScalarAsync<string>("SELECT current_user").ConfigureAwait(false);
        if (string.Equals(adminRole, role, StringComparison.Ordinal))
        {
            throw DbManagerFailure.ServiceUserIsAdmin(role);
        }
        var r = await sql.ScalarAsync<string>("SELECT quote_ident($1)", role).ConfigureAwait(false);
        var db = await sql.ScalarAsync<string>("SELECT quote_ident(current_database())").ConfigureAwait(false);
        // The role gets a SCRAM verifier made here (an ASCII password) or the password for the server
        // to hash; either way quoted by the server, so any character is safe.
        var secret = await sql.ScalarAsync<string>("SELECT quote_literal($1)",
            ScramSha256.CanHashLocally(password) ? ScramSha256.Verifier(password) : password).ConfigureAwait(false);

        // null: no such role; else the attributes it has that it must not have. Only those are
        // named in ALTER ROLE: a non-superuser admin may not even mention SUPERUSER.
        var wrong = await sql.ReadAsync("""
            SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls FROM pg_roles WHERE rolname = $1
            """, reader => new[] { "NOSUPERUSER", "NOCREATEDB", "NOCREATEROLE", "NOREPLICATION", "NOBYPASSRLS" }.Where((_, i) => reader.GetBoolean(i)).ToArray(),
            role).ConfigureAwait(false);
        ServiceRoleChange change;
        if (wrong is null)
        {
            await sql.ExecuteAsync($"creating role {role}",
                $"CREATE ROLE {r} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT PASSWORD {secret}").ConfigureAwait(false);
            change = ServiceRoleChange.Created;
        }
        else
        {
            if (wrong.Length > 0)
            {
                logger.LogWarning("Role {Role} had {Attributes}; removing them", role, string.Join(" ", wrong.Select(a => a[2..])));
                await sql.ExecuteAsync($"removing {string.Join(" ", wrong.Select(a => a[2..]))} from role {role}", $"ALTER ROLE {r} {string.Join(" ", wrong)}").ConfigureAwait(false);
            }
            await sql.ExecuteAsync($"setting the password of role {role}", $"ALTER ROLE {r} LOGIN PASSWORD {secret}").ConfigureAwait(false);
            change = ServiceRoleChange.Updated;
        }

        await GrantAsync(sql, role, r, db).ConfigureAwait(false);
        await VerifyAsync(sql, role, adminRole).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return change;
    }

    /// <summary>Brings the role's privileges to exactly the intended set: revoke, then grant, in the transaction (others see only the result).</summary>
    private static async Task GrantAsync(Session sql, string role, string r, string db)
    {
        await sql.ExecuteAsync($"granting CONNECT, TEMPORARY on database {db} to {role}",
            $"GRANT CONNECT, TEMPORARY ON DATABASE {db} TO {r}").ConfigureAwait(false);

        // Before PostgreSQL 15 every role may create objects in public; nobody but the owner should.
        if (await sql.ScalarAsync<bool>("SELECT has_schema_privilege('public', 'public', 'CREATE')").ConfigureAwait(false))
        {
            await sql.ExecuteAsync("revoking CREATE on schema public from PUBLIC", "REVOKE CREATE ON SCHEMA public FROM PUBLIC").ConfigureAwait(false);
        }
        await sql.ExecuteAsync($"granting USAGE on schema public to {role}",
            $"REVOKE ALL ON SCHEMA public FROM {r}; GRANT USAGE ON SCHEMA public TO {r}").ConfigureAwait(false);

        await sql.ExecuteAsync($"revoking table privileges from {role}", $"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {r}").ConfigureAwait(false);
        var tables = new List<(string Table, string Root)>();
        await using (var list = new NpgsqlCommand("""
            SELECT format('public.%I', c.relname), coalesce(root.relname, c.relname)
            FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace
            LEFT JOIN pg_class root ON root.oid = pg_partition_root(c.oid)
            WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
            ORDER BY 1
            """, sql.Connection, sql.Transaction))
        await using (var reader = await list.ExecuteReaderAsync(sql.CancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(sql.CancellationToken).ConfigureAwait(false))
            {
                tables.Add((reader.GetString(0), reader.GetString(1)));
            }
        }
        foreach (var group in tables.GroupBy(t => ServiceGrants.TablePrivileges(t.Root)))
        {
            await sql.ExecuteAsync($"granting {group.Key} on {group.Count()} tables to {role}",
                $"GRANT {group.Key} ON TABLE {string.Join(", ", group.Select(t => t.Table))} TO {r}").ConfigureAwait(false);
        }

        // nextval() for serial/identity columns; no UPDATE (setval) — no service resets a sequence.
        await sql.ExecuteAsync($"granting USAGE, SELECT on sequences to {role}",
            $"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {r}; GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {r}").ConfigureAwait(false);
        await sql.ExecuteAsync($"granting EXECUTE on functions to {role}",
            $"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO {r}").ConfigureAwait(false);

        // Objects the admin role creates later (next month's audit partition above all).
        await sql.ExecuteAsync($"setting default privileges for {role}", $"""
            ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
            ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM {r};
            ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT {ServiceGrants.DefaultTablePrivileges} ON TABLES TO {r};
            ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON SEQUENCES FROM {r};
            ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {r};
            ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT EXECUTE ON FUNCTIONS TO {r}
            """).ConfigureAwait(false);
    }

    /// <summary>The post-conditions, checked before the commit: a role that fails them is rolled back and reported.</summary>
    private static async Task VerifyAsync(Session sql, string role, string adminRole)
    {
        var problems = new List<string>();
        await using (var check = new NpgsqlCommand("""
            SELECT r.rolsuper OR r.rolcreatedb OR r.rolcreaterole OR r.rolreplication OR r.rolbypassrls,
                   pg_has_role(r.oid, (SELECT oid FROM pg_roles WHERE rolname = $2), 'MEMBER'),
                   has_schema_privilege(r.oid, 'public', 'CREATE'),
                   (SELECT string_agg(c.relname, ', ' ORDER BY c.relname) FROM pg_class c
                    WHERE c.relowner = r.oid AND c.relnamespace = 'public'::regnamespace),
                   (SELECT string_agg(p.proname, ', ' ORDER BY p.proname) FROM pg_proc p
                    WHERE p.proowner = r.oid AND p.pronamespace = 'public'::regnamespace),
                   (SELECT string_agg(n.nspname, ', ' ORDER BY n.nspname) FROM pg_namespace n WHERE n.nspowner = r.oid)
            FROM pg_roles r WHERE r.rolname = $1
            """, sql.Connection, sql.Transaction) { Parameters = { new() { Value = role }, new() { Value = adminRole } } })
        await using (var reader = await check.ExecuteReaderAsync(sql.CancellationToken).ConfigureAwait(false))
        {
            if (!await reader.ReadAsync(sql.CancellationToken).ConfigureAwait(false))
            {
                throw new DbManagerFailure(DbManagerExitCode.Failed, $"role {role} is missing after it was created");
            }
            if (reader.GetBoolean(0))
            {
                problems.Add("it still has SUPERUSER, CREATEDB, CREATEROLE, REPLICATION or BYPASSRLS");
            }
            if (reader.GetBoolean(1))
            {
                problems.Add($"it is a member of the admin role {adminRole} (REVOKE {adminRole} FROM {role})");
            }
            if (reader.GetBoolean(2))
            {
                problems.Add("it may create objects in schema public");
            }
            for (var i = 3; i <= 5; i++)
            {
                if (!reader.IsDBNull(i))
                {
                    problems.Add($"it owns {reader.GetString(i)} (REASSIGN OWNED BY {role} TO {adminRole})");
                }
            }
        }
        if (problems.Count > 0)
        {
            throw new DbManagerFailure(DbManagerExitCode.Failed, $"role {role} is not least-privilege: {string.Join("; ", problems)}");
        }
    }

    /// <summary>Statements on one connection and transaction; a failure names the step it was in.</summary>
    private sealed record Session(NpgsqlConnection Connection, NpgsqlTransaction Transaction, CancellationToken CancellationToken)
    {
        public async Task ExecuteAsync(string step, string sql, params object[] parameters)
        {
            await using var command = new NpgsqlCommand(sql, Connection, Transaction);
            foreach (var parameter in parameters)
            {
                command.Parameters.Add(new NpgsqlParameter { Value = parameter });
            }
            try
            {
                await command.ExecuteNonQueryAsync(CancellationToken).ConfigureAwait(false);
            }
            catch (PostgresException ex)
            {
                throw new DbManagerFailure(DbManagerExitCode.Failed, $"{step}: {PostgresErrors.Describe(ex)}", ex);
            }
        }

        /// <summary>The first row mapped, or null when there is none.</summary>
        public async Task<T?> ReadAsync<T>(string sql, Func<NpgsqlDataReader, T> map, params object[] parameters) where T : class
        {
            await using var command = new NpgsqlCommand(sql, Connection, Transaction);
            foreach (var parameter in parameters)
            {
                command.Parameters.Add(new NpgsqlParameter { Value = parameter });
            }
            await using var reader = await command.ExecuteReaderAsync(CancellationToken).ConfigureAwait(false);
            return await reader.ReadAsync(CancellationToken).ConfigureAwait(false) ? map(reader) : null;
        }

        public async Task<T> ScalarAsync<T>(string sql, params object[] parameters)
        {
            await using var command = new NpgsqlCommand(sql, Connection, Transaction);
            foreach (var parameter in parameters)
            {
                command.Parameters.Add(new NpgsqlParameter { Value = parameter });
            }
            return (T)(await command.ExecuteScalarAsync(CancellationToken).ConfigureAwait(false))!;
        }
    }
}
