using System.Security.Cryptography;
using System.Text;
using Npgsql;

namespace Mutt.DbManager.Database;

/// <summary>
/// Applies the ordered SQL migrations embedded in Mutt.DbManager (Migrations/NNN_name.sql) exactly
/// once, recording each in <c>schema_migrations</c>. Several processes may start together (five
/// services, many replicas): a session-level advisory lock serialises them, so the second one
/// finds the work done and applies nothing.
/// </summary>
public static class MigrationRunner
{
    // An arbitrary constant that names "MUTT schema migrations" among advisory locks.
    private const long AdvisoryLockKey = 0x4D555454_5343484D;

    public sealed record Migration(int Version, string Name, string Sql)
    {
        public string Checksum => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(Sql)));
    }

    public static IReadOnlyList<Migration> All { get; } = LoadEmbedded();

    /// <summary>Applies pending migrations; returns the versions applied by this call.</summary>
    public static async Task<IReadOnlyList<int>> ApplyAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, "SELECT pg_advisory_lock(@key)", cancellationToken, ("key", AdvisoryLockKey)).ConfigureAwait(false);
        try
        {
            await ExecuteAsync(connection, """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version    integer PRIMARY KEY,
                    name       text NOT NULL,
                    checksum   text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now())
                """, cancellationToken).ConfigureAwait(false);

            var applied = new Dictionary<int, string>();
            await using (var command = new NpgsqlCommand("SELECT version, checksum FROM schema_migrations", connection))
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    applied[reader.GetInt32(0)] = reader.GetString(1);
                }
            }

            var newlyApplied = new List<int>();
            foreach (var migration in All)
            {
                if (applied.TryGetValue(migration.Version, out var checksum))
                {
                    if (checksum != migration.Checksum)
                    {
                        throw new InvalidOperationException(
                            $"Migration {migration.Version} ({migration.Name}) was changed after it was applied; add a new migration instead.");
                    }
                    continue;
                }

                await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
                await using (var command = new NpgsqlCommand(migration.Sql, connection, transaction))
                {
                    await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }
                await using (var record = new NpgsqlCommand(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES (@version, @name, @checksum)", connection, transaction))
                {
                    record.Parameters.AddWithValue("version", migration.Version);
                    record.Parameters.AddWithValue("name", migration.Name);
                    record.Parameters.AddWithValue("checksum", migration.Checksum);
                    await record.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                newlyApplied.Add(migration.Version);
            }
            return newlyApplied;
        }
        finally
        {
            await ExecuteAsync(connection, "SELECT pg_advisory_unlock(@key)", CancellationToken.None, ("key", AdvisoryLockKey)).ConfigureAwait(false);
        }
    }

    /// <summary>Loads the sample rules, dev hosts and teams of spec 002 (idempotent). For local runs and tests only.</summary>
    public static async Task SeedAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, ReadResource("SeedData.sql"), cancellationToken).ConfigureAwait(false);
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken, params (string Name, object Value)[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static List<Migration> LoadEmbedded()
    {
        var assembly = typeof(MigrationRunner).Assembly;
        return assembly.GetManifestResourceNames()
            .Where(n => n.Contains(".Migrations.", StringComparison.Ordinal) && n.EndsWith(".sql", StringComparison.Ordinal))
            .Select(n =>
            {
                // Resource names look like Mutt.DbManager.Migrations._001_initial_schema.sql
                var file = n[(n.IndexOf(".Migrations.", StringComparison.Ordinal) + ".Migrations.".Length)..^4].TrimStart('_');
                var separator = file.IndexOf('_');
                return new Migration(int.Parse(file[..separator], System.Globalization.CultureInfo.InvariantCulture), file[(separator + 1)..], ReadResource(n, exact: true));
            })
            .OrderBy(m => m.Version)
            .ToList();
    }

    private static string ReadResource(string name, bool exact = false)
    {
        var assembly = typeof(MigrationRunner).Assembly;
        var resource = exact ? name : assembly.GetManifestResourceNames().Single(n => n.EndsWith("." + name, StringComparison.Ordinal));
        using var stream = assembly.GetManifestResourceStream(resource)!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
