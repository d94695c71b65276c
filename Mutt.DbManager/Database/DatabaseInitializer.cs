using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Mutt.Core.Secrets;
using Npgsql;

namespace Mutt.DbManager.Database;

/// <summary>
/// The DbManager's whole job, in order: database (created when missing), migrations, the services'
/// role and its privileges, then sample data when DB_SEED=true. Every step is idempotent and safe
/// to run concurrently, so a re-run (each deploy, a retried Job) changes only what differs.
/// </summary>
public sealed class DatabaseInitializer(IServiceProvider services, IConfiguration configuration, ILoggerFactory loggerFactory, ILogger<DatabaseInitializer> logger)
{
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var options = ReadOptions();
        await using var admin = AdminDatabase.FromConfiguration(configuration, loggerFactory, options.WaitSeconds);
        // Checked before connecting: this mistake must not wait for a server.
        if (string.Equals(admin.UserName, options.ServiceUser, StringComparison.Ordinal))
        {
            throw DbManagerFailure.ServiceUserIsAdmin(options.ServiceUser);
        }
        var password = ReadServicePassword();
        var bootstrapUser = configuration["BOOTSTRAP_ADMIN_USER"]?.Trim();
        var bootstrapPassword = services.GetRequiredService<ISecretStore>().Get(SecretNames.BootstrapAdminPassword);
        if (BootstrapAdmin.Validate(bootstrapUser, bootstrapPassword) is { } bootstrapError)
        {
            throw new DbManagerFailure(DbManagerExitCode.InvalidConfiguration, bootstrapError);
        }
        WarnOnServiceConnectionMismatch(options.ServiceUser);

        logger.LogInformation("Preparing database {Server} as {Admin}: migrations, role {Role}{Seed}",
            admin.Describe(), admin.UserName, options.ServiceUser, options.Seed ? ", sample data" : "");
        await admin.WaitUntilReadyAsync(TimeSpan.FromSeconds(options.WaitSeconds), cancellationToken).ConfigureAwait(false);

        IReadOnlyList<int> applied;
        try
        {
            applied = await MigrationRunner.ApplyAsync(admin.DataSource, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException && !cancellationToken.IsCancellationRequested)
        {
            throw new DbManagerFailure(DbManagerExitCode.Failed, $"applying migrations to {admin.Describe()}: {PostgresErrors.Describe(ex)}", ex);
        }
        logger.LogInformation("Migrations applied now: {Migrations}", applied.Count == 0
            ? "none (up to date)"
            : string.Join(", ", applied.Select(v => $"{v:000}_{MigrationRunner.All.Single(m => m.Version == v).Name}")));

        var change = await ServiceRole.EnsureAsync(admin.DataSource, options.ServiceUser, password, logger, cancellationToken).ConfigureAwait(false);
        logger.LogInformation("Role {Role} {Change}: password set from DB_PASS_CURRENT, privileges granted", options.ServiceUser,
            change == ServiceRoleChange.Created ? "created" : "updated");

        if (!string.IsNullOrEmpty(bootstrapUser) && !string.IsNullOrEmpty(bootstrapPassword))
        {
            await BootstrapAdmin.EnsureAsync(admin.DataSource, bootstrapUser, bootstrapPassword, logger, cancellationToken).ConfigureAwait(false);
        }

        if (options.Seed)
        {
            try
            {
                await MigrationRunner.SeedAsync(admin.DataSource, cancellationToken).ConfigureAwait(false);
            }
            catch (NpgsqlException ex) when (!cancellationToken.IsCancellationRequested)
            {
                throw new DbManagerFailure(DbManagerExitCode.Failed, $"loading sample data (DB_SEED=true): {PostgresErrors.Describe(ex)}", ex);
            }
            logger.LogInformation("Sample data loaded (DB_SEED=true)");
        }
        logger.LogInformation("Database {Server} is ready for the services (role {Role}) after {Seconds:0.0}s",
            admin.Describe(), options.ServiceUser, clock.Elapsed.TotalSeconds);
    }

    private DbManagerOptions ReadOptions()
    {
        DbManagerOptions options;
        try
        {
            options = services.GetRequiredService<IOptions<DbManagerOptions>>().Value;
        }
        catch (InvalidOperationException ex)
        {
            // The binder names the key and the type ("Failed to convert configuration value at 'DB_SEED' to type 'System.Boolean'").
            throw new DbManagerFailure(DbManagerExitCode.InvalidConfiguration, ex.Message);
        }
        if (string.IsNullOrWhiteSpace(options.ServiceUser))
        {
            throw new DbManagerFailure(DbManagerExitCode.InvalidConfiguration, "DB_USER is empty: the name of the services' role (default mutt_user)");
        }
        if (Encoding.UTF8.GetByteCount(options.ServiceUser) > ServiceRole.MaxNameBytes)
        {
            throw new DbManagerFailure(DbManagerExitCode.InvalidConfiguration, $"DB_USER is longer than PostgreSQL's {ServiceRole.MaxNameBytes} bytes");
        }
        if (options.WaitSeconds < 0)
        {
            throw new DbManagerFailure(DbManagerExitCode.InvalidConfiguration, "DB_WAIT_SECONDS must be 0 or more");
        }
        return options;
    }

    /// <summary>DB_PASS_CURRENT from the secret store the services read too: Vault when VAULT_ADDR is set, else configuration.</summary>
    private string ReadServicePassword()
    {
        string? password;
        try
        {
            password = services.GetRequiredService<ISecretStore>().Get(SecretNames.DbPassCurrent);
        }
        catch (Exception ex) when (ex is VaultException or HttpRequestException or IOException or InvalidOperationException)
        {
            throw new DbManagerFailure(DbManagerExitCode.Failed, $"reading {SecretNames.DbPassCurrent} from the secret store: {ex.GetType().Name}: {ex.Message}", ex);
        }
        return password ?? throw new DbManagerFailure(DbManagerExitCode.InvalidConfiguration,
            $"{SecretNames.DbPassCurrent} is not set (Vault secret, or the variable without Vault): the password the services' role is given");
    }

    /// <summary>The services connect with ConnectionStrings:muttdb; a different user there would meet a role this run did not prepare.</summary>
    private void WarnOnServiceConnectionMismatch(string serviceUser)
    {
        var services = configuration.GetConnectionString(DbManagerOptions.ServiceConnectionName);
        if (string.IsNullOrWhiteSpace(services))
        {
            return;
        }
        try
        {
            var username = new NpgsqlConnectionStringBuilder(services).Username;
            if (username is not null && !string.Equals(username, serviceUser, StringComparison.Ordinal))
            {
                logger.LogWarning("ConnectionStrings:{Name} connects as {Username}, but DB_USER is {ServiceUser}: the services will not use the role prepared here",
                    DbManagerOptions.ServiceConnectionName, username, serviceUser);
            }
        }
        catch (ArgumentException)
        {
            // Not ours to validate; the services report it.
        }
    }
}
