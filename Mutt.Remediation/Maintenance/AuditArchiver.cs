using System.Data;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using Mutt.Core.Audit;
using Npgsql;

namespace Mutt.Remediation.Maintenance;

/// <summary>Where archive files are written and read back. Virtual so a test can stand in for storage that corrupts what it stores.</summary>
public class AuditArchiveStorage
{
    public virtual Stream Create(string path) =>
        new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous);

    public virtual Stream OpenRead(string path) =>
        new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous);
}

/// <summary>An archive step that failed; <see cref="Stage"/> is the metric label (export/verify).</summary>
public sealed class AuditArchiveException(string stage, string message, Exception? inner = null) : Exception(message, inner)
{
    public string Stage { get; } = stage;
}

/// <summary>A verified archive file: what the drop must find in the table.</summary>
public sealed record ArchivedFile(string Path, AuditArchiveManifest Manifest);

/// <summary>
/// Exports audit rows to one gzip'd CSV file (<see cref="AuditArchiveFormat"/>) and proves it:
/// the rows are counted and copied in one REPEATABLE READ snapshot, streamed from COPY through
/// gzip to disk (constant memory, whatever the month's size), fsync'd, then read back from disk
/// (record count and SHA-256 must match what was written) before the file gets its final name
/// and its manifest. The caller drops nothing unless this returns.
/// </summary>
public sealed class AuditArchiver(NpgsqlDataSource db, AuditArchiveStorage storage, ILogger<AuditArchiver> logger)
{
    /// <param name="folder">AUDIT_ARCHIVE_DIR.</param>
    /// <param name="name">The file's base name (the partition's name, or a default-partition sweep's).</param>
    /// <param name="source">What to copy: a table name or a parenthesised query, built from catalog names only.</param>
    public async Task<ArchivedFile> ExportAsync(string folder, string name, string source, AuditArchiveManifest manifest, CancellationToken ct)
    {
        var dataPath = AuditArchiveFormat.DataPath(folder, name);
        var partial = dataPath + ".partial";
        string sha256;
        long rows, bytes;
        try
        {
            Directory.CreateDirectory(folder);
            await using var connection = await db.OpenConnectionAsync(ct);
            await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, ct);
            await using (var settings = new NpgsqlCommand(AuditArchiveFormat.SessionSettings, connection, transaction))
            {
                await settings.ExecuteNonQueryAsync(ct);
            }
            await using (var count = new NpgsqlCommand($"SELECT count(*) FROM {CountSource(source)}", connection, transaction))
            {
                rows = (long)(await count.ExecuteScalarAsync(ct))!;
            }
            manifest.Columns = await ColumnsAsync(connection, transaction, ct);
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            await using (var file = storage.Create(partial))
            {
                var hashing = new HashingStream(file, hash, leaveOpen: true);
                await using (var gzip = new GZipStream(hashing, CompressionLevel.Optimal, leaveOpen: true))
                await using (var writer = new StreamWriter(gzip, new UTF8Encoding(false), 1 << 16))
                using (var reader = await connection.BeginTextExportAsync($"COPY {source} TO STDOUT (FORMAT csv, HEADER)", ct))
                {
                    var buffer = new char[1 << 15];
                    int read;
                    while ((read = await reader.ReadAsync(buffer, ct)) > 0)
                    {
                        await writer.WriteAsync(buffer.AsMemory(0, read), ct);
                    }
                }
                await hashing.FlushAsync(ct);
                bytes = hashing.BytesTransferred;
                if (file is FileStream onDisk)
                {
                    onDisk.Flush(flushToDisk: true);
                }
            }
            await transaction.CommitAsync(ct);
            sha256 = Convert.ToHexStringLower(hash.GetHashAndReset());
        }
        catch (Exception ex) when (ex is NpgsqlException or IOException or UnauthorizedAccessException)
        {
            TryDelete(partial);
            throw new AuditArchiveException("export", $"exporting {name} to {dataPath} failed: {ex.Message}", ex);
        }

        await VerifyAsync(partial, rows, sha256, name, ct);

        manifest.Partition = manifest.Partition.Length == 0 ? name : manifest.Partition;
        manifest.File = Path.GetFileName(dataPath);
        manifest.Rows = rows;
        manifest.Bytes = bytes;
        manifest.Sha256 = sha256;
        try
        {
            File.Move(partial, dataPath, overwrite: true);
            await AuditArchiveFormat.WriteManifestAsync(AuditArchiveFormat.ManifestPath(dataPath), manifest, ct);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new AuditArchiveException("export", $"storing {dataPath} or its manifest failed: {ex.Message}", ex);
        }
        logger.LogInformation("Archived {Name}: {Rows} rows, {Bytes} bytes, sha256 {Sha256}, verified, in {Path}", name, rows, bytes, sha256, dataPath);
        return new ArchivedFile(dataPath, manifest);
    }

    /// <summary>Reads the stored file back: every record counted and every byte hashed; any difference keeps the rows in the database.</summary>
    private async Task VerifyAsync(string path, long expectedRows, string expectedSha256, string name, CancellationToken ct)
    {
        (long Rows, string Sha256, bool Complete) back;
        try
        {
            await using var stored = storage.OpenRead(path);
            back = await AuditArchiveFormat.ReadBackAsync(stored, ct);
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            TryDelete(path);
            throw new AuditArchiveException("verify", $"reading back the archive of {name} failed: {ex.Message}", ex);
        }
        if (!back.Complete || back.Rows != expectedRows || back.Sha256 != expectedSha256)
        {
            TryDelete(path);
            throw new AuditArchiveException("verify",
                $"the archive of {name} does not read back as written: {back.Rows} of {expectedRows} rows{(back.Complete ? "" : ", cut off")}, " +
                $"sha256 {(back.Sha256 == expectedSha256 ? "matches" : $"{back.Sha256} instead of {expectedSha256}")}");
        }
    }

    private static async Task<List<string>> ColumnsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand("""
            SELECT attname FROM pg_attribute
            WHERE attrelid = 'public.event_audit_log'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum
            """, connection, transaction);
        await using var reader = await command.ExecuteReaderAsync(ct);
        var columns = new List<string>();
        while (await reader.ReadAsync(ct))
        {
            columns.Add(reader.GetString(0));
        }
        return columns;
    }

    /// <summary>COPY takes "table" or "(query)"; a count needs "table" or "(query) AS alias".</summary>
    private static string CountSource(string source) => source.StartsWith('(') ? source + " AS archived" : source;

    private void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            logger.LogWarning("Could not delete the unverified archive file {Path}: {Error}", path, ex.Message);
        }
    }
}
