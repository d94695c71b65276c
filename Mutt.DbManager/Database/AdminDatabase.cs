using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Mutt.Core.Clients;
using Npgsql;

namespace Mutt.DbManager.Database;

/// <summary>
/// The admin role's way into PostgreSQL (<c>ConnectionStrings:muttdb-admin</c>): the target database
/// as a data source with the services' TLS rules (DB_TLS_*), waiting for the server while it starts,
/// and creating the database through the <c>postgres</c> maintenance database when it is missing.
/// </summary>
public sealed class AdminDatabase : IAsyncDisposable
{
    public const string MaintenanceDatabase = "postgres";

    private readonly IConfiguration _configuration;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;

    private AdminDatabase(NpgsqlConnectionStringBuilder target, IConfiguration configuration, ILoggerFactory loggerFactory)
    {
        Target = target;
        _configuration = configuration;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger<AdminDatabase>();
        DataSource = CreateDataSource(target.ConnectionString);
    }

    public NpgsqlConnectionStringBuilder Target { get; }

    /// <summary>The target database as the admin role.</summary>
    public NpgsqlDataSource DataSource { get; }

    public string DatabaseName => Target.Database!;

    public string? UserName => Target.Username;

    /// <summary>host:port/database, for log lines (never the password).</summary>
    public string Describe() => $"{Target.Host}:{Target.Port}/{Target.Database}";

    /// <summary>Parses and checks the admin connection string; the failure names the variable, never echoes the value.</summary>
    public static AdminDatabase FromConfiguration(IConfiguration configuration, ILoggerFactory loggerFactory, int waitSeconds)
    {
        var raw = configuration.GetConnectionString(DbManagerOptions.AdminConnectionName);
        if (string.IsNullOrWhiteSpace(raw))
        {
            throw new DbManagerFailure(DbManagerExitCode.InvalidConfiguration,
                $"ConnectionStrings:{DbManagerOptions.AdminConnectionName} (env ConnectionStrings__{DbManagerOptions.AdminConnectionName}) is not set: " +
                "the connection string of the role that owns the schema");
        }
        NpgsqlConnectionStringBuilder target;
        try
        {
            target = new NpgsqlConnectionStringBuilder(raw);
        }
        catch (ArgumentException ex)
        {
            // The parser's message names the keyword, not the value.
            throw new DbManagerFailure(DbManagerExitCode.InvalidConfiguration,
                $"ConnectionStrings:{DbManagerOptions.AdminConnectionName} is not a valid Npgsql connection string: {ex.Message}");
        }
        if (string.IsNullOrWhiteSpace(target.Host))
        {
            throw new DbManagerFailure(DbManagerExitCode.InvalidConfiguration, $"ConnectionStrings:{DbManagerOptions.AdminConnectionName} has no Host.");
        }
        if (string.IsNullOrWhiteSpace(target.Database))
        {
            throw new DbManagerFailure(DbManagerExitCode.InvalidConfiguration,
                $"ConnectionStrings:{DbManagerOptions.AdminConnectionName} has no Database: name the MUTT database (e.g. Database=muttdb).");
        }
        // One attempt must not outlast the whole wait (Npgsql's default is 15 s).
        target.Timeout = Math.Min(target.Timeout, Math.Max(1, waitSeconds));
        try
        {
            return new AdminDatabase(target, configuration, loggerFactory);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            throw new DbManagerFailure(DbManagerExitCode.InvalidConfiguration,
                $"PostgreSQL TLS settings (DB_TLS_CA_CERT_PATH, DB_TLS_CLIENT_CERT_PATH, DB_TLS_CLIENT_KEY_PATH): {ex.GetType().Name}: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// Opens the target database until it answers, for up to <paramref name="wait"/>: PostgreSQL may
    /// still be starting (a Job beside a fresh server, a host boot). A missing database is created.
    /// Errors that waiting cannot cure (a refused login, a refused certificate) end at once.
    /// </summary>
    public async Task WaitUntilReadyAsync(TimeSpan wait, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var created = false;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await using var connection = await DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
                if (attempt > 1)
                {
                    _logger.LogInformation("PostgreSQL {Server} accepted the connection after {Seconds:0.0}s", Describe(), clock.Elapsed.TotalSeconds);
                }
                return;
            }
            catch (Exception caught) when (caught is NpgsqlException or TimeoutException or System.Net.Sockets.SocketException
                                           && !cancellationToken.IsCancellationRequested)
            {
                var ex = PostgresErrors.Unwrap(caught);
                if (ex is PostgresException { SqlState: PostgresErrorCodes.InvalidCatalogName } && !created)
                {
                    // false: the server went away meanwhile; the next attempt waits and tries again
                    created = await CreateDatabaseAsync(cancellationToken).ConfigureAwait(false);
                    continue;
                }
                if (!PostgresErrors.IsTransient(ex))
                {
                    // Waiting cures neither a refused login nor a refused certificate.
                    throw new DbManagerFailure(DbManagerExitCode.Failed,
                        $"PostgreSQL {Describe()} refused the admin connection as {Target.Username ?? "(no Username)"}: {PostgresErrors.Describe(ex)}", caught);
                }
                var left = wait - clock.Elapsed;
                if (left <= TimeSpan.Zero)
                {
                    throw new DbManagerFailure(DbManagerExitCode.Unreachable,
                        $"PostgreSQL {Describe()} did not accept a connection within DB_WAIT_SECONDS={wait.TotalSeconds:0} ({attempt} attempts): {PostgresErrors.Describe(ex)}", caught);
                }
                _logger.LogWarning("PostgreSQL {Server} not reachable yet (attempt {Attempt}): {Reason}; retrying for {Left:0}s more",
                    Describe(), attempt, PostgresErrors.Describe(ex), left.TotalSeconds);
                // 0.25 s doubling to 5 s, and a last attempt right at the end of the wait
                var delay = TimeSpan.FromMilliseconds(Math.Min(250 * Math.Pow(2, attempt - 1), 5000));
                await Task.Delay(delay < left ? delay : left, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// CREATE DATABASE through the maintenance database with the same credentials. The name is
    /// quoted by the server (quote_ident); a concurrent DbManager that won the race is fine.
    /// </summary>
    private async Task<bool> CreateDatabaseAsync(CancellationToken cancellationToken)
    {
        var maintenance = new NpgsqlConnectionStringBuilder(Target.ConnectionString) { Database = MaintenanceDatabase, Pooling = false };
        await using var dataSource = CreateDataSource(maintenance.ConnectionString);
        try
        {
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            string quoted;
            await using (var quote = new NpgsqlCommand("SELECT quote_ident($1)", connection) { Parameters = { new() { Value = DatabaseName } } })
            {
                quoted = (string)(await quote.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
            }
            await using var create = new NpgsqlCommand($"CREATE DATABASE {quoted}", connection);
            await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            _logger.LogInformation("Created database {Database} on {Host}:{Port} (owner {Owner})", DatabaseName, Target.Host, Target.Port, Target.Username);
            return true;
        }
        catch (NpgsqlException caught)
        {
            switch (PostgresErrors.Unwrap(caught))
            {
                case PostgresException { SqlState: PostgresErrorCodes.DuplicateDatabase or PostgresErrorCodes.UniqueViolation }:
                    _logger.LogInformation("Database {Database} was created meanwhile by another run", DatabaseName);
                    return true;
                case PostgresException { SqlState: PostgresErrorCodes.InsufficientPrivilege } ex:
                    throw new DbManagerFailure(DbManagerExitCode.Failed,
                        $"database {DatabaseName} does not exist and {Target.Username} may not create it ({PostgresErrors.Describe(ex)}): " +
                        $"have the DBA run CREATE DATABASE {DatabaseName} OWNER {Target.Username}", caught);
                case var ex when PostgresErrors.IsTransient(ex):
                    _logger.LogWarning("Creating database {Database} failed for now: {Reason}", DatabaseName, PostgresErrors.Describe(ex));
                    return false;
                case var ex:
                    throw new DbManagerFailure(DbManagerExitCode.Failed,
                        $"database {DatabaseName} does not exist and creating it through the {MaintenanceDatabase} database failed: {PostgresErrors.Describe(ex)}", caught);
            }
        }
    }

    /// <summary>
    /// TLS exactly as the services (DB_TLS_ENABLED, DB_TLS_CA_CERT_PATH, client certificate). No
    /// secret store: DB_PASS_CURRENT/NEXT are the service role's passwords, the admin role's is in
    /// its own connection string.
    /// </summary>
    private NpgsqlDataSource CreateDataSource(string connectionString) =>
        MuttNpgsql.CreateDataSource(connectionString, PostgresTlsSettings.FromConfiguration(_configuration, connectionString), secrets: null, _loggerFactory);

    public ValueTask DisposeAsync() => DataSource.DisposeAsync();
}
