using Microsoft.Extensions.Configuration;

namespace Mutt.DbManager.Database;

/// <summary>
/// What the DbManager reads besides the admin connection string (<c>ConnectionStrings:muttdb-admin</c>)
/// and the service role's password (<c>DB_PASS_CURRENT</c>, from the secret store: Vault, else configuration).
/// </summary>
public sealed class DbManagerOptions
{
    public const string AdminConnectionName = "muttdb-admin";

    /// <summary>The services' own connection (the AppHost and the env file set it); only compared with <see cref="ServiceUser"/>.</summary>
    public const string ServiceConnectionName = "muttdb";

    /// <summary>The least-privilege role every MUTT service connects as (spec 004 DB_USER).</summary>
    [ConfigurationKeyName("DB_USER")] public string ServiceUser { get; set; } = "mutt_user";

    /// <summary>Load spec 002's sample rules, hosts and teams (local runs and tests).</summary>
    [ConfigurationKeyName("DB_SEED")] public bool Seed { get; set; }

    /// <summary>How long to keep trying the first connection while PostgreSQL starts.</summary>
    [ConfigurationKeyName("DB_WAIT_SECONDS")] public int WaitSeconds { get; set; } = 60;
}
