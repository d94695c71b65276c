using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Mutt.Alerter.Extensions;
using Mutt.Alerter.Services;
using Mutt.Core.Events;
using Mutt.Core.Rules;
using Npgsql;
using StackExchange.Redis;

namespace Mutt.Tests.Integration;

/// <summary>An Alerter running in the test process with exactly the service's DI (AddApplicationServices).</summary>
public sealed class AlerterTestHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private AlerterTestHost(WebApplication app) => _app = app;

    public IServiceProvider Services => _app.Services;
    public AlerterState State => _app.Services.GetRequiredService<AlerterState>();

    /// <summary>The Kestrel address actually bound (the host listens on port 0).</summary>
    public string BaseAddress => _app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
        .Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses.First();

    public static async Task<AlerterTestHost> StartAsync(string redis, string database, string pod, IDictionary<string, string?>? settings = null,
        Action<IServiceCollection>? configureServices = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ApplicationName = "Mutt.Alerter", EnvironmentName = "Development" });
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
        builder.Configuration.AddInMemoryCollection(config);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.AddServiceDefaults();
        builder.AddApplicationServices();
        configureServices?.Invoke(builder.Services);
        var app = builder.Build();
        app.MapDefaultEndpoints();
        await app.StartAsync();
        return new AlerterTestHost(app);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
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
