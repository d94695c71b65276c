using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Mutt.Alerter.Extensions;
using Mutt.Alerter.Services;
using Mutt.Core.Events;
using Mutt.Core.Rules;
using Mutt.Tests.Infrastructure;
using Npgsql;
using StackExchange.Redis;

namespace Mutt.Tests.Integration;

/// <summary>An Alerter running in the test process (<see cref="InProcessServiceHost"/>) with test-speed heartbeats.</summary>
public sealed class AlerterTestHost : IAsyncDisposable
{
    private readonly InProcessServiceHost _host;

    private AlerterTestHost(InProcessServiceHost host) => _host = host;

    public IServiceProvider Services => _host.Services;
    public AlerterState State => _host.Services.GetRequiredService<AlerterState>();
    public string BaseAddress => _host.BaseAddress;

    public static async Task<AlerterTestHost> StartAsync(string redis, string database, string pod, IDictionary<string, string?>? settings = null,
        Action<IServiceCollection>? configureServices = null)
    {
        var config = new Dictionary<string, string?>
        {
            ["ConnectionStrings:redis"] = redis,
            ["ConnectionStrings:muttdb"] = database,
            ["POD_NAME"] = pod,
            ["LOG_LEVEL"] = "WARNING",
            ["ALERTER_HEARTBEAT_INTERVAL"] = "1",
            ["ALERTER_JANITOR_TIMEOUT"] = "3",
            ["ALERTER_DB_RETRY_MAX_MS"] = "500",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            config[key] = value;
        }
        return new AlerterTestHost(await InProcessServiceHost.StartAsync("Mutt.Alerter", config, builder => builder.AddApplicationServices(),
            configureServices: configureServices));
    }

    public ValueTask DisposeAsync() => _host.DisposeAsync();
}

public static class AlerterTestData
{
    public static async Task InsertRuleAsync(string database, string type, string match, int priority, string prod, string dev, string team, string? oid = null, int? severity = null)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "INSERT INTO alert_rules (match_string, trap_oid, syslog_severity, match_type, priority, prod_handling, dev_handling, team_assignment) VALUES (@m, @o, @s, @t, @p, @prod, @dev, @team)", connection);
        command.Parameters.AddWithValue("m", (object?)match ?? DBNull.Value);
        command.Parameters.AddWithValue("o", (object?)oid ?? DBNull.Value);
        command.Parameters.AddWithValue("s", (object?)severity ?? DBNull.Value);
        command.Parameters.AddWithValue("t", type);
        command.Parameters.AddWithValue("p", priority);
        command.Parameters.AddWithValue("prod", prod);
        command.Parameters.AddWithValue("dev", dev);
        command.Parameters.AddWithValue("team", team);
        await command.ExecuteNonQueryAsync();
    }

    public static async Task ExecuteAsync(string database, string sql)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    public static async Task<long> ScalarAsync(string database, string sql)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync());
    }

    public static string Event(string id, string message, string hostname = "core-r1", int? severity = null, string? oid = null) =>
        JsonSerializer.Serialize(new MuttEvent
        {
            Timestamp = "2025-06-01T12:00:00Z",
            Message = message,
            Hostname = hostname,
            SyslogSeverity = severity,
            TrapOid = oid,
            CorrelationId = id,
        }, MuttJsonContext.Default.MuttEvent);

    /// <summary>Pushes like the Ingestor does (LPUSH; consumers take from the right), in chunks.</summary>
    public static async Task PushAsync(IDatabase db, string queue, IEnumerable<string> items)
    {
        foreach (var chunk in items.Chunk(1000))
        {
            await db.ListLeftPushAsync(queue, chunk.Select(c => (RedisValue)c).ToArray());
        }
    }

    public static async Task<List<AlertMessage>> AlertsAsync(IDatabase db, string queue = "mutt:alert_queue") =>
        (await db.ListRangeAsync(queue)).Select(v => JsonSerializer.Deserialize((string)v!, MuttJsonContext.Default.AlertMessage)!).ToList();

    public static async Task<List<DeadLetter>> DeadLettersAsync(IDatabase db, string queue = "mutt:dlq:alerter") =>
        (await db.ListRangeAsync(queue)).Select(v => JsonSerializer.Deserialize((string)v!, MuttJsonContext.Default.DeadLetter)!).ToList();

    /// <summary>
    /// Empties Redis. InfrastructureFixture.FlushRedisAsync needs an admin-mode multiplexer (its
    /// FLUSHALL is refused by StackExchange.Redis otherwise), so this uses one of its own.
    /// </summary>
    public static async Task FlushRedisAsync(string redis)
    {
        using var admin = await ConnectionMultiplexer.ConnectAsync(redis + ",allowAdmin=true");
        await admin.GetServer(admin.GetEndPoints()[0]).FlushAllDatabasesAsync();
    }
}
