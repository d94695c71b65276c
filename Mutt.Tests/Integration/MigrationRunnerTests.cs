using Mutt.DbManager.Database;
using Mutt.Tests.Infrastructure;
using Npgsql;

namespace Mutt.Tests.Integration;

[Collection(InfrastructureCollection.Name)]
[Trait("Category", "Integration")]
public sealed class MigrationRunnerTests(InfrastructureFixture infra)
{
    [Fact]
    public async Task Migrations_apply_once_and_a_second_run_applies_nothing()
    {
        var connectionString = await infra.CreateDatabaseAsync(migrate: false);
        await using var dataSource = NpgsqlDataSource.Create(connectionString);

        var first = await MigrationRunner.ApplyAsync(dataSource);
        var second = await MigrationRunner.ApplyAsync(dataSource);

        Assert.Equal(MigrationRunner.All.Select(m => m.Version), first);
        Assert.Empty(second);
        await using var count = dataSource.CreateCommand("SELECT count(*) FROM schema_migrations");
        Assert.Equal((long)MigrationRunner.All.Count, await count.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Concurrent_starts_apply_each_migration_exactly_once()
    {
        var connectionString = await infra.CreateDatabaseAsync(migrate: false);
        await using var dataSource = NpgsqlDataSource.Create(connectionString);

        var results = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Task.Run(() => MigrationRunner.ApplyAsync(dataSource))));

        Assert.Equal(MigrationRunner.All.Count, results.Sum(r => r.Count));
        await using var tables = dataSource.CreateCommand(
            "SELECT count(*) FROM information_schema.tables WHERE table_name IN ('alert_rules','development_hosts','device_teams','event_audit_log','config_audit_log')");
        Assert.Equal(5L, await tables.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Audit_table_has_current_and_next_two_monthly_partitions_and_a_default()
    {
        var connectionString = await infra.CreateDatabaseAsync();
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await using var command = dataSource.CreateCommand("""
            SELECT child.relname FROM pg_inherits
            JOIN pg_class parent ON pg_inherits.inhparent = parent.oid
            JOIN pg_class child ON pg_inherits.inhrelid = child.oid
            WHERE parent.relname = 'event_audit_log' ORDER BY 1
            """);
        var partitions = new List<string>();
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                partitions.Add(reader.GetString(0));
            }
        }
        var now = DateTime.UtcNow;
        var expected = Enumerable.Range(0, 3).Select(i => $"event_audit_log_{now.AddMonths(i):yyyy_MM}").Append("event_audit_log_default");
        Assert.Equal(expected.Order(), partitions.Order());
    }

    [Fact]
    public async Task Audit_insert_is_idempotent_per_correlation_id_and_an_old_timestamp_lands_in_the_default_partition()
    {
        var connectionString = await infra.CreateDatabaseAsync();
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        const string insert = """
            INSERT INTO event_audit_log (event_timestamp, hostname, handling_decision, correlation_id, raw_message)
            VALUES (@ts, 'h1', 'unhandled', @cid, '{}'::jsonb) ON CONFLICT (correlation_id, event_timestamp) DO NOTHING
            """;
        var ts = new DateTime(2001, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        for (var i = 0; i < 2; i++)
        {
            await using var command = dataSource.CreateCommand(insert);
            command.Parameters.AddWithValue("ts", ts);
            command.Parameters.AddWithValue("cid", "cid-1");
            await command.ExecuteNonQueryAsync();
        }
        await using var count = dataSource.CreateCommand("SELECT count(*) FROM event_audit_log_default WHERE correlation_id = 'cid-1'");
        Assert.Equal(1L, await count.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Creating_a_partition_moves_rows_parked_in_the_default_partition()
    {
        var connectionString = await infra.CreateDatabaseAsync();
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await using (var insert = dataSource.CreateCommand("""
            INSERT INTO event_audit_log (event_timestamp, hostname, handling_decision, correlation_id, raw_message)
            VALUES ('2030-06-15T00:00:00Z', 'h1', 'unhandled', 'future-1', '{}'::jsonb)
            """))
        {
            await insert.ExecuteNonQueryAsync();
        }

        await using (var create = dataSource.CreateCommand("SELECT create_monthly_partition('2030-06-01')"))
        {
            Assert.Equal("event_audit_log_2030_06", await create.ExecuteScalarAsync());
        }

        await using var count = dataSource.CreateCommand("SELECT count(*) FROM event_audit_log_2030_06 WHERE correlation_id = 'future-1'");
        Assert.Equal(1L, await count.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Seed_is_idempotent()
    {
        var connectionString = await infra.CreateDatabaseAsync(seed: true);
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await MigrationRunner.SeedAsync(dataSource);
        await using var rules = dataSource.CreateCommand("SELECT count(*) FROM alert_rules");
        Assert.Equal(4L, await rules.ExecuteScalarAsync());
        await using var hosts = dataSource.CreateCommand("SELECT count(*) FROM development_hosts");
        Assert.Equal(3L, await hosts.ExecuteScalarAsync());
        await using var teams = dataSource.CreateCommand("SELECT count(*) FROM device_teams");
        Assert.Equal(4L, await teams.ExecuteScalarAsync());
    }
}
