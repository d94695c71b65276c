using System.Globalization;
using Microsoft.Extensions.Options;
using Mutt.Core.Audit;
using Mutt.Core.DeadLetters;
using Mutt.Core.Redis;
using Mutt.Remediation.Services;
using Npgsql;

namespace Mutt.Remediation.Maintenance;

/// <summary>What one maintenance run did (or, in a dry run, would have done).</summary>
public sealed record MaintenanceReport(bool DryRun, IReadOnlyList<string> PartitionsCreated, IReadOnlyList<string> PartitionsDropped, IReadOnlyDictionary<string, int> DlqTrimmed)
{
    /// <summary>Expired partitions written to verified archive files (in a dry run: that would be).</summary>
    public IReadOnlyList<string> PartitionsArchived { get; init; } = [];
    /// <summary>Months of rows found in the default partition and given their partition (create_monthly_partition moves them).</summary>
    public IReadOnlyList<string> DefaultMonthsMoved { get; init; } = [];
    /// <summary>Rows of the default partition that no partition can hold, archived and deleted.</summary>
    public long DefaultRowsArchived { get; init; }
    /// <summary>Archive files deleted after AUDIT_ARCHIVE_RETENTION_YEARS.</summary>
    public IReadOnlyList<string> ArchivesPruned { get; init; } = [];
    /// <summary>"stage: what", one per failed step; nothing was dropped for any of them.</summary>
    public IReadOnlyList<string> Failures { get; init; } = [];
}

/// <summary>
/// Keeps event_audit_log's monthly partitions ahead of time (create_monthly_partition), gives rows
/// parked in the default partition their month's partition, archives every partition past
/// retention to AUDIT_ARCHIVE_DIR and drops it only once its file is verified
/// (drop_archived_partition, migration 006, which re-counts the rows under lock), deletes archive
/// files past AUDIT_ARCHIVE_RETENTION_YEARS, and trims DLQ entries older than DLQ_RETENTION_DAYS.
/// A dry run only reports. One Remediation at a time does the partition work (an advisory lock).
/// </summary>
public sealed class PartitionMaintenance(NpgsqlDataSource db, DeadLetterOperations deadLetters, RemediationMetrics metrics, AuditArchiver archiver,
    IOptions<RemediationOptions> options, ILogger<PartitionMaintenance> logger)
{
    // "MUTTARCH": one maintenance run at a time across Remediation replicas.
    private const long AdvisoryLockKey = 0x4D555454_41524348;

    private const string DefaultPartition = "event_audit_log_default";

    private readonly RemediationOptions _o = options.Value;

    public async Task<MaintenanceReport> RunAsync(bool? dryRunOverride = null, DateTime? today = null, CancellationToken ct = default)
    {
        var dryRun = dryRunOverride ?? _o.DryRun;
        var now = today ?? DateTime.UtcNow;
        var run = new Run(dryRun);

        await using (var lockConnection = await db.OpenConnectionAsync(ct))
        {
            await using var take = new NpgsqlCommand("SELECT pg_try_advisory_lock($1)", lockConnection) { Parameters = { new() { Value = AdvisoryLockKey } } };
            if ((bool)(await take.ExecuteScalarAsync(ct))!)
            {
                try
                {
                    await PrecreateAsync(now, run, ct);
                    await SweepDefaultPartitionAsync(now, run, ct);
                    await ArchiveExpiredAsync(now, run, ct);
                    await PruneArchivesAsync(now, run, ct);
                }
                finally
                {
                    await using var release = new NpgsqlCommand("SELECT pg_advisory_unlock($1)", lockConnection) { Parameters = { new() { Value = AdvisoryLockKey } } };
                    await release.ExecuteScalarAsync(CancellationToken.None);
                }
            }
            else
            {
                logger.LogInformation("Partition maintenance skipped: another Remediation instance is running it");
            }
        }

        var trimmed = new Dictionary<string, int>();
        var cutoff = new DateTimeOffset(now, TimeSpan.Zero).AddDays(-_o.DlqRetentionDays);
        foreach (var dlq in new[] { deadLetters.Names.AlerterDlq, deadLetters.Names.MoogDlq })
        {
            var old = await deadLetters.TrimAsync(dlq, cutoff, dryRun);
            trimmed[dlq] = old.Count;
            foreach (var entry in old)
            {
                logger.LogWarning("{Verb} DLQ {Dlq} entry {Id} (failed {FailedAt:o}, older than {Days} days)",
                    dryRun ? "Would trim" : "Trimmed", dlq, entry.Letter.Id, entry.Letter.FailedAt, _o.DlqRetentionDays);
            }
            Count("dlq_trimmed", old.Count, dryRun);
        }
        logger.LogInformation("Maintenance{DryRun}: created {Created}, default months moved {Moved}, archived {Archived}, dropped {Dropped}, " +
            "default rows archived {DefaultRows}, archives pruned {Pruned}, trimmed {Trimmed}, failures {Failures}",
            dryRun ? " (dry run)" : "", run.Created, run.Moved, run.Archived, run.Dropped, run.DefaultRows, run.Pruned, trimmed, run.Failures.Count);
        return new MaintenanceReport(dryRun, run.Created, run.Dropped, trimmed)
        {
            PartitionsArchived = run.Archived,
            DefaultMonthsMoved = run.Moved,
            DefaultRowsArchived = run.DefaultRows,
            ArchivesPruned = run.Pruned,
            Failures = run.Failures,
        };
    }

    private async Task PrecreateAsync(DateTime now, Run run, CancellationToken ct)
    {
        var month = new DateTime(now.Year, now.Month, 1, 0, 0, 0, DateTimeKind.Unspecified);
        for (var i = 0; i <= _o.PrecreateMonths; i++)
        {
            var start = month.AddMonths(i);
            var name = PartitionName(start);
            await using var exists = db.CreateCommand("SELECT to_regclass($1) IS NOT NULL");
            exists.Parameters.AddWithValue(name);
            if ((bool)(await exists.ExecuteScalarAsync(ct))!)
            {
                continue;
            }
            if (!run.DryRun)
            {
                await CreatePartitionAsync(start, ct);
            }
            run.Created.Add(name);
            logger.LogInformation("{Verb} partition {Partition}", run.DryRun ? "Would create" : "Created", name);
        }
        Count("partition_created", run.Created.Count, run.DryRun);
    }

    /// <summary>
    /// Rows whose month had no partition when they were written (old or far-future timestamps) wait
    /// in the default partition, where retention would never see them. Each such month gets its
    /// partition (create_monthly_partition moves the rows in), so an expired month is archived and
    /// dropped below like any other; rows no partition can hold (±infinity, years outside 1..9999)
    /// are archived on their own and deleted.
    /// </summary>
    private async Task SweepDefaultPartitionAsync(DateTime now, Run run, CancellationToken ct)
    {
        var months = new List<(DateTime Month, long Rows)>();
        long unpartitionable = 0;
        await using (var list = db.CreateCommand($"""
            SELECT audit_row_unpartitionable(event_timestamp) AS lost,
                   CASE WHEN audit_row_unpartitionable(event_timestamp) THEN NULL ELSE date_trunc('month', event_timestamp)::date END AS month,
                   count(*)
            FROM public.{DefaultPartition} GROUP BY 1, 2 ORDER BY 1, 2
            """))
        await using (var reader = await list.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                if (reader.GetBoolean(0))
                {
                    unpartitionable += reader.GetInt64(2);
                }
                else
                {
                    months.Add((reader.GetFieldValue<DateOnly>(1).ToDateTime(TimeOnly.MinValue), reader.GetInt64(2)));
                }
            }
        }
        foreach (var (month, rows) in months)
        {
            var name = PartitionName(month);
            if (!run.DryRun)
            {
                await CreatePartitionAsync(month, ct);
            }
            run.Moved.Add(name);
            logger.LogWarning("{Verb} {Rows} rows of {Month:yyyy-MM} from the default partition into {Partition}",
                run.DryRun ? "Would move" : "Moved", rows, month, name);
        }
        Count("default_rows_moved", (int)Math.Min(int.MaxValue, months.Sum(m => m.Rows)), run.DryRun);
        if (unpartitionable == 0)
        {
            return;
        }
        if (run.DryRun)
        {
            run.DefaultRows = unpartitionable;
            logger.LogWarning("Would archive and delete {Rows} rows of the default partition that no partition can hold", unpartitionable);
            return;
        }
        if (ArchiveFolder(run, "the default partition's unpartitionable rows") is not { } folder)
        {
            return;
        }
        try
        {
            var name = $"{DefaultPartition}_{now:yyyyMMdd'T'HHmmss'Z'}";
            var file = await archiver.ExportAsync(folder, name,
                $"(SELECT * FROM public.{DefaultPartition} WHERE audit_row_unpartitionable(event_timestamp))",
                NewManifest(DefaultPartition, null), ct);
            await using var purge = db.CreateCommand("SELECT purge_archived_default_rows($1)");
            purge.Parameters.AddWithValue(file.Manifest.Rows);
            run.DefaultRows = (long)(await purge.ExecuteScalarAsync(ct))!;
            metrics.ArchivedRows.Add(file.Manifest.Rows);
            Count("default_rows_archived", (int)Math.Min(int.MaxValue, run.DefaultRows), false);
            logger.LogWarning("Archived {Rows} unpartitionable rows of the default partition to {Path} and deleted them", run.DefaultRows, file.Path);
        }
        catch (Exception ex) when (ex is AuditArchiveException or PostgresException)
        {
            Fail(run, ex is AuditArchiveException a ? a.Stage : "default_sweep", DefaultPartition, ex);
        }
    }

    private async Task ArchiveExpiredAsync(DateTime now, Run run, CancellationToken ct)
    {
        var months = _o.EffectiveRetentionMonths;
        var expired = new List<(string Name, DateTime Month)>();
        // The selection drop_archived_partition checks again: older than the retention, by the partition's month.
        await using (var list = db.CreateCommand("""
            SELECT child.relname FROM pg_inherits
            JOIN pg_class child ON pg_inherits.inhrelid = child.oid
            WHERE pg_inherits.inhparent = 'public.event_audit_log'::regclass AND child.relname ~ '^event_audit_log_\d{4}_\d{2}$'
              AND to_date(substring(child.relname from '\d{4}_\d{2}$'), 'YYYY_MM') < (date_trunc('month', $2::timestamptz) - make_interval(months => $1))::date
            ORDER BY 1
            """))
        {
            list.Parameters.AddWithValue(months);
            list.Parameters.AddWithValue(new DateTimeOffset(DateTime.SpecifyKind(now, DateTimeKind.Utc)));
            await using var reader = await list.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                var name = reader.GetString(0);
                expired.Add((name, DateTime.ParseExact(name[^7..], "yyyy_MM", CultureInfo.InvariantCulture)));
            }
        }
        if (expired.Count == 0)
        {
            return;
        }
        if (run.DryRun)
        {
            foreach (var (name, _) in expired)
            {
                run.Archived.Add(name);
                run.Dropped.Add(name);
                logger.LogWarning("Would archive {Partition} to {Folder}, verify it and drop it (older than {Months} months)", name, _o.AuditArchiveDir ?? "(AUDIT_ARCHIVE_DIR unset)", months);
            }
            Count("partition_archived", expired.Count, true);
            Count("partition_dropped", expired.Count, true);
            return;
        }
        if (ArchiveFolder(run, $"{expired.Count} expired partitions ({string.Join(", ", expired.Select(e => e.Name))})") is not { } folder)
        {
            return;
        }
        foreach (var (name, month) in expired)
        {
            ArchivedFile file;
            try
            {
                file = await archiver.ExportAsync(folder, name, "public." + name, NewManifest(name, month), ct);
            }
            catch (AuditArchiveException ex)
            {
                Fail(run, ex.Stage, name, ex);
                continue;
            }
            run.Archived.Add(name);
            metrics.ArchivedRows.Add(file.Manifest.Rows);
            Count("partition_archived", 1, false);
            try
            {
                await using var drop = db.CreateCommand("SELECT drop_archived_partition($1, $2, $3)");
                drop.Parameters.AddWithValue(name);
                drop.Parameters.AddWithValue(months);
                drop.Parameters.AddWithValue(file.Manifest.Rows);
                if ((bool)(await drop.ExecuteScalarAsync(ct))!)
                {
                    run.Dropped.Add(name);
                    Count("partition_dropped", 1, false);
                    logger.LogWarning("Dropped partition {Partition} (older than {Months} months; {Rows} rows archived in {Path})", name, months, file.Manifest.Rows, file.Path);
                }
            }
            catch (PostgresException ex)
            {
                Fail(run, "drop", name, ex);
            }
        }
    }

    /// <summary>Deletes archive files whose month ended more than AUDIT_ARCHIVE_RETENTION_YEARS ago (spec 004: 7 years).</summary>
    private async Task PruneArchivesAsync(DateTime now, Run run, CancellationToken ct)
    {
        if (_o.AuditArchiveRetentionYears <= 0 || string.IsNullOrWhiteSpace(_o.AuditArchiveDir) || !Directory.Exists(_o.AuditArchiveDir))
        {
            return;
        }
        var cutoff = new DateTimeOffset(DateTime.SpecifyKind(now, DateTimeKind.Utc)).AddYears(-_o.AuditArchiveRetentionYears);
        List<string> manifests;
        try
        {
            manifests = [.. Directory.EnumerateFiles(_o.AuditArchiveDir, "*" + AuditArchiveFormat.ManifestExtension).Order(StringComparer.Ordinal)];
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Fail(run, "prune", _o.AuditArchiveDir, ex);
            return;
        }
        foreach (var manifestPath in manifests)
        {
            try
            {
                var manifest = await AuditArchiveFormat.ReadManifestAsync(manifestPath, ct);
                // A default-partition sweep has no month: its rows are kept as long as the sweep's own date allows.
                if ((manifest.RangeTo ?? manifest.ExportedAt) >= cutoff)
                {
                    continue;
                }
                if (!run.DryRun)
                {
                    File.Delete(Path.Combine(Path.GetDirectoryName(manifestPath)!, manifest.File));
                    File.Delete(manifestPath);
                }
                run.Pruned.Add(manifest.File);
                logger.LogWarning("{Verb} archive {File} ({Rows} rows; older than {Years} years)", run.DryRun ? "Would delete" : "Deleted", manifest.File, manifest.Rows, _o.AuditArchiveRetentionYears);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Text.Json.JsonException or InvalidDataException)
            {
                Fail(run, "prune", Path.GetFileName(manifestPath), ex);
            }
        }
        Count("archive_pruned", run.Pruned.Count, run.DryRun);
    }

    private string? ArchiveFolder(Run run, string what)
    {
        if (!string.IsNullOrWhiteSpace(_o.AuditArchiveDir))
        {
            return _o.AuditArchiveDir;
        }
        // Never drop the audit trail unarchived: keep it, and say so every run.
        run.Failures.Add($"no_archive_dir: {what} kept");
        metrics.ArchiveFailure("no_archive_dir");
        logger.LogError("AUDIT_ARCHIVE_DIR is not set: {What} kept in PostgreSQL, not archived or dropped", what);
        return null;
    }

    private void Fail(Run run, string stage, string what, Exception ex)
    {
        run.Failures.Add($"{stage}: {what}: {ex.Message}");
        metrics.ArchiveFailure(stage);
        logger.LogError(ex, "Audit archive of {What} failed at {Stage}; nothing dropped: {Error}", what, stage, ex.Message);
    }

    private AuditArchiveManifest NewManifest(string partition, DateTime? month) => new()
    {
        Partition = partition,
        RangeFrom = month is { } m ? new DateTimeOffset(m, TimeSpan.Zero) : null,
        RangeTo = month is { } n ? new DateTimeOffset(n.AddMonths(1), TimeSpan.Zero) : null,
        ExportedAt = DateTimeOffset.UtcNow,
        ExportedBy = _o.PodName,
    };

    private async Task CreatePartitionAsync(DateTime month, CancellationToken ct)
    {
        await using var create = db.CreateCommand("SELECT create_monthly_partition($1)");
        create.Parameters.AddWithValue(DateOnly.FromDateTime(month));
        await create.ExecuteScalarAsync(ct);
    }

    private static string PartitionName(DateTime month) => "event_audit_log_" + month.ToString("yyyy_MM", CultureInfo.InvariantCulture);

    private void Count(string kind, int n, bool dryRun)
    {
        if (n > 0)
        {
            metrics.Maintenance.Add(n, new KeyValuePair<string, object?>("kind", kind), new KeyValuePair<string, object?>("dry_run", dryRun));
        }
    }

    private sealed class Run(bool dryRun)
    {
        public bool DryRun { get; } = dryRun;
        public List<string> Created { get; } = [];
        public List<string> Moved { get; } = [];
        public List<string> Archived { get; } = [];
        public List<string> Dropped { get; } = [];
        public List<string> Pruned { get; } = [];
        public List<string> Failures { get; } = [];
        public long DefaultRows { get; set; }
    }
}
