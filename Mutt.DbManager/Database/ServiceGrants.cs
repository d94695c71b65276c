namespace Mutt.DbManager.Database;

/// <summary>
/// The table privileges of the services' role, by table (a partition takes its root table's).
/// docs/database.md lists which service needs which. The audit trails are append-only for the
/// services: rows leave event_audit_log only with a whole partition (drop_old_partitions, which
/// runs as the owner), and config_audit_log is kept indefinitely (spec 004 retention).
/// </summary>
public static class ServiceGrants
{
    public const string ReadWrite = "SELECT, INSERT, UPDATE, DELETE";
    public const string AppendOnly = "SELECT, INSERT";
    public const string ReadOnly = "SELECT";
    /// <summary>
    /// Rows are ended, deactivated or revoked, never erased: the audit trail's maintenance_window_id must keep
    /// naming a window, and its changed_by a person or key that exists.
    /// </summary>
    public const string NoDelete = "SELECT, INSERT, UPDATE";

    public static string TablePrivileges(string rootTable) => rootTable switch
    {
        "event_audit_log" or "config_audit_log" => AppendOnly,
        "schema_migrations" => ReadOnly,
        "maintenance_windows" or "operators" or "api_keys" => NoDelete,
        // Audit archives loaded back by "Mutt.DbManager restore" (ArchiveRestorer): evidence, read only.
        _ when rootTable.StartsWith(ArchiveRestorer.TablePrefix, StringComparison.Ordinal) => ReadOnly,
        // alert_rules, development_hosts, device_teams, correlation_rules, and any table a later migration adds
        _ => ReadWrite,
    };

    /// <summary>
    /// For tables the admin role creates between two DbManager runs: in practice next month's audit
    /// partition (create_monthly_partition runs as the owner), so the narrow default is the right
    /// one. A table added by a migration gets its own grant in the same run that creates it.
    /// </summary>
    public const string DefaultTablePrivileges = AppendOnly;
}
