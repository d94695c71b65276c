using Microsoft.Extensions.Hosting;
using Mutt.Core.Clients;
using Mutt.Testing;
using Mutt.Core.Secrets;
using Mutt.Tests.Infrastructure;
using Npgsql;

namespace Mutt.Tests.Integration;

/// <summary>
/// PostgreSQL with ssl=on and certificates generated in the test: verify-full against the right CA,
/// refusal with a wrong one, and DB_PASS_CURRENT → DB_PASS_NEXT rotation under a writer.
/// </summary>
[Trait("Category", "Integration")]
public sealed class TlsPostgresTests : IAsyncLifetime
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "mutt-tls-pg-" + Guid.NewGuid().ToString("N")[..8]);
    private TlsCertificates _certs = null!;
    private PostgresServer _postgres = null!;

    public async Task InitializeAsync()
    {
        var dataDir = Path.Combine(_folder, "postgres");
        // inside the data folder, so the server's user owns them (the key must be 0600 and owned by postgres)
        _certs = new TlsCertificates(Path.Combine(dataDir, "certs"));
        _postgres = await PostgresServer.StartAsync(dataDir, fastAndLoose: true,
            extraSettings: ["ssl=on", $"ssl_cert_file={_certs.ServerCertPath}", $"ssl_key_file={_certs.ServerKeyPath}"]);
    }

    public async Task DisposeAsync()
    {
        await _postgres.DisposeAsync();
        _certs.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task Verify_full_with_the_right_ca_connects_over_tls()
    {
        await using var dataSource = MuttNpgsql.CreateDataSource(_postgres.ConnectionStringFor("postgres"), new PostgresTlsSettings(true, _certs.CaCertPath), null);
        await using var command = dataSource.CreateCommand("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()");
        Assert.True((bool)(await command.ExecuteScalarAsync())!);
    }

    [Fact]
    public async Task A_wrong_ca_is_refused_and_says_so()
    {
        var logs = new CapturingLoggerProvider();
        await using var dataSource = MuttNpgsql.CreateDataSource(_postgres.ConnectionStringFor("postgres"), new PostgresTlsSettings(true, _certs.WrongCaCertPath), null, logs.CreateFactory());
        await Assert.ThrowsAnyAsync<NpgsqlException>(async () =>
        {
            await using var connection = await dataSource.OpenConnectionAsync();
        });
        Assert.Contains(logs.Lines, l => l.Contains("PostgreSQL TLS: server certificate REFUSED", StringComparison.Ordinal) && l.Contains("does not chain to the configured CA", StringComparison.Ordinal));
    }

    private async Task<string> CreateAppRoleAsync(string password)
    {
        var role = "mutt_app_" + Guid.NewGuid().ToString("N")[..8];
        await using var admin = NpgsqlDataSource.Create(_postgres.ConnectionStringFor("postgres"));
        await using (var create = admin.CreateCommand($"CREATE ROLE {role} LOGIN PASSWORD '{password}'"))
        {
            await create.ExecuteNonQueryAsync();
        }
        await using (var grant = admin.CreateCommand($"GRANT ALL ON SCHEMA public TO {role}"))
        {
            await grant.ExecuteNonQueryAsync();
        }
        return role;
    }

    private string AppConnectionString(string role) =>
        new NpgsqlConnectionStringBuilder(_postgres.ConnectionStringFor("postgres")) { Username = role, Password = null }.ConnectionString;

    [Fact]
    public async Task Starts_with_next_when_current_is_refused()
    {
        var next = "next-" + Guid.NewGuid().ToString("N");
        var role = await CreateAppRoleAsync(next);
        var secrets = new FixedSecretStore((SecretNames.DbPassCurrent, "stale-" + Guid.NewGuid().ToString("N")), (SecretNames.DbPassNext, next));
        await using var dataSource = MuttNpgsql.CreateDataSource(AppConnectionString(role), new PostgresTlsSettings(true, _certs.CaCertPath), secrets);
        await using var command = dataSource.CreateCommand("SELECT current_user");
        Assert.Equal(role, await command.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Rotation_while_writing_reconnects_with_next_and_loses_no_write()
    {
        var current = "current-" + Guid.NewGuid().ToString("N");
        var next = "next-" + Guid.NewGuid().ToString("N");
        var role = await CreateAppRoleAsync(current);
        var secrets = new FixedSecretStore((SecretNames.DbPassCurrent, current), (SecretNames.DbPassNext, next));
        var logs = new CapturingLoggerProvider();
        await using var dataSource = MuttNpgsql.CreateDataSource(AppConnectionString(role), new PostgresTlsSettings(true, _certs.CaCertPath), secrets, logs.CreateFactory());
        var table = "rotation_" + role;
        await using (var create = dataSource.CreateCommand($"CREATE TABLE {table} (id int PRIMARY KEY)"))
        {
            await create.ExecuteNonQueryAsync();
        }

        using var stop = new CancellationTokenSource();
        var written = 0;
        var writer = Task.Run(async () =>
        {
            var id = 0;
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await using var insert = dataSource.CreateCommand($"INSERT INTO {table} (id) VALUES ($1) ON CONFLICT DO NOTHING");
                    insert.Parameters.Add(new NpgsqlParameter { Value = id });
                    await insert.ExecuteNonQueryAsync();
                    id++;
                    Volatile.Write(ref written, id);
                }
                catch (NpgsqlException)
                {
                    await Task.Delay(20); // a killed connection: the same id again
                }
            }
        });

        await Eventually.WaitForAsync(() => Task.FromResult(Volatile.Read(ref written) > 100), TimeSpan.FromSeconds(30), "writes before rotation");
        await using (var admin = NpgsqlDataSource.Create(_postgres.ConnectionStringFor("postgres")))
        {
            await using var alter = admin.CreateCommand($"ALTER ROLE {role} PASSWORD '{next}'");
            await alter.ExecuteNonQueryAsync();
            await using var kill = admin.CreateCommand($"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}'");
            await kill.ExecuteNonQueryAsync();
        }
        var atRotation = Volatile.Read(ref written);
        await Eventually.WaitForAsync(() => Task.FromResult(Volatile.Read(ref written) > atRotation + 100), TimeSpan.FromSeconds(60), "writes after rotation");
        stop.Cancel();
        await writer;

        await using var count = dataSource.CreateCommand($"SELECT count(*) FROM {table}");
        Assert.Equal((long)Volatile.Read(ref written), (long)(await count.ExecuteScalarAsync())!);
        Assert.Contains(logs.Lines, l => l.Contains("authenticating with the next password", StringComparison.Ordinal));
        var scanner = new SecretScanner(new Dictionary<string, string> { ["current"] = current, ["next"] = next });
        Assert.Empty(scanner.Scan(logs.Lines, "log"));
    }
}
