using Mutt.Core.Redis;
using System.Diagnostics.Metrics;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Mutt.Core.Audit;
using Mutt.Core.DeadLetters;
using Mutt.Remediation.Maintenance;
using Mutt.Remediation.Services;
using Mutt.Tests.Infrastructure;
using Npgsql;

namespace Mutt.Tests.Integration;

/// <summary>
/// The 7-year audit archive against the fixture's real PostgreSQL: a month of audit rows is
/// exported by Remediation's own maintenance, read back and verified, dropped, and loaded back by
/// the real <c>Mutt.DbManager restore</c>; a failed verify drops nothing; rows parked in the
/// default partition end up where retention sees them.
/// </summary>
[Collection(InfrastructureCollection.Name)]
[Trait("Category", "Integration")]
public sealed class AuditArchiveTests(InfrastructureFixture infra) : IDisposable
{
    private const int MonthRows = 200_000;
    // Relative to today: expired (90 days) but well inside the 7-year archive retention, whenever the test runs.
    private static readonly DateTime ExpiredMonth = FirstOfMonth(DateTime.UtcNow.AddYears(-2));
    private static readonly string Expired = Name(ExpiredMonth);
    private static readonly string ExpiredDay = ExpiredMonth.ToString("yyyy-MM-dd");

    private readonly DirectoryInfo _archive = Directory.CreateTempSubdirectory("mutt-archive-");

    public void Dispose() => _archive.Delete(recursive: true);

    internal static PartitionMaintenance Maintenance(NpgsqlDataSource db, InfrastructureFixture infra, IMeterFactory meters, RemediationOptions options,
        AuditArchiveStorage? storage = null) =>
        new(db, new DeadLetterOperations(infra.Multiplexer, new QueueNames()), new RemediationMetrics(meters),
            new AuditArchiver(db, storage ?? new AuditArchiveStorage(), NullLogger<AuditArchiver>.Instance),
            Options.Create(options), NullLogger<PartitionMaintenance>.Instance);

    private RemediationOptions Options90Days(string? folder = "") => new() { AuditRetentionDays = 90, AuditArchiveDir = folder == "" ? _archive.FullName : folder };

    [Fact]
    public async Task Expired_month_is_archived_verified_dropped_and_restored_exactly_by_the_DbManager()
    {
        await ForwarderTestHost.FlushAsync(infra);
        var database = await infra.CreateDatabaseAsync();
        await using var db = NpgsqlDataSource.Create(database);
        await FillMonthAsync(db, Expired, ExpiredDay, MonthRows);
        var fingerprint = await FingerprintAsync(db, Expired);
        using var meters = new TestMeterFactory();
        using var archived = new MetricReader(meters, "mutt_remediation_archived_rows_total");

        var report = await Maintenance(db, infra, meters, Options90Days()).RunAsync(dryRunOverride: false);

        Assert.Empty(report.Failures);
        Assert.Equal([Expired], report.PartitionsArchived);
        Assert.Equal([Expired], report.PartitionsDropped);
        Assert.False(await ExistsAsync(db, Expired));
        Assert.Equal(MonthRows + 3, archived.Sum());
        var data = Path.Combine(_archive.FullName, Expired + ".csv.gz");
        var manifest = await AuditArchiveFormat.ReadManifestAsync(Path.Combine(_archive.FullName, Expired + ".manifest.json"));
        Assert.Equal(MonthRows + 3, manifest.Rows);
        Assert.Equal(Path.GetFileName(data), manifest.File);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(data))), manifest.Sha256);
        Assert.Equal(new FileInfo(data).Length, manifest.Bytes);
        Assert.Equal(new DateTimeOffset(ExpiredMonth, TimeSpan.Zero), manifest.RangeFrom);
        Assert.Contains("raw_message", manifest.Columns);
        Assert.Empty(_archive.EnumerateFiles("*.partial"));

        var admin = database;
        var restore = await DbManagerTests.RunAsync(admin, "mutt_user_archive", "unused", ["restore", data]);
        Assert.True(restore.ExitCode == 0, restore.Log);
        Assert.Equal(fingerprint, await FingerprintAsync(db, "restored_" + Expired));

        // A second restore into the same table is refused; another name works.
        var again = await DbManagerTests.RunAsync(admin, "mutt_user_archive", "unused", ["restore", data]);
        Assert.True(again.ExitCode == 2, again.Log);
        var named = await DbManagerTests.RunAsync(admin, "mutt_user_archive", "unused", ["restore", data, "--table", "investigation_jan"]);
        Assert.True(named.ExitCode == 0, named.Log);
        Assert.Equal(fingerprint, await FingerprintAsync(db, "investigation_jan"));

        // A file that changed since it was archived is refused and leaves no table behind.
        var tampered = Path.Combine(_archive.FullName, "tampered.csv.gz");
        var bytes = await File.ReadAllBytesAsync(data);
        bytes[^16] ^= 0x5A; // one bit pattern near the end: the SHA-256 (and perhaps the inflate) no longer agrees
        await File.WriteAllBytesAsync(tampered, bytes);
        File.Copy(Path.Combine(_archive.FullName, Expired + ".manifest.json"), Path.Combine(_archive.FullName, "tampered.manifest.json"));
        var refused = await DbManagerTests.RunAsync(admin, "mutt_user_archive", "unused", ["restore", tampered]);
        Assert.True(refused.ExitCode == 1, refused.Log);
        Assert.False(await ExistsAsync(db, "restored_tampered"));
    }

    [Fact]
    public async Task Failed_verify_keeps_the_partition_leaves_no_file_and_is_counted()
    {
        await using var db = NpgsqlDataSource.Create(await infra.CreateDatabaseAsync());
        await FillMonthAsync(db, Expired, ExpiredDay, 5_000);
        using var meters = new TestMeterFactory();
        using var failures = new MetricReader(meters, "mutt_remediation_archive_failures_total");

        var report = await Maintenance(db, infra, meters, Options90Days(), new CuttingStorage()).RunAsync(dryRunOverride: false);

        Assert.StartsWith($"verify: {Expired}", Assert.Single(report.Failures));
        Assert.Empty(report.PartitionsArchived);
        Assert.Empty(report.PartitionsDropped);
        Assert.True(await ExistsAsync(db, Expired));
        Assert.Equal(5_003L, await ScalarAsync<long>(db, $"SELECT count(*) FROM {Expired}"));
        Assert.Empty(_archive.EnumerateFiles());
        Assert.Equal(1, failures.Sum("stage", "verify"));

        // With storage that keeps what it is given, the next run archives and drops it.
        var next = await Maintenance(db, infra, meters, Options90Days()).RunAsync(dryRunOverride: false);
        Assert.Equal([Expired], next.PartitionsDropped);
    }

    [Fact]
    public async Task Archive_folder_that_cannot_be_written_is_an_export_failure_and_keeps_the_partition()
    {
        await using var db = NpgsqlDataSource.Create(await infra.CreateDatabaseAsync());
        await FillMonthAsync(db, Expired, ExpiredDay, 10);
        // A regular file where the folder should be: no directory can be made there (even as root).
        var notAFolder = Path.Combine(_archive.FullName, "not-a-folder");
        await File.WriteAllTextAsync(notAFolder, "");
        using var meters = new TestMeterFactory();
        using var failures = new MetricReader(meters, "mutt_remediation_archive_failures_total");

        var report = await Maintenance(db, infra, meters, Options90Days(Path.Combine(notAFolder, "archive"))).RunAsync(dryRunOverride: false);

        Assert.StartsWith($"export: {Expired}", Assert.Single(report.Failures));
        Assert.Empty(report.PartitionsDropped);
        Assert.True(await ExistsAsync(db, Expired));
        Assert.Equal(1, failures.Sum("stage", "export"));
    }

    [Fact]
    public async Task Drop_is_refused_when_the_partition_no_longer_holds_what_was_archived()
    {
        await using var db = NpgsqlDataSource.Create(await infra.CreateDatabaseAsync());
        await FillMonthAsync(db, Expired, ExpiredDay, 10);

        // A late row (an old event replayed) after the export: the count given no longer matches.
        var error = await Assert.ThrowsAsync<PostgresException>(() => ScalarAsync<bool>(db, $"SELECT drop_archived_partition('{Expired}', 3, 12)"));
        Assert.Equal(PostgresErrorCodes.ObjectNotInPrerequisiteState, error.SqlState);
        Assert.True(await ExistsAsync(db, Expired));
        // Current months and names that are not monthly partitions are never dropped.
        var current = "event_audit_log_" + DateTime.UtcNow.ToString("yyyy_MM");
        Assert.Equal(PostgresErrorCodes.InvalidParameterValue,
            (await Assert.ThrowsAsync<PostgresException>(() => ScalarAsync<bool>(db, $"SELECT drop_archived_partition('{current}', 0, 0)"))).SqlState);
        Assert.Equal(PostgresErrorCodes.InvalidParameterValue,
            (await Assert.ThrowsAsync<PostgresException>(() => ScalarAsync<bool>(db, "SELECT drop_archived_partition('alert_rules', 0, 0)"))).SqlState);
        Assert.True(await ScalarAsync<bool>(db, $"SELECT drop_archived_partition('{Expired}', 3, 13)"));
        Assert.False(await ScalarAsync<bool>(db, $"SELECT drop_archived_partition('{Expired}', 3, 13)"));
    }

    [Fact]
    public async Task Default_partition_rows_get_their_month_or_are_archived_so_retention_covers_every_row_and_dry_run_changes_nothing()
    {
        await using var db = NpgsqlDataSource.Create(await infra.CreateDatabaseAsync());
        var old = FirstOfMonth(DateTime.UtcNow.AddYears(-3));
        await ExecuteAsync(db, $$"""
            INSERT INTO event_audit_log (event_timestamp, hostname, handling_decision, correlation_id, raw_message) VALUES
              ('{{old:yyyy-MM}}-17T10:00:00Z', 'old-clock', 'Unhandled', 'd-1', '{"message":"three years old"}'),
              ('{{old:yyyy-MM}}-18T10:00:00Z', 'old-clock', 'Unhandled', 'd-2', '{"message":"three years old"}'),
              ('2999-01-02T10:00:00Z', 'future-clock', 'Unhandled', 'd-3', '{"message":"from 2999"}'),
              ('-infinity', 'no-clock', 'Unhandled', 'd-4', '{"message":"DateTime.MinValue"}'),
              ('infinity', 'no-clock', 'Unhandled', 'd-5', '{"message":"DateTime.MaxValue"}')
            """);
        Assert.Equal(5L, await ScalarAsync<long>(db, "SELECT count(*) FROM event_audit_log_default"));
        using var meters = new TestMeterFactory();

        var dry = await Maintenance(db, infra, meters, Options90Days()).RunAsync(dryRunOverride: true);
        Assert.Equal([Name(old), "event_audit_log_2999_01"], dry.DefaultMonthsMoved);
        Assert.Equal(2, dry.DefaultRowsArchived);
        Assert.Equal(5L, await ScalarAsync<long>(db, "SELECT count(*) FROM event_audit_log_default"));
        Assert.Empty(_archive.EnumerateFiles());

        var real = await Maintenance(db, infra, meters, Options90Days()).RunAsync(dryRunOverride: false);

        Assert.Empty(real.Failures);
        Assert.Equal(dry.DefaultMonthsMoved, real.DefaultMonthsMoved);
        Assert.Equal(2, real.DefaultRowsArchived);
        Assert.Equal(0L, await ScalarAsync<long>(db, "SELECT count(*) FROM event_audit_log_default"));
        // The old month got its partition, which was expired: archived and dropped in the same run.
        Assert.Equal([Name(old)], real.PartitionsDropped);
        Assert.Equal(2, (await AuditArchiveFormat.ReadManifestAsync(Path.Combine(_archive.FullName, Name(old) + ".manifest.json"))).Rows);
        Assert.Equal(1L, await ScalarAsync<long>(db, "SELECT count(*) FROM event_audit_log_2999_01"));
        var sweep = Assert.Single(_archive.EnumerateFiles("event_audit_log_default_*.manifest.json"));
        var manifest = await AuditArchiveFormat.ReadManifestAsync(sweep.FullName);
        Assert.Equal(2, manifest.Rows);
        await using var stored = File.OpenRead(Path.Combine(_archive.FullName, manifest.File));
        Assert.Equal((2L, manifest.Sha256, true), await AuditArchiveFormat.ReadBackAsync(stored));
    }

    [Fact]
    public async Task Without_an_archive_folder_expired_partitions_are_kept_and_the_failure_is_counted()
    {
        await using var db = NpgsqlDataSource.Create(await infra.CreateDatabaseAsync());
        await FillMonthAsync(db, Expired, ExpiredDay, 10);
        using var meters = new TestMeterFactory();
        using var failures = new MetricReader(meters, "mutt_remediation_archive_failures_total");

        var report = await Maintenance(db, infra, meters, Options90Days(folder: null)).RunAsync(dryRunOverride: false);

        Assert.Empty(report.PartitionsDropped);
        Assert.True(await ExistsAsync(db, Expired));
        Assert.StartsWith("no_archive_dir", Assert.Single(report.Failures));
        Assert.Equal(1, failures.Sum("stage", "no_archive_dir"));
    }

    [Fact]
    public async Task Archive_files_older_than_the_archive_retention_are_deleted()
    {
        await using var db = NpgsqlDataSource.Create(await infra.CreateDatabaseAsync());
        var ancient = FirstOfMonth(DateTime.UtcNow.AddYears(-6));
        await FillMonthAsync(db, Name(ancient), ancient.ToString("yyyy-MM-dd"), 10);
        await FillMonthAsync(db, Expired, ExpiredDay, 10);
        using var meters = new TestMeterFactory();
        var keepForever = Options90Days();
        keepForever.AuditArchiveRetentionYears = 0;
        await Maintenance(db, infra, meters, keepForever).RunAsync(dryRunOverride: false);
        Assert.Equal(4, _archive.EnumerateFiles().Count());

        // Five years: the month six years ago goes, the one two years ago stays.
        var fiveYears = Options90Days();
        fiveYears.AuditArchiveRetentionYears = 5;
        var dry = await Maintenance(db, infra, meters, fiveYears).RunAsync(dryRunOverride: true);
        Assert.Equal([Name(ancient) + ".csv.gz"], dry.ArchivesPruned);
        Assert.Equal(4, _archive.EnumerateFiles().Count());
        var real = await Maintenance(db, infra, meters, fiveYears).RunAsync(dryRunOverride: false);
        Assert.Equal([Name(ancient) + ".csv.gz"], real.ArchivesPruned);
        Assert.Equal([Expired + ".csv.gz", Expired + ".manifest.json"], _archive.EnumerateFiles().Select(f => f.Name).Order(StringComparer.Ordinal));
    }

    private static DateTime FirstOfMonth(DateTime day) => new(day.Year, day.Month, 1, 0, 0, 0, DateTimeKind.Utc);

    private static string Name(DateTime month) => "event_audit_log_" + month.ToString("yyyy_MM");

    /// <summary>A month of audit rows, plus three whose text needs CSV quoting (comma, quote, newline, non-ASCII).</summary>
    private static async Task FillMonthAsync(NpgsqlDataSource db, string partition, string month, int rows)
    {
        await ExecuteAsync(db, $"SELECT create_monthly_partition('{month}')");
        await ExecuteAsync(db, $"""
            INSERT INTO event_audit_log (event_timestamp, hostname, matched_rule_id, handling_decision, forwarded_to_moog, correlation_id, raw_message)
            SELECT timestamptz '{month} 00:00:00+00' + make_interval(secs => i * (2419200.0 / {rows})), 'host-' || (i % 500),
                   CASE WHEN i % 7 = 0 THEN NULL ELSE i % 50 END, CASE WHEN i % 2 = 0 THEN 'Page_and_ticket' ELSE 'Unhandled' END, i % 2 = 0,
                   'c-{partition}-' || i, jsonb_build_object('message', 'LINK-DOWN interface ' || (i % 48), 'hostname', 'host-' || (i % 500), 'n', i)
            FROM generate_series(1, {rows}) AS i;
            INSERT INTO event_audit_log (event_timestamp, hostname, handling_decision, correlation_id, raw_message) VALUES
              (timestamptz '{month} 12:00:00.123456+00', 'odd,"host"', 'Unhandled', 'q-{partition}-1', '{"{"}"message":"quote \" comma , tab \t é ✓"{"}"}'),
              (timestamptz '{month} 12:00:01+00', E'two\nlines', 'Unhandled', 'q-{partition}-2', '{"{"}"message":"line\nbreak"{"}"}'),
              (timestamptz '{month} 12:00:02+00', '', 'Unhandled', 'q-{partition}-3', '[]');
            """);
    }

    /// <summary>Every row of a table as text, hashed in id order: equal fingerprints mean equal contents.</summary>
    private static Task<string> FingerprintAsync(NpgsqlDataSource db, string table) =>
        ScalarAsync<string>(db, $"""
            SELECT count(*) || ':' || md5(string_agg(concat_ws('|', id, event_timestamp, hostname, matched_rule_id, handling_decision,
                   forwarded_to_moog, correlation_id, raw_message, created_at), E'\n' ORDER BY id, correlation_id)) FROM {table}
            """);

    private static Task<bool> ExistsAsync(NpgsqlDataSource db, string table) => ScalarAsync<bool>(db, $"SELECT to_regclass('public.{table}') IS NOT NULL");

    private static async Task ExecuteAsync(NpgsqlDataSource db, string sql)
    {
        await using var command = db.CreateCommand(sql);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlDataSource db, string sql)
    {
        await using var command = db.CreateCommand(sql);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>Storage that hands back only the first half of what it stored (a failing NFS mount, a cut file).</summary>
    private sealed class CuttingStorage : AuditArchiveStorage
    {
        public override Stream OpenRead(string path)
        {
            var bytes = File.ReadAllBytes(path);
            return new MemoryStream(bytes, 0, bytes.Length / 2);
        }
    }

    /// <summary>Sums the measurements of one counter of the meters a test's factory creates.</summary>
    private sealed class MetricReader : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly List<(long Value, KeyValuePair<string, object?>[] Tags)> _values = [];

        public MetricReader(TestMeterFactory factory, string name)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Name == name && ReferenceEquals(instrument.Meter.Scope, factory))
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                lock (_values)
                {
                    _values.Add((value, tags.ToArray()));
                }
            });
            _listener.Start();
        }

        public long Sum(string? tag = null, string? value = null)
        {
            lock (_values)
            {
                return _values.Where(v => tag is null || v.Tags.Any(t => t.Key == tag && Equals(t.Value, value))).Sum(v => v.Value);
            }
        }

        public void Dispose() => _listener.Dispose();
    }
}
