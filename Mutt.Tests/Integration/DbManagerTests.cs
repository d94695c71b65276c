using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Mutt.Testing;
using Mutt.Alerter.Audit;
using Mutt.Core.DeadLetters;
using Mutt.Core.Rules;
using Mutt.DbManager.Database;
using Mutt.Remediation.Maintenance;
using Mutt.Remediation.Services;
using Mutt.Core.Clients;
using Mutt.Tests.Infrastructure;
using Mutt.Tests.Deployment;
using Npgsql;

namespace Mutt.Tests.Integration;

/// <summary>
/// Mutt.DbManager run for real (<c>dotnet Mutt.DbManager.dll</c>, configured by environment
/// variables only, as a Kubernetes Job or deploy-mutt.sh runs it) against the fixture's PostgreSQL,
/// with the superuser as the admin role unless a test says otherwise. Roles are cluster-wide, so
/// every test names its own.
/// </summary>
[Collection(InfrastructureCollection.Name)]
[Trait("Category", "Integration")]
public sealed class DbManagerTests(InfrastructureFixture infra)
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task DbManager_creates_the_missing_database_applies_the_schema_and_a_second_run_applies_nothing()
    {
        var database = NewName("dbm");
        var role = NewName("mutt_user");
        var admin = AdminConnectionString(database);
        Assert.False(await DatabaseExistsAsync(database));

        var first = await RunAsync(admin, role, "first-password");

        Assert.True(first.ExitCode == 0, first.Log);
        Assert.True(await DatabaseExistsAsync(database));
        await using var db = NpgsqlDataSource.Create(admin);
        var migrations = await ReadMigrationsAsync(db);
        Assert.Equal(MigrationRunner.All.Select(m => m.Version), migrations.Select(m => m.Version));
        Assert.Contains(first.Messages, m => m.Contains("Migrations applied now: 001_initial_schema, 002_", StringComparison.Ordinal));
        await using var tables = db.CreateCommand(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename IN ('alert_rules','development_hosts','device_teams','event_audit_log','config_audit_log')");
        Assert.Equal(5L, await tables.ExecuteScalarAsync());
        Assert.True(await CanLogInAsync(database, role, "first-password"));

        var second = await RunAsync(admin, role, "first-password");

        Assert.True(second.ExitCode == 0, second.Log);
        Assert.Equal(migrations, await ReadMigrationsAsync(db));
        Assert.Contains(second.Messages, m => m.Contains("Migrations applied now: none (up to date)", StringComparison.Ordinal));
        Assert.True(await CanLogInAsync(database, role, "first-password"));
        foreach (var run in new[] { first, second })
        {
            Assert.DoesNotContain("first-password", run.Log, StringComparison.Ordinal);
            Assert.DoesNotContain(infra.Postgres.Password, run.Log, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Two_concurrent_runs_on_an_empty_server_both_succeed_and_apply_each_migration_once()
    {
        var database = NewName("dbm");
        var role = NewName("mutt_user");
        var admin = AdminConnectionString(database);

        var runs = await Task.WhenAll(RunAsync(admin, role, "concurrent"), RunAsync(admin, role, "concurrent"));

        Assert.All(runs, run => Assert.True(run.ExitCode == 0, run.Log));
        await using var db = NpgsqlDataSource.Create(admin);
        Assert.Equal(MigrationRunner.All.Select(m => m.Version), (await ReadMigrationsAsync(db)).Select(m => m.Version));
        Assert.True(await CanLogInAsync(database, role, "concurrent"));
    }

    [Fact]
    public async Task Service_role_can_do_what_the_services_do_and_nothing_that_only_the_owner_may()
    {
        var database = NewName("dbm");
        var role = NewName("mutt_user");
        var run = await RunAsync(AdminConnectionString(database), role, "least-privilege", ("DB_SEED", "true"));
        Assert.True(run.ExitCode == 0, run.Log);
        await using var service = NpgsqlDataSource.Create(ServiceConnectionString(database, role, "least-privilege"));

        // Alerter: the rule cache, and the audit write (temp staging table, binary COPY, INSERT ... ON CONFLICT).
        var rules = await new RuleStore(service).LoadAsync();
        Assert.NotEmpty(rules.Rules);
        await using (var writer = new AuditWriter(service))
        {
            var row = new AuditRow(DateTime.UtcNow, "core-router-01", 1, "Page_and_ticket", true, "dbm-" + Guid.NewGuid(), """{"message":"CRITICAL"}""");
            Assert.Equal(1, await writer.WriteAsync([row]));
            Assert.Equal(0, await writer.WriteAsync([row]));
        }

        // Dashboard: rules, hosts and teams read and written; the config audit appended and read.
        await ExecuteAsync(service, """
            INSERT INTO alert_rules (match_string, match_type, priority, prod_handling, dev_handling, team_assignment)
            VALUES ('dbm-test', 'contains', 500, 'Ticket_only', 'Log_only', 'NETO')
            """);
        await ExecuteAsync(service, "UPDATE alert_rules SET priority = 501 WHERE match_string = 'dbm-test'");
        Assert.Equal(501, await ScalarAsync<int>(service, "SELECT priority FROM alert_rules WHERE match_string = 'dbm-test'"));
        await ExecuteAsync(service, "DELETE FROM alert_rules WHERE match_string = 'dbm-test'");
        await ExecuteAsync(service, "INSERT INTO development_hosts (hostname, reason) VALUES ('dbm-host', 'test')");
        await ExecuteAsync(service, "UPDATE device_teams SET team_assignment = 'NETO' WHERE hostname = 'core-router-01'");
        await ExecuteAsync(service, "DELETE FROM development_hosts WHERE hostname = 'dbm-host'");
        await ExecuteAsync(service, "INSERT INTO config_audit_log (changed_by, operation, table_name, record_id) VALUES ('dbm', 'UPDATE', 'device_teams', 'core-router-01')");
        Assert.Equal(1L, await ScalarAsync<long>(service, "SELECT count(*) FROM config_audit_log"));
        Assert.Equal(1L, await ScalarAsync<long>(service, "SELECT count(*) FROM event_audit_log"));

        // Remediation: its real partition maintenance, which creates months ahead and drops expired ones.
        Assert.Equal("event_audit_log_2020_01", await ScalarAsync<string>(service, "SELECT create_monthly_partition('2020-01-01')"));
        await ForwarderTestHost.FlushAsync(infra);
        using var meters = new TestMeterFactory();
        var archive = Directory.CreateTempSubdirectory("mutt-archive-");
        var maintenance = AuditArchiveTests.Maintenance(service, infra, meters, new RemediationOptions { PrecreateMonths = 4, AuditRetentionDays = 90, AuditArchiveDir = archive.FullName, AuditArchiveRetentionYears = 0 });
        var report = await maintenance.RunAsync(dryRunOverride: false);
        // Archiving needs nothing more than the role has: SELECT for the export, EXECUTE for the drop (migration 006).
        Assert.Empty(report.Failures);
        Assert.Equal(["event_audit_log_2020_01"], report.PartitionsArchived);
        Assert.True(File.Exists(Path.Combine(archive.FullName, "event_audit_log_2020_01.manifest.json")));
        archive.Delete(recursive: true);
        var now = DateTime.UtcNow;
        string Month(int offset) => "event_audit_log_" + new DateTime(now.Year, now.Month, 1).AddMonths(offset).ToString("yyyy_MM");
        var fourMonthsOn = Month(4);
        Assert.Equal([Month(3), Month(4)], report.PartitionsCreated);
        Assert.Equal(["event_audit_log_2020_01"], report.PartitionsDropped);
        // A partition made after the grants (by the owner, inside the function) is covered by the
        // default privileges: readable directly, and as append-only as its parent.
        Assert.Equal(0L, await ScalarAsync<long>(service, $"SELECT count(*) FROM {fourMonthsOn}"));

        Assert.False(await ScalarAsync<bool>(service, "SELECT rolsuper OR rolcreaterole OR rolcreatedb FROM pg_roles WHERE rolname = current_user"));
        var denied = new[]
        {
            "CREATE TABLE public.dbm_intruder (id int)",
            "DROP TABLE alert_rules",
            "TRUNCATE alert_rules",
            "ALTER TABLE alert_rules ADD COLUMN intruder int",
            "DELETE FROM event_audit_log",
            "UPDATE event_audit_log SET hostname = 'forged'",
            $"DELETE FROM {fourMonthsOn}",
            "DELETE FROM event_audit_log_default",
            "DELETE FROM config_audit_log",
            "UPDATE config_audit_log SET changed_by = 'forged'",
            "DELETE FROM schema_migrations",
            "SELECT setval('alert_rules_id_seq', 1)",
            "SET ROLE postgres",
        };
        foreach (var sql in denied)
        {
            var error = await Record.ExceptionAsync(() => ExecuteAsync(service, sql));
            Assert.True(error is PostgresException { SqlState: PostgresErrorCodes.InsufficientPrivilege }, $"{sql}: {error?.Message ?? "allowed"}");
        }
        // The SECURITY DEFINER functions are for the granted role only.
        await using var admin = NpgsqlDataSource.Create(AdminConnectionString(database));
        Assert.False(await ScalarAsync<bool>(admin, "SELECT has_function_privilege('public', 'drop_old_partitions(integer)', 'EXECUTE')"));
        Assert.False(await ScalarAsync<bool>(admin, "SELECT has_function_privilege('public', 'create_monthly_partition(date)', 'EXECUTE')"));
        var negative = await Assert.ThrowsAsync<PostgresException>(() => ExecuteAsync(service, "SELECT drop_old_partitions(-1)"));
        Assert.Equal(PostgresErrorCodes.InvalidParameterValue, negative.SqlState);
    }

    [Fact]
    public async Task Re_run_with_a_new_password_rotates_it()
    {
        var database = NewName("dbm");
        var role = NewName("mutt_user");
        var admin = AdminConnectionString(database);
        Assert.Equal(0, (await RunAsync(admin, role, "old-password")).ExitCode);
        Assert.True(await CanLogInAsync(database, role, "old-password"));

        var rotated = await RunAsync(admin, role, "new-password");

        Assert.True(rotated.ExitCode == 0, rotated.Log);
        Assert.Contains(rotated.Messages, m => m.Contains($"Role {role} updated", StringComparison.Ordinal));
        Assert.False(await CanLogInAsync(database, role, "old-password"));
        Assert.True(await CanLogInAsync(database, role, "new-password"));
    }

    [Theory]
    [InlineData("it's a \"quoted\" pass\\word; DROP ROLE x; --")]      // hashed here (SCRAM verifier)
    [InlineData("Pässwörd's ключ ' \\ $$")]                              // not ASCII: hashed by the server
    public async Task Password_with_quotes_and_other_special_characters_is_set_exactly(string password)
    {
        var database = NewName("dbm");
        var role = NewName("mutt_user");

        var run = await RunAsync(AdminConnectionString(database), role, password);

        Assert.True(run.ExitCode == 0, run.Log);
        Assert.True(await CanLogInAsync(database, role, password));
        Assert.False(await CanLogInAsync(database, role, password[..^1]));
        Assert.DoesNotContain(password, run.Log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Scram_verifier_made_by_the_dbmanager_is_the_one_the_server_makes()
    {
        var role = NewName("scram");
        await using var admin = NpgsqlDataSource.Create(AdminConnectionString("postgres"));
        await ExecuteAsync(admin, $"SET password_encryption = 'scram-sha-256'; CREATE ROLE {role} LOGIN PASSWORD 'it''s ~ a test'");
        var stored = await ScalarAsync<string>(admin, $"SELECT rolpassword FROM pg_authid WHERE rolname = '{role}'");
        // SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>
        var head = stored.Split('$')[1].Split(':');

        Assert.Equal(stored, ScramSha256.Verifier("it's ~ a test", Convert.FromBase64String(head[1]), int.Parse(head[0])));
    }

    [Fact]
    public async Task DB_USER_equal_to_the_admin_user_is_refused_with_one_clear_error_before_connecting()
    {
        var database = NewName("dbm");

        var run = await RunAsync(AdminConnectionString(database), PostgresServer.SuperUser, "whatever");

        Assert.Equal((int)DbManagerExitCode.InvalidConfiguration, run.ExitCode);
        var error = Assert.Single(run.Critical);
        Assert.Contains($"DB_USER={PostgresServer.SuperUser} is the admin role", error, StringComparison.Ordinal);
        Assert.DoesNotContain(run.Lines, l => l.TrimStart().StartsWith("at ", StringComparison.Ordinal));
        Assert.False(await DatabaseExistsAsync(database), "the refused run created the database");
    }

    [Fact]
    public async Task Missing_service_password_is_a_configuration_error()
    {
        var database = NewName("dbm");

        var run = await RunAsync(AdminConnectionString(database), NewName("mutt_user"), password: null);

        Assert.Equal((int)DbManagerExitCode.InvalidConfiguration, run.ExitCode);
        Assert.Contains("DB_PASS_CURRENT is not set", Assert.Single(run.Critical), StringComparison.Ordinal);
        Assert.False(await DatabaseExistsAsync(database));
    }

    [Fact]
    public async Task Unreachable_server_is_reported_clearly_within_DB_WAIT_SECONDS()
    {
        var port = NativeProcess.FreeTcpPort();
        var admin = $"Host=127.0.0.1;Port={port};Username=postgres;Password=admin-secret;Database=muttdb";
        var clock = Stopwatch.StartNew();

        var run = await RunAsync(admin, "mutt_user", "x", ("DB_WAIT_SECONDS", "3"));

        clock.Stop();
        Assert.Equal((int)DbManagerExitCode.Unreachable, run.ExitCode);
        var error = Assert.Single(run.Critical);
        Assert.Contains($"PostgreSQL 127.0.0.1:{port}/muttdb did not accept a connection within DB_WAIT_SECONDS=3", error, StringComparison.Ordinal);
        Assert.Contains("refused", error, StringComparison.OrdinalIgnoreCase);
        Assert.True(run.Messages.Count(m => m.Contains("not reachable yet", StringComparison.Ordinal)) >= 2, run.Log);
        // 3 s of retries plus the process start; an attempt on a refused port ends at once.
        Assert.InRange(run.Elapsed, TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(20));
        Assert.DoesNotContain("admin-secret", run.Log, StringComparison.Ordinal);
        Assert.DoesNotContain(run.Lines, l => l.TrimStart().StartsWith("at ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_non_superuser_owner_role_given_by_a_DBA_is_enough()
    {
        var database = NewName("dbm");
        var owner = NewName("mutt_owner");
        var role = NewName("mutt_user");
        // What a DBA hands over: a role that may create roles (not a superuser) and owns an empty database.
        await using (var superuser = NpgsqlDataSource.Create(AdminConnectionString("postgres")))
        {
            await ExecuteAsync(superuser, $"CREATE ROLE {owner} LOGIN CREATEROLE PASSWORD 'owner-pass'");
            await ExecuteAsync(superuser, $"CREATE DATABASE {database} OWNER {owner}");
        }
        var admin = new NpgsqlConnectionStringBuilder(AdminConnectionString(database)) { Username = owner, Password = "owner-pass" }.ConnectionString;

        var run = await RunAsync(admin, role, "service-pass");

        Assert.True(run.ExitCode == 0, run.Log);
        await using var service = NpgsqlDataSource.Create(ServiceConnectionString(database, role, "service-pass"));
        Assert.Equal("event_audit_log_2031_05", await ScalarAsync<string>(service, "SELECT create_monthly_partition('2031-05-01')"));
        Assert.Equal(owner, await ScalarAsync<string>(service, "SELECT tableowner FROM pg_tables WHERE tablename = 'event_audit_log_2031_05'"));
        await ExecuteAsync(service, "INSERT INTO development_hosts (hostname) VALUES ('dbm-host')");
        var refused = await Assert.ThrowsAsync<PostgresException>(() => ExecuteAsync(service, "DROP TABLE development_hosts"));
        Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, refused.SqlState);
        Assert.Equal(0, (await RunAsync(admin, role, "service-pass")).ExitCode);
    }

    [Fact]
    public async Task Service_role_that_owns_schema_objects_is_refused_and_left_unchanged()
    {
        var database = NewName("dbm");
        var role = NewName("mutt_user");
        var admin = AdminConnectionString(database);
        Assert.Equal(0, (await RunAsync(admin, role, "before")).ExitCode);
        // A legacy install where the services' login created a table of its own.
        await using (var db = NpgsqlDataSource.Create(admin))
        {
            await ExecuteAsync(db, $"CREATE TABLE public.legacy_notes (id int); ALTER TABLE public.legacy_notes OWNER TO {role}");
        }

        var run = await RunAsync(admin, role, "after");

        Assert.Equal((int)DbManagerExitCode.Failed, run.ExitCode);
        Assert.Contains($"role {role} is not least-privilege: it owns legacy_notes (REASSIGN OWNED BY {role} TO postgres)", Assert.Single(run.Critical), StringComparison.Ordinal);
        // Rolled back: the password was not changed.
        Assert.True(await CanLogInAsync(database, role, "before"));
        Assert.False(await CanLogInAsync(database, role, "after"));
    }

    [Fact]
    public async Task Over_TLS_it_verifies_the_server_like_the_services_and_refuses_a_wrong_ca_at_once()
    {
        var folder = Path.Combine(Path.GetTempPath(), "mutt-dbm-tls-" + Guid.NewGuid().ToString("N")[..8]);
        var dataDir = Path.Combine(folder, "postgres");
        // inside the data folder, so the server's user owns them (the key must be 0600 and owned by postgres)
        using var certs = new TlsCertificates(Path.Combine(dataDir, "certs"));
        var postgres = await PostgresServer.StartAsync(dataDir, fastAndLoose: true,
            extraSettings: ["ssl=on", $"ssl_cert_file={certs.ServerCertPath}", $"ssl_key_file={certs.ServerKeyPath}"]);
        try
        {
            var database = NewName("dbm");
            var role = NewName("mutt_user");
            var admin = postgres.ConnectionStringFor(database);

            var wrong = await RunAsync(admin, role, "tls-pass", ("DB_TLS_ENABLED", "true"), ("DB_TLS_CA_CERT_PATH", certs.WrongCaCertPath));

            Assert.Equal((int)DbManagerExitCode.Failed, wrong.ExitCode);
            Assert.Contains("refused the admin connection", Assert.Single(wrong.Critical), StringComparison.Ordinal);
            Assert.Contains(wrong.Messages, m => m.Contains("PostgreSQL TLS: server certificate REFUSED", StringComparison.Ordinal));
            Assert.DoesNotContain(wrong.Messages, m => m.Contains("not reachable yet", StringComparison.Ordinal));

            var right = await RunAsync(admin, role, "tls-pass", ("DB_TLS_ENABLED", "true"), ("DB_TLS_CA_CERT_PATH", certs.CaCertPath));

            Assert.True(right.ExitCode == 0, right.Log);
            await using var service = MuttNpgsql.CreateDataSource(
                new NpgsqlConnectionStringBuilder(postgres.ConnectionStringFor(database)) { Username = role, Password = "tls-pass" }.ConnectionString,
                new PostgresTlsSettings(true, certs.CaCertPath), null);
            Assert.True(await ScalarAsync<bool>(service, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"));
        }
        finally
        {
            await postgres.DisposeAsync();
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task Deploy_script_installs_the_DbManager_with_the_services_and_a_second_run_is_still_a_no_op()
    {
        var work = Directory.CreateTempSubdirectory("mutt-deploy-dbm-");
        try
        {
            var source = Path.Combine(work.FullName, "publish");
            var root = Path.Combine(work.FullName, "root");
            foreach (var assembly in new[] { "Mutt.Ingestor", "Mutt.Alerter", "Mutt.Forwarder", "Mutt.Dashboard", "Mutt.Remediation", "Mutt.DbManager" })
            {
                Directory.CreateDirectory(Path.Combine(source, assembly));
                await File.WriteAllTextAsync(Path.Combine(source, assembly, assembly + ".dll"), assembly);
            }
            var script = DeployTestSupport.PathIn("deploy", "rhel", "deploy-mutt.sh");
            Task<DeployTestSupport.Result> RunScript() => DeployTestSupport.RunAsync("bash", [script, "--source", source, "--root", root, "--skip-checks"]);

            var first = await RunScript();
            Assert.True(first.ExitCode == 0, first.All);
            Assert.Equal("Mutt.DbManager", await File.ReadAllTextAsync(Path.Combine(root, "opt/mutt/dbmanager/Mutt.DbManager.dll")));
            Assert.Contains($"[skip]    database: {root}/etc/mutt/dbmanager.env not found", first.StdOut);

            var dbEnv = Path.Combine(root, "etc/mutt/dbmanager.env");
            await File.WriteAllTextAsync(dbEnv, "ConnectionStrings__muttdb-admin=\"Host=db;Database=mutt_db;Username=mutt_owner\"\n");
            var second = await RunScript();
            Assert.True(second.ExitCode == 0, second.All);
            Assert.Contains($"[apply]   set mode 600 on {dbEnv}", second.StdOut);
            Assert.Contains("[skip]    database: Mutt.DbManager is not run under --root", second.StdOut);

            var third = await RunScript();
            Assert.True(third.ExitCode == 0, third.All);
            Assert.Contains("nothing to do, everything is up to date", third.StdOut);
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    // ---------------------------------------------------------------------------------------------

    internal sealed record Run(int ExitCode, IReadOnlyList<string> Lines, TimeSpan Elapsed)
    {
        public string Log => $"exit code {ExitCode}\n" + string.Join('\n', Lines);

        /// <summary>The JSON log lines' messages (the DbManager's default log format).</summary>
        public IReadOnlyList<string> Messages => Entries.Select(e => e.Message).ToList();

        public IReadOnlyList<string> Critical => Entries.Where(e => e.Level == "Critical").Select(e => e.Message).ToList();

        private IEnumerable<(string Level, string Message)> Entries => Lines
            .Where(l => l.StartsWith('{'))
            .Select(l =>
            {
                using var json = JsonDocument.Parse(l);
                return (json.RootElement.GetProperty("LogLevel").GetString()!, json.RootElement.GetProperty("Message").GetString()!);
            });
    }

    private static string NewName(string prefix) => $"{prefix}_{Guid.NewGuid():N}"[..(prefix.Length + 9)];

    private string AdminConnectionString(string database) => infra.Postgres.ConnectionStringFor(database);

    private string ServiceConnectionString(string database, string role, string password) =>
        new NpgsqlConnectionStringBuilder(infra.Postgres.ConnectionStringFor(database)) { Username = role, Password = password, Pooling = false }.ConnectionString;

    /// <summary>One run of the published DbManager as a child process; returns when it has exited (or fails the test after <see cref="RunTimeout"/>).</summary>
    private static Task<Run> RunAsync(string adminConnectionString, string role, string? password, params (string Key, string Value)[] extra) =>
        RunAsync(adminConnectionString, role, password, [], extra);

    /// <param name="arguments">The command line (e.g. <c>restore FILE</c>); none prepares the database.</param>
    internal static async Task<Run> RunAsync(string adminConnectionString, string role, string? password, IEnumerable<string> arguments, params (string Key, string Value)[] extra)
    {
        var environment = new Dictionary<string, string?>
        {
            ["ConnectionStrings__muttdb-admin"] = adminConnectionString,
            ["DB_USER"] = role,
            ["DB_PASS_CURRENT"] = password,
            ["DB_WAIT_SECONDS"] = "30",
            // Nothing from the test runner's environment decides for the child.
            ["DB_SEED"] = null,
            ["DB_PASS_NEXT"] = null,
            ["DB_TLS_ENABLED"] = null,
            ["VAULT_ADDR"] = null,
            ["ConnectionStrings__muttdb"] = null,
            ["LOG_JSON_ENABLED"] = null,
            ["LOG_LEVEL"] = null,
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = null,
        };
        foreach (var (key, value) in extra)
        {
            environment[key] = value;
        }
        var clock = Stopwatch.StartNew();
        await using var process = ServiceProcess.Start("dbmanager", ServiceProcess.AssemblyPath(ChildService.RepositoryRoot, "Mutt.DbManager"), environment, arguments: arguments);
        using var timeout = new CancellationTokenSource(RunTimeout);
        try
        {
            await process.Process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"Mutt.DbManager did not exit within {RunTimeout}:\n{string.Join('\n', process.Output)}");
        }
        return new Run(process.Process.ExitCode, process.Output.ToList(), clock.Elapsed);
    }

    private async Task<bool> DatabaseExistsAsync(string database)
    {
        await using var admin = NpgsqlDataSource.Create(AdminConnectionString("postgres"));
        await using var command = admin.CreateCommand("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)");
        command.Parameters.AddWithValue(database);
        return (bool)(await command.ExecuteScalarAsync())!;
    }

    private async Task<bool> CanLogInAsync(string database, string role, string password)
    {
        try
        {
            await using var connection = new NpgsqlConnection(ServiceConnectionString(database, role, password));
            await connection.OpenAsync();
            return true;
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.InvalidPassword)
        {
            return false;
        }
    }

    private static async Task<List<(int Version, DateTime AppliedAt)>> ReadMigrationsAsync(NpgsqlDataSource db)
    {
        await using var command = db.CreateCommand("SELECT version, applied_at FROM schema_migrations ORDER BY version");
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<(int, DateTime)>();
        while (await reader.ReadAsync())
        {
            rows.Add((reader.GetInt32(0), reader.GetDateTime(1)));
        }
        return rows;
    }

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
}
