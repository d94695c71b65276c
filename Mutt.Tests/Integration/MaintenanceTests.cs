using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Mutt.Core.DeadLetters;
using Mutt.Core.Events;
using Mutt.Core.Redis;
using Mutt.Remediation.Maintenance;
using Mutt.Remediation.Services;
using Mutt.Tests.Infrastructure;
using Npgsql;

namespace Mutt.Tests.Integration;

[Collection(InfrastructureCollection.Name)]
[Trait("Category", "Integration")]
public sealed class MaintenanceTests(InfrastructureFixture infra)
{
    private static async Task<List<string>> PartitionsAsync(NpgsqlDataSource db)
    {
        await using var cmd = db.CreateCommand("""
            SELECT c.relname FROM pg_inherits i JOIN pg_class p ON i.inhparent = p.oid JOIN pg_class c ON i.inhrelid = c.oid
            WHERE p.relname = 'event_audit_log' AND c.relname ~ '_\d{4}_\d{2}$' ORDER BY 1
            """);
        var names = new List<string>();
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            names.Add(reader.GetString(0));
        }
        return names;
    }

    [Fact]
    public async Task Maintenance_creates_partitions_ahead_drops_old_ones_and_trims_dlqs_and_dry_run_changes_nothing()
    {
        await ForwarderTestHost.FlushAsync(infra);
        await using var db = NpgsqlDataSource.Create(await infra.CreateDatabaseAsync());
        await using (var old = db.CreateCommand("SELECT create_monthly_partition('2020-01-01')"))
        {
            await old.ExecuteScalarAsync();
        }
        var redisDb = infra.Multiplexer.GetDatabase();
        var stale = new DeadLetter { Payload = "{}", Reason = "max_retries", FailedAt = DateTimeOffset.UtcNow.AddDays(-40) };
        var fresh = new DeadLetter { Payload = "{}", Reason = "max_retries", FailedAt = DateTimeOffset.UtcNow.AddDays(-1) };
        await redisDb.ListLeftPushAsync(MuttKeys.MoogDlq, JsonSerializer.Serialize(stale, MuttJsonContext.Default.DeadLetter));
        await redisDb.ListLeftPushAsync(MuttKeys.MoogDlq, JsonSerializer.Serialize(fresh, MuttJsonContext.Default.DeadLetter));
        using var meters = new TestMeterFactory();
        var archive = Directory.CreateTempSubdirectory("mutt-archive-");
        var maintenance = AuditArchiveTests.Maintenance(db, infra, meters,
            new RemediationOptions { PrecreateMonths = 5, AuditRetentionDays = 90, DlqRetentionDays = 30, AuditArchiveDir = archive.FullName });
        var now = DateTime.UtcNow;
        string Month(int offset) => "event_audit_log_" + new DateTime(now.Year, now.Month, 1).AddMonths(offset).ToString("yyyy_MM");
        var before = await PartitionsAsync(db);

        var dry = await maintenance.RunAsync(dryRunOverride: true);
        Assert.Equal([Month(3), Month(4), Month(5)], dry.PartitionsCreated);
        Assert.Equal(["event_audit_log_2020_01"], dry.PartitionsDropped);
        Assert.Equal(1, dry.DlqTrimmed[MuttKeys.MoogDlq]);
        Assert.Equal(before, await PartitionsAsync(db));
        Assert.Empty(archive.EnumerateFiles());
        Assert.Equal(2, await redisDb.ListLengthAsync(MuttKeys.MoogDlq));

        var real = await maintenance.RunAsync(dryRunOverride: false);
        Assert.Equal(dry.PartitionsCreated, real.PartitionsCreated);
        Assert.Equal(dry.PartitionsDropped, real.PartitionsDropped);
        var after = await PartitionsAsync(db);
        Assert.DoesNotContain("event_audit_log_2020_01", after);
        Assert.All(Enumerable.Range(0, 6), i => Assert.Contains(Month(i), after));
        var left = ForwarderTestHost.ReadDeadLetters(infra.Multiplexer, MuttKeys.MoogDlq);
        Assert.Equal(fresh.Id, Assert.Single(left).Id);

        var again = await maintenance.RunAsync(dryRunOverride: false);
        Assert.Empty(again.PartitionsCreated);
        Assert.Empty(again.PartitionsDropped);
        archive.Delete(recursive: true);
    }
}
