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
        Maintenance = _meter.CreateCounter<long>(MetricNames.RemediationMaintenanceActionsTotal, description: "Maintenance actions by kind (partition_created/partition_dropped/dlq_trimmed) and dry_run");
        // Not in spec 004: nothing leaves mutt:poison:permanent without an operator, so its depth
        // (not the poison counter's rate) is what the MUTTPoisonQueueNotEmpty alert must see.
        _meter.CreateObservableGauge(MetricNames.RemediationPoisonDepth, () => Volatile.Read(ref PoisonDepth), description: "Items in mutt:poison:permanent (read at each DLQ scan)");
    }

    public long PoisonDepth;

    public Counter<long> Replayed { get; }
    public Histogram<double> ScanDuration { get; }
    public Counter<long> Maintenance { get; }

    public void Replay(string source, string status, long n = 1) =>
        Replayed.Add(n, new KeyValuePair<string, object?>("source", source), new KeyValuePair<string, object?>("status", status));
}
