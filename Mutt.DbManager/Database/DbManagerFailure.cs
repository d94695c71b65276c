namespace Mutt.DbManager.Database;

/// <summary>The process exit codes (a Kubernetes Job, deploy-mutt.sh and the AppHost read them).</summary>
public enum DbManagerExitCode
{
    /// <summary>Database, schema, role and grants are as they should be.</summary>
    Done = 0,

    /// <summary>PostgreSQL answered but a step failed (SQL error, missing privilege of the admin role, a check of the result).</summary>
    Failed = 1,

    /// <summary>A variable is missing or invalid (nothing was changed).</summary>
    InvalidConfiguration = 2,

    /// <summary>PostgreSQL did not accept a connection within DB_WAIT_SECONDS.</summary>
    Unreachable = 3,
}

/// <summary>A failure with a message fit for the one error line the DbManager ends with (never a password).</summary>
public sealed class DbManagerFailure(DbManagerExitCode exitCode, string message, Exception? inner = null) : Exception(message, inner)
{
    public DbManagerExitCode ExitCode { get; } = exitCode;

    /// <summary>Checked from the connection string before connecting, and against current_user once connected.</summary>
    public static DbManagerFailure ServiceUserIsAdmin(string role) => new(DbManagerExitCode.InvalidConfiguration,
        $"DB_USER={role} is the admin role of ConnectionStrings:{DbManagerOptions.AdminConnectionName}: the services must not connect as the schema owner; choose another DB_USER (default mutt_user)");
}
