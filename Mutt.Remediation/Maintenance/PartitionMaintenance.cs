using System.Globalization;
using Microsoft.Extensions.Options;
using Mutt.Core.DeadLetters;
using Mutt.Core.Redis;
using Mutt.Remediation.Services;
using Npgsql;

namespace Mutt.Remediation.Maintenance;

/// <summary>What one maintenance run did (or, in a dry run, would have done).</summary>
public sealed record MaintenanceReport(bool DryRun, IReadOnlyList<string> PartitionsCreated, IReadOnlyList<string> PartitionsDropped, IReadOnlyDictionary<string, int> DlqTrimmed);

/// <summary>
/// Keeps event_audit_log's monthly partitions ahead of time (create_monthly_partition from
/// migration 001), drops those past retention (drop_old_partitions), and trims DLQ entries older
/// than DLQ_RETENTION_DAYS. A dry run only reports.
/// </summary>
public sealed class PartitionMaintenance(NpgsqlDataSource db, DeadLetterOperations deadLetters, RemediationMetrics metrics, IOptions<RemediationOptions> options, ILogger<PartitionMaintenance> logger)
{
    private readonly RemediationOptions _o = options.Value;

    public async Task<MaintenanceReport> RunAsync(bool? dryRunOverride = null, DateTime? today = null, CancellationToken ct = default)
    {
        var dryRun = dryRunOverride ?? _o.DryRun;
        var now = today ?? DateTime.UtcNow;
        var created = await PrecreateAsync(now, dryRun, ct);
        var dropped = await DropOldAsync(now, dryRun, ct);
        var trimmed = new Dictionary<string, int>();
        var cutoff = new DateTimeOffset(now, TimeSpan.Zero).AddDays(-_o.DlqRetentionDays);
        foreach (var dlq in new[] { MuttKeys.AlerterDlq, MuttKeys.MoogDlq })
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
        logger.LogInformation("Maintenance{DryRun}: created {Created}, dropped {Dropped}, trimmed {Trimmed}",
            dryRun ? " (dry run)" : "", created, dropped, trimmed);
        return new MaintenanceReport(dryRun, created, dropped, trimmed);
    }

    private async Task<IReadOnlyList<string>> PrecreateAsync(DateTime now, bool dryRun, CancellationToken ct)
    {
        var created = new List<string>();
        var month = new DateTime(now.Year, now.Month, 1, 0, 0, 0, DateTimeKind.Unspecified);
        for (var i = 0; i <= _o.PrecreateMonths; i++)
        {
            var start = month.AddMonths(i);
            var name = "event_audit_log_" + start.ToString("yyyy_MM", CultureInfo.InvariantCulture);
            await using var exists = db.CreateCommand("SELECT to_regclass($1) IS NOT NULL");
            exists.Parameters.AddWithValue(name);
            if ((bool)(await exists.ExecuteScalarAsync(ct))!)
            {
                continue;
            }
            if (!dryRun)
            {
                await using var create = db.CreateCommand("SELECT create_monthly_partition($1)");
                create.Parameters.AddWithValue(DateOnly.FromDateTime(start));
                await create.ExecuteScalarAsync(ct);
            }
            created.Add(name);
            logger.LogInformation("{Verb} partition {Partition}", dryRun ? "Would create" : "Created", name);
        }
        Count("partition_created", created.Count, dryRun);
        return created;
    }

    private async Task<IReadOnlyList<string>> DropOldAsync(DateTime now, bool dryRun, CancellationToken ct)
    {
        var months = _o.EffectiveRetentionMonths;
        var dropped = new List<string>();
        if (dryRun)
        {
            // The same selection drop_old_partitions makes, without the DROP.
            await using var list = db.CreateCommand("""
                SELECT child.relname FROM pg_inherits
                JOIN pg_class parent ON pg_inherits.inhparent = parent.oid
                JOIN pg_class child ON pg_inherits.inhrelid = child.oid
                WHERE parent.relname = 'event_audit_log' AND child.relname ~ '^event_audit_log_\d{4}_\d{2}$'
                  AND to_date(substring(child.relname from '\d{4}_\d{2}$'), 'YYYY_MM') < (date_trunc('month', now()) - make_interval(months => $1))::date
                ORDER BY 1
                """);
            list.Parameters.AddWithValue(months);
            await using var reader = await list.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                dropped.Add(reader.GetString(0));
            }
        }
        else
        {
            await using var drop = db.CreateCommand("SELECT drop_old_partitions($1)");
            drop.Parameters.AddWithValue(months);
            await using var reader = await drop.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                dropped.Add(reader.GetString(0));
            }
        }
        foreach (var name in dropped)
        {
            logger.LogWarning("{Verb} partition {Partition} (older than {Months} months)", dryRun ? "Would drop" : "Dropped", name, months);
        }
        Count("partition_dropped", dropped.Count, dryRun);
        return dropped;
    }

    private void Count(string kind, int n, bool dryRun)
    {
        if (n > 0)
        {
            metrics.Maintenance.Add(n, new KeyValuePair<string, object?>("kind", kind), new KeyValuePair<string, object?>("dry_run", dryRun));
        }
    }
}
