using Mutt.Testing;
using Mutt.DbManager.Database;
using Npgsql;
using StackExchange.Redis;

namespace Mutt.Tests.Infrastructure;

/// <summary>
/// A real redis-server and a real PostgreSQL server on free loopback ports with their data in a
/// temp folder, started once per test collection and stopped by PID afterwards.
/// Each test asks for a fresh database (<see cref="CreateDatabaseAsync"/>) and a fresh Redis
/// logical database or flushes, so tests do not see each other's rows.
/// </summary>
public sealed class InfrastructureFixture : IAsyncLifetime
{
    private int _databaseCounter;

    public string Root { get; } = Path.Combine(Path.GetTempPath(), "mutt-tests-" + Guid.NewGuid().ToString("N")[..8]);
    public RedisServer Redis { get; private set; } = null!;
    public PostgresServer Postgres { get; private set; } = null!;
    public ConnectionMultiplexer Multiplexer { get; private set; } = null!;

    public string RedisConnectionString => Redis.ConnectionString;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Root);
        var redisTask = RedisServer.StartAsync(Path.Combine(Root, "redis"), appendOnly: false);
        var postgresTask = PostgresServer.StartAsync(Path.Combine(Root, "postgres"), fastAndLoose: true);
        try
        {
            Redis = await redisTask;
            Postgres = await postgresTask;
        }
        catch
        {
            await DisposeStartedAsync(redisTask, postgresTask);
            throw;
        }
        // allowAdmin: the fixture flushes Redis between tests (FLUSHALL is an admin command).
        Multiplexer = ConnectionMultiplexer.Connect(Redis.ConnectionString + ",allowAdmin=true,abortConnect=false");
    }

    /// <summary>A new, migrated database (optionally seeded with spec 002's sample data); returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(bool seed = false, bool migrate = true)
    {
        var name = $"muttdb_{Interlocked.Increment(ref _databaseCounter)}_{Guid.NewGuid():N}"[..30];
        await Postgres.EnsureDatabaseAsync(name);
        var connectionString = Postgres.ConnectionStringFor(name);
        if (migrate)
        {
            await using var dataSource = NpgsqlDataSource.Create(connectionString);
            await MigrationRunner.ApplyAsync(dataSource);
            if (seed)
            {
                await MigrationRunner.SeedAsync(dataSource);
            }
        }
        return connectionString;
    }

    /// <summary>Empties Redis (all logical databases). Tests sharing the fixture run one after another within a collection.</summary>
    public async Task FlushRedisAsync()
    {
        var server = Multiplexer.GetServer(Multiplexer.GetEndPoints()[0]);
        await server.FlushAllDatabasesAsync();
    }

    public async Task DisposeAsync()
    {
        Multiplexer?.Dispose();
        if (Redis is not null)
        {
            await Redis.DisposeAsync();
        }
        if (Postgres is not null)
        {
            await Postgres.DisposeAsync();
        }
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static async Task DisposeStartedAsync(Task<RedisServer> redis, Task<PostgresServer> postgres)
    {
        if (redis.IsCompletedSuccessfully)
        {
            await redis.Result.DisposeAsync();
        }
        if (postgres.IsCompletedSuccessfully)
        {
            await postgres.Result.DisposeAsync();
        }
    }
}

/// <summary>Redis and PostgreSQL for the collection; Chromium only once a browser test asks for a page.</summary>
[CollectionDefinition(Name)]
public sealed class InfrastructureCollection : ICollectionFixture<InfrastructureFixture>, ICollectionFixture<ChromiumFixture>
{
    public const string Name = "infrastructure";
}
