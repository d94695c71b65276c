using Mutt.Core.Audit;
using Mutt.Tests.Infrastructure;
using Npgsql;

namespace Mutt.Tests.Integration;

/// <summary>The audit write is idempotent whichever path it takes (direct COPY, or staging + ON CONFLICT on a duplicate).</summary>
[Collection(InfrastructureCollection.Name)]
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
        Assert.Equal(0, await writer.WriteAsync(Enumerable.Range(0, 100).Select(Row).ToList()));          // full replay
        Assert.Equal(50, await writer.WriteAsync(Enumerable.Range(50, 100).Select(Row).ToList()));        // half old, half new
        Assert.Equal(1, await writer.WriteAsync([Row(500), Row(500)]));                                   // duplicate inside one batch
        Assert.Equal(10, await writer.WriteAsync(Enumerable.Range(600, 10).Select(Row).ToList()));        // the connection still works

        await using var command = dataSource.CreateCommand(
            "SELECT count(*), count(DISTINCT correlation_id), count(*) FILTER (WHERE raw_message->'nested'->'k'->>1 = '2') FROM event_audit_log");
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal(161, reader.GetInt64(0));
        Assert.Equal(161, reader.GetInt64(1));
        Assert.Equal(161, reader.GetInt64(2));
    }
}
