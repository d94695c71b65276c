using Microsoft.Extensions.Configuration;

namespace Mutt.Remediation.Services;

/// <summary>Spec 004 Remediation variables plus the retention settings of spec 003's retention/partition scripts.</summary>
public sealed class RemediationOptions
{
    [ConfigurationKeyName("POD_NAME")] public string PodName { get; set; } = "remediation-" + Guid.NewGuid().ToString("N")[..8];
    [ConfigurationKeyName("REMEDIATION_SCAN_INTERVAL")] public double ScanIntervalSeconds { get; set; } = 60;
    [ConfigurationKeyName("REMEDIATION_MAX_RETRIES")] public int MaxRetries { get; set; } = 3;
    [ConfigurationKeyName("REMEDIATION_BACKOFF_BASE")] public double BackoffBaseSeconds { get; set; } = 60;
    [ConfigurationKeyName("RETENTION_PRECREATE_MONTHS")] public int PrecreateMonths { get; set; } = 3;
    /// <summary>Audit retention in days (spec 004: 90 days active); partitions are monthly, so this rounds up to whole months.</summary>
    [ConfigurationKeyName("AUDIT_RETENTION_DAYS")] public int AuditRetentionDays { get; set; } = 90;
    /// <summary>Overrides <see cref="AuditRetentionDays"/> when set.</summary>
    [ConfigurationKeyName("RETENTION_MONTHS")] public int? RetentionMonths { get; set; }
    [ConfigurationKeyName("DLQ_RETENTION_DAYS")] public int DlqRetentionDays { get; set; } = 30;
    [ConfigurationKeyName("MAINTENANCE_DRY_RUN")] public bool DryRun { get; set; }
    [ConfigurationKeyName("MAINTENANCE_INTERVAL_HOURS")] public double MaintenanceIntervalHours { get; set; } = 24;
    /// <summary>
    /// Where expired audit partitions are archived before they are dropped (spec 004: 7 years
    /// archive; an NFS or object-store mount). Unset: expired partitions are kept, never dropped
    /// unarchived, and every run reports it (mutt_remediation_archive_failures_total{stage="no_archive_dir"}).
    /// </summary>
    [ConfigurationKeyName("AUDIT_ARCHIVE_DIR")] public string? AuditArchiveDir { get; set; }
    /// <summary>Archive files whose month ended longer ago than this are deleted (spec 004: 7 years); 0 keeps them forever.</summary>
    [ConfigurationKeyName("AUDIT_ARCHIVE_RETENTION_YEARS")] public int AuditArchiveRetentionYears { get; set; } = 7;

    public int EffectiveRetentionMonths => RetentionMonths ?? (int)Math.Ceiling(AuditRetentionDays / 30.0);
}
