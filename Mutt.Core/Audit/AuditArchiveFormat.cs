using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Mutt.Core.Audit;

/// <summary>
/// What an audit archive is (spec 004: 90 days active, 7 years archive): one gzip'd CSV file per
/// expired <c>event_audit_log</c> partition, written by Mutt.Remediation and loaded back by
/// <c>Mutt.DbManager restore</c>, plus a manifest beside it. The one definition of the format,
/// for the writer and the reader.
/// <para>
/// CSV (PostgreSQL <c>COPY ... (FORMAT csv, HEADER)</c>, session TimeZone UTC, DateStyle ISO)
/// rather than the binary COPY format: an archive must stay readable for seven years without
/// MUTT and without PostgreSQL (<c>zcat file | head</c>), and COPY reads it back exactly.
/// </para>
/// </summary>
public static class AuditArchiveFormat
{
    public const string Format = "csv+gzip";
    public const string DataExtension = ".csv.gz";
    public const string ManifestExtension = ".manifest.json";

    /// <summary>The data file of a partition (or of a default-partition sweep) in the archive folder.</summary>
    public static string DataPath(string folder, string name) => Path.Combine(folder, name + DataExtension);

    /// <summary>The manifest beside a data file.</summary>
    public static string ManifestPath(string dataPath) =>
        (dataPath.EndsWith(DataExtension, StringComparison.Ordinal) ? dataPath[..^DataExtension.Length] : dataPath) + ManifestExtension;

    /// <summary>The session settings the export runs with, so timestamps and numbers read back exactly wherever the file is restored.</summary>
    public const string SessionSettings = "SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO, YMD'; SET LOCAL extra_float_digits = 3";

    public static async Task WriteManifestAsync(string path, AuditArchiveManifest manifest, CancellationToken ct = default)
    {
        var partial = path + ".partial";
        await using (var stream = new FileStream(partial, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            await JsonSerializer.SerializeAsync(stream, manifest, AuditArchiveJsonContext.Default.AuditArchiveManifest, ct).ConfigureAwait(false);
            await stream.FlushAsync(ct).ConfigureAwait(false);
            stream.Flush(flushToDisk: true);
        }
        File.Move(partial, path, overwrite: true);
    }

    public static async Task<AuditArchiveManifest> ReadManifestAsync(string path, CancellationToken ct = default)
    {
        await using var stream = File.OpenRead(path);
        return await JsonSerializer.DeserializeAsync(stream, AuditArchiveJsonContext.Default.AuditArchiveManifest, ct).ConfigureAwait(false)
            ?? throw new InvalidDataException($"{path} is not an audit archive manifest");
    }

    /// <summary>
    /// Reads an archive data file end to end: the SHA-256 of its bytes as stored and the number of
    /// CSV records after the header. Streams (constant memory, whatever the size).
    /// </summary>
    /// <returns>Rows: records after the header; Complete: false when the data ends inside a record (a cut file).</returns>
    public static async Task<(long Rows, string Sha256, bool Complete)> ReadBackAsync(Stream stored, CancellationToken ct = default)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        await using var hashing = new HashingStream(stored, sha, leaveOpen: true);
        await using var gzip = new GZipStream(hashing, CompressionMode.Decompress);
        var counter = new CsvRecordCounter();
        var buffer = new byte[81920];
        int read;
        while ((read = await gzip.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
        {
            counter.Add(buffer.AsSpan(0, read));
        }
        // GZipStream may stop at the end of the gzip member; hash whatever trails it too.
        while ((read = await hashing.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
        {
        }
        return (Math.Max(0, counter.Records - 1), Convert.ToHexStringLower(sha.GetHashAndReset()), counter.Records > 0 && !counter.Incomplete);
    }
}

/// <summary>The manifest beside every archive file: enough to prove the file whole and to load it back.</summary>
public sealed class AuditArchiveManifest
{
    [JsonPropertyName("table")] public string Table { get; set; } = "event_audit_log";
    /// <summary>The partition archived (event_audit_log_YYYY_MM), or event_audit_log_default for rows no partition can hold.</summary>
    [JsonPropertyName("partition")] public string Partition { get; set; } = "";
    [JsonPropertyName("file")] public string File { get; set; } = "";
    [JsonPropertyName("format")] public string Format { get; set; } = AuditArchiveFormat.Format;
    /// <summary>Columns in file order (the CSV header repeats them): a restore names them, so a later schema with more columns still loads it.</summary>
    [JsonPropertyName("columns")] public List<string> Columns { get; set; } = [];
    [JsonPropertyName("rows")] public long Rows { get; set; }
    [JsonPropertyName("bytes")] public long Bytes { get; set; }
    /// <summary>SHA-256 of the data file as stored (compressed), lower-case hex: <c>sha256sum</c> prints the same.</summary>
    [JsonPropertyName("sha256")] public string Sha256 { get; set; } = "";
    /// <summary>The month the partition held (inclusive); null for a default-partition sweep.</summary>
    [JsonPropertyName("range_from")] public DateTimeOffset? RangeFrom { get; set; }
    /// <summary>The end of that month (exclusive).</summary>
    [JsonPropertyName("range_to")] public DateTimeOffset? RangeTo { get; set; }
    [JsonPropertyName("exported_at")] public DateTimeOffset ExportedAt { get; set; }
    [JsonPropertyName("exported_by")] public string? ExportedBy { get; set; }
}

[JsonSourceGenerationOptions(WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(AuditArchiveManifest))]
public sealed partial class AuditArchiveJsonContext : JsonSerializerContext;

/// <summary>
/// Counts the records of PostgreSQL CSV output: a newline ends a record unless it is inside a
/// quoted field (COPY quotes any field holding a newline, quote or comma, doubling inner quotes,
/// so toggling on every quote is exact). Fed in chunks; allocation-free.
/// </summary>
public sealed class CsvRecordCounter
{
    private bool _quoted;
    private bool _pending;

    public long Records { get; private set; }

    public void Add(ReadOnlySpan<byte> chunk)
    {
        foreach (var b in chunk)
        {
            if (b == (byte)'"')
            {
                _quoted = !_quoted;
                _pending = true;
            }
            else if (b == (byte)'\n' && !_quoted)
            {
                Records++;
                _pending = false;
            }
            else
            {
                _pending = true;
            }
        }
    }

    /// <summary>True when the input ended inside a record (a truncated file, or an unterminated quote).</summary>
    public bool Incomplete => _pending || _quoted;
}

/// <summary>A pass-through stream that feeds every byte read or written into a hash.</summary>
public sealed class HashingStream(Stream inner, IncrementalHash hash, bool leaveOpen = false) : Stream
{
    public long BytesTransferred { get; private set; }

    public override bool CanRead => inner.CanRead;
    public override bool CanSeek => false;
    public override bool CanWrite => inner.CanWrite;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => BytesTransferred; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var n = inner.Read(buffer);
        hash.AppendData(buffer[..n]);
        BytesTransferred += n;
        return n;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var n = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        hash.AppendData(buffer.Span[..n]);
        BytesTransferred += n;
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        hash.AppendData(buffer);
        BytesTransferred += buffer.Length;
        inner.Write(buffer);
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        hash.AppendData(buffer.Span);
        BytesTransferred += buffer.Length;
        await inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush() => inner.Flush();
    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing && !leaveOpen)
        {
            inner.Dispose();
        }
        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        if (!leaveOpen)
        {
            await inner.DisposeAsync().ConfigureAwait(false);
        }
        await base.DisposeAsync().ConfigureAwait(false);
    }
}
