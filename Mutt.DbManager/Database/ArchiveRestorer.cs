using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Mutt.Core.Audit;
using Npgsql;

namespace Mutt.DbManager.Database;

/// <summary>
/// <c>Mutt.DbManager restore FILE [--table NAME]</c>: loads an audit archive file (written by
/// Mutt.Remediation before it dropped the partition) into a new plain table, as the schema owner,
/// for investigation. The file is streamed (gunzip straight into COPY), and the load is kept only
/// if the file's SHA-256 and the table's row count equal its manifest's; otherwise nothing stays.
/// The services' role may read the table (SELECT), never change it.
/// </summary>
public sealed partial class ArchiveRestorer(IConfiguration configuration, IOptions<DbManagerOptions> options, ILoggerFactory loggerFactory, ILogger<ArchiveRestorer> logger)
{
    public const string TablePrefix = "restored_";

    public async Task<string> RunAsync(DbManagerCommand command, CancellationToken ct)
    {
        var file = command.File!;
        if (!File.Exists(file))
        {
            throw new DbManagerFailure(DbManagerExitCode.InvalidConfiguration, $"restore: no archive file {file}");
        }
        var manifestPath = AuditArchiveFormat.ManifestPath(file);
        if (!File.Exists(manifestPath))
        {
            throw new DbManagerFailure(DbManagerExitCode.InvalidConfiguration, $"restore: {manifestPath} is missing; without its manifest the file cannot be verified");
        }
        AuditArchiveManifest manifest;
        try
        {
            manifest = await AuditArchiveFormat.ReadManifestAsync(manifestPath, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or InvalidDataException)
        {
            throw new DbManagerFailure(DbManagerExitCode.InvalidConfiguration, $"restore: {manifestPath} is not an audit archive manifest: {ex.Message}");
        }
        var table = command.Table ?? TablePrefix + Path.GetFileName(file)[..^AuditArchiveFormat.DataExtension.Length];
        if (!TableName().IsMatch(table))
        {
            throw new DbManagerFailure(DbManagerExitCode.InvalidConfiguration,
                $"restore: table name '{table}' must be lower-case letters, digits and '_' (at most 63, starting with a letter or '_'); choose one with --table");
        }
        if (manifest.Columns.Count == 0 || manifest.Columns.Any(c => !TableName().IsMatch(c)))
        {
            throw new DbManagerFailure(DbManagerExitCode.InvalidConfiguration, $"restore: {manifestPath} lists no usable columns");
        }

        await using var admin = AdminDatabase.FromConfiguration(configuration, loggerFactory, options.Value.WaitSeconds);
        await admin.WaitUntilReadyAsync(TimeSpan.FromSeconds(options.Value.WaitSeconds), ct).ConfigureAwait(false);
        logger.LogInformation("Restoring {File} ({Rows} rows of {Partition}, exported {ExportedAt:o}) into {Table} on {Server}",
            file, manifest.Rows, manifest.Partition, manifest.ExportedAt, table, admin.Describe());
        try
        {
            return await LoadAsync(admin.DataSource, file, manifest, table, ct).ConfigureAwait(false);
        }
        catch (PostgresException ex)
        {
            throw new DbManagerFailure(DbManagerExitCode.Failed, $"restore of {file} into {table}: {PostgresErrors.Describe(ex)}", ex);
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException)
        {
            throw new DbManagerFailure(DbManagerExitCode.Failed, $"restore: reading {file} failed: {ex.Message}; nothing was kept", ex);
        }
    }

    private async Task<string> LoadAsync(NpgsqlDataSource db, string file, AuditArchiveManifest manifest, string table, CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
        async Task ExecuteAsync(string sql)
        {
            await using var command = new NpgsqlCommand(sql, connection, transaction);
            await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        await ExecuteAsync(AuditArchiveFormat.SessionSettings).ConfigureAwait(false);
        await using (var exists = new NpgsqlCommand("SELECT to_regclass(format('public.%I', $1::text)) IS NOT NULL", connection, transaction) { Parameters = { new() { Value = table } } })
        {
            if ((bool)(await exists.ExecuteScalarAsync(ct).ConfigureAwait(false))!)
            {
                throw new DbManagerFailure(DbManagerExitCode.InvalidConfiguration, $"restore: table {table} exists already; choose another with --table, or DROP TABLE {table} first");
            }
        }
        // A plain table shaped like today's audit table; the names were checked above (letters, digits, '_').
        await ExecuteAsync($"""
            CREATE TABLE public.{table} (LIKE public.event_audit_log INCLUDING DEFAULTS);
            COMMENT ON TABLE public.{table} IS 'MUTT audit archive {Path.GetFileName(file)} ({manifest.Partition}), restored for investigation';
            """).ConfigureAwait(false);

        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        await using (var stored = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous))
        {
            var hashing = new HashingStream(stored, sha, leaveOpen: true);
            using (var reader = new StreamReader(new GZipStream(hashing, CompressionMode.Decompress, leaveOpen: true), Encoding.UTF8, false, 1 << 16))
            {
                var header = await reader.ReadLineAsync(ct).ConfigureAwait(false);
                if (header != string.Join(',', manifest.Columns))
                {
                    throw new DbManagerFailure(DbManagerExitCode.Failed, $"restore: {file} starts with columns '{header}', its manifest lists '{string.Join(',', manifest.Columns)}'; nothing was kept");
                }
                await using var copy = await connection.BeginTextImportAsync($"COPY public.{table} ({string.Join(", ", manifest.Columns)}) FROM STDIN (FORMAT csv)", ct).ConfigureAwait(false);
                var buffer = new char[1 << 15];
                int read;
                while ((read = await reader.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
                {
                    await copy.WriteAsync(buffer.AsMemory(0, read)).ConfigureAwait(false);
                }
            }
            var rest = new byte[1 << 14];
            while (await hashing.ReadAsync(rest, ct).ConfigureAwait(false) > 0)
            {
            }
        }
        var sha256 = Convert.ToHexStringLower(sha.GetHashAndReset());
        if (sha256 != manifest.Sha256)
        {
            throw new DbManagerFailure(DbManagerExitCode.Failed, $"restore: {file} has sha256 {sha256}, its manifest says {manifest.Sha256}; the file changed since it was archived, nothing was kept");
        }
        long rows;
        await using (var count = new NpgsqlCommand($"SELECT count(*) FROM public.{table}", connection, transaction))
        {
            rows = (long)(await count.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
        }
        if (rows != manifest.Rows)
        {
            throw new DbManagerFailure(DbManagerExitCode.Failed, $"restore: {file} held {rows} rows, its manifest says {manifest.Rows}; nothing was kept");
        }
        // For the investigation's usual filters.
        await ExecuteAsync($"""
            CREATE INDEX ON public.{table} (event_timestamp);
            CREATE INDEX ON public.{table} (hostname);
            CREATE INDEX ON public.{table} (correlation_id);
            """).ConfigureAwait(false);
        await GrantReadAsync(connection, transaction, table, ct).ConfigureAwait(false);
        await transaction.CommitAsync(ct).ConfigureAwait(false);
        logger.LogInformation("Restored {Rows} rows of {Partition} from {File} into table {Table} (sha256 and row count match the manifest); DROP TABLE {Table} when done",
            rows, manifest.Partition, file, table, table);
        return table;
    }

    /// <summary>The services' role may read a restored table (the Dashboard, ad-hoc queries) and nothing more: the owner's default privileges would also let it INSERT.</summary>
    private async Task GrantReadAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string table, CancellationToken ct)
    {
        var role = options.Value.ServiceUser;
        await using var exists = new NpgsqlCommand("SELECT quote_ident(rolname) FROM pg_roles WHERE rolname = $1", connection, transaction) { Parameters = { new() { Value = role } } };
        if (await exists.ExecuteScalarAsync(ct).ConfigureAwait(false) is not string quoted)
        {
            logger.LogWarning("Role {Role} (DB_USER) does not exist; {Table} is readable by its owner only", role, table);
            return;
        }
        await using var grant = new NpgsqlCommand($"REVOKE ALL ON public.{table} FROM {quoted}; GRANT {ServiceGrants.ReadOnly} ON public.{table} TO {quoted}", connection, transaction);
        await grant.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,62}$")]
    private static partial Regex TableName();
}
