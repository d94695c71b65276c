using System.Diagnostics.Metrics;
using Mutt.Core.Telemetry;

namespace Mutt.Remediation.Services;

/// <summary>Spec 004 Remediation metrics, names verbatim.</summary>
public sealed class RemediationMetrics
{
    private readonly Meter _meter;

    /// <param name="meterFactory">The host's factory: the meter belongs to this host (several hosts in one process each expose only their own).</param>
    public RemediationMetrics(IMeterFactory meterFactory)
    {
        _meter = meterFactory.Create("Mutt.Remediation");
        Replayed = _meter.CreateCounter<long>(MetricNames.RemediationReplayedTotal, description: "Replay attempts by source (alerter/moog) and status (success/fail/poison)");
        ScanDuration = _meter.CreateHistogram<double>(MetricNames.RemediationDlqScanDurationSeconds, "s", "DLQ scan duration");
        Maintenance = _meter.CreateCounter<long>(MetricNames.RemediationMaintenanceActionsTotal,
            description: "Maintenance actions by kind (partition_created/partition_archived/partition_dropped/default_rows_archived/archive_pruned/dlq_trimmed) and dry_run");
        // Not in spec 004 (which names no archive metrics): what the MUTTAuditArchiveFailing alert watches.
        ArchiveFailures = _meter.CreateCounter<long>(MetricNames.RemediationArchiveFailuresTotal,
            description: "Audit archive steps that failed, by stage (no_archive_dir/export/verify/drop/default_sweep/prune/run); a failed step never drops anything");
        ArchivedRows = _meter.CreateCounter<long>(MetricNames.RemediationArchivedRowsTotal, description: "Audit rows written to verified archive files");
        // Every stage's series exists from the start at 0: Prometheus' increase() cannot see a
        // counter's first step if the series is born at 1, and the alert would miss the first failure.
        foreach (var stage in ArchiveStages)
        {
            ArchiveFailures.Add(0, new KeyValuePair<string, object?>("stage", stage));
        }
        // Not in spec 004: nothing leaves mutt:poison:permanent without an operator, so its depth
        // (not the poison counter's rate) is what the MUTTPoisonQueueNotEmpty alert must see.
        _meter.CreateObservableGauge(MetricNames.RemediationPoisonDepth, () => Volatile.Read(ref PoisonDepth), description: "Items in mutt:poison:permanent (read at each DLQ scan)");
    }

    public long PoisonDepth;

    /// <summary>The stage label values of mutt_remediation_archive_failures_total.</summary>
    public static readonly string[] ArchiveStages = ["no_archive_dir", "export", "verify", "drop", "default_sweep", "prune", "run"];

    public Counter<long> Replayed { get; }
    public Histogram<double> ScanDuration { get; }
    public Counter<long> Maintenance { get; }
    public Counter<long> ArchiveFailures { get; }
    public Counter<long> ArchivedRows { get; }

    public void ArchiveFailure(string stage) => ArchiveFailures.Add(1, new KeyValuePair<string, object?>("stage", stage));

    public void Replay(string source, string status, long n = 1) =>
        Replayed.Add(n, new KeyValuePair<string, object?>("source", source), new KeyValuePair<string, object?>("status", status));
}
