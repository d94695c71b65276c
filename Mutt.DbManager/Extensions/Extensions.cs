using Mutt.Core.Secrets;
using Mutt.DbManager.Database;
using Mutt.DbManager.Services;

namespace Mutt.DbManager.Extensions;

public static class Extensions
{
    public static void AddApplicationServices(this IHostApplicationBuilder builder, DbManagerCommand command)
    {
        // A one-shot run: no "Application started. Press Ctrl+C" banner around its few lines.
        builder.Services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
        // Vault when VAULT_ADDR is set, else configuration: where DB_PASS_CURRENT comes from, as for the services.
        builder.Services.AddMuttSecrets(builder.Configuration);
        // Validated by the initializer, so a bad value ends in its one error line and exit code 2.
        builder.Services.AddOptions<DbManagerOptions>().BindConfiguration("");
        builder.Services.AddSingleton(command);
        builder.Services.AddSingleton<DatabaseInitializer>();
        builder.Services.AddSingleton<ArchiveRestorer>();
        builder.Services.AddHostedService<DbManagerWorker>();
    }
}
