using Mutt.Alerter.Audit;
using Mutt.Tests.Infrastructure;
using Npgsql;

namespace Mutt.Tests.Integration;

/// <summary>The audit write is idempotent whichever path it takes (direct COPY, or staging + ON CONFLICT on a duplicate).</summary>
[Collection(InfrastructureCollection.Name)]
[Trait("Category", "Integration")]
public sealed class AlerterAuditWriterTests(InfrastructureFixture infra)
{
    private static AuditRow Row(int i) => new(new DateTime(2025, 3, 15, 11, 0, 0, DateTimeKind.Utc).AddSeconds(i), "h" + i, null, "unhandled", false,
        "aw-" + i, $$$"""{"message":"m {{{i}}}","hostname":"h{{{i}}}","nested":{"k":[1,2]}}""");

    [Fact]
    public async Task Replayed_and_partly_replayed_batches_add_each_row_once()
    {
        var connectionString = await infra.CreateDatabaseAsync();
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await using var writer = new AuditWriter(dataSource);

        Assert.Equal(100, await writer.WriteAsync(Enumerable.Range(0, 100).Select(Row).ToList()));
        Assert.Equal(0, writer.IdempotentWrites);                                                         // new rows: the direct COPY
        Assert.Equal(0, await writer.WriteAsync(Enumerable.Range(0, 100).Select(Row).ToList()));          // full replay
        Assert.Equal(50, await writer.WriteAsync(Enumerable.Range(50, 100).Select(Row).ToList()));        // half old, half new
        Assert.Equal(1, await writer.WriteAsync([Row(500), Row(500)]));                                   // duplicate inside one batch
        Assert.Equal(3, writer.IdempotentWrites);                                                         // each refused, then written idempotently
        Assert.Equal(10, await writer.WriteAsync(Enumerable.Range(600, 10).Select(Row).ToList()));        // the connection still works
        Assert.Equal(3, writer.IdempotentWrites);

        await using var command = dataSource.CreateCommand(
            "SELECT count(*), count(DISTINCT correlation_id), count(*) FILTER (WHERE raw_message->'nested'->'k'->>1 = '2') FROM event_audit_log");
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal(161, reader.GetInt64(0));
        Assert.Equal(161, reader.GetInt64(1));
        Assert.Equal(161, reader.GetInt64(2));
    }

    [Fact]
    public async Task Concurrent_writes_on_several_connections_add_each_row_once()
    {
        var connectionString = await infra.CreateDatabaseAsync();
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await using var writer = new AuditWriter(dataSource, connections: 3);

        // Six batches at once, overlapping by half (a replay racing the original write): 350 distinct rows.
        var written = await Task.WhenAll(Enumerable.Range(0, 6).Select(b => Task.Run(() => writer.WriteAsync(Enumerable.Range(b * 50, 100).Select(Row).ToList()))));

        Assert.Equal(350, written.Sum());
        await using var command = dataSource.CreateCommand("SELECT count(*), count(DISTINCT correlation_id) FROM event_audit_log");
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal(350, reader.GetInt64(0));
        Assert.Equal(350, reader.GetInt64(1));
    }

    [Fact]
    public async Task Nul_characters_from_senders_are_audited_as_replacement_characters_instead_of_failing_the_batch()
    {
        var connectionString = await infra.CreateDatabaseAsync();
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await using var writer = new AuditWriter(dataSource);
        var ts = new DateTime(2025, 3, 15, 12, 0, 0, DateTimeKind.Utc);
        AuditRow[] rows =
        [
            new(ts, "bad\0host", null, "unhandled", false, "nul-1", """{"message":"a\u0000b","note":"\\u0000 stays text"}"""),
            new(ts, "good", null, "unhandled", false, "nul-2", """{"message":"fine"}"""),
        ];

        Assert.Equal(2, await writer.WriteAsync(rows));

        await using var command = dataSource.CreateCommand(
            "SELECT hostname, raw_message->>'message', raw_message->>'note' FROM event_audit_log WHERE correlation_id = 'nul-1'");
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal("bad\uFFFDhost", reader.GetString(0));
        Assert.Equal("a\uFFFDb", reader.GetString(1));
        Assert.Equal("\\u0000 stays text", reader.GetString(2));
    }
}
