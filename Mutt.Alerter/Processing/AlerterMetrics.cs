using System.Diagnostics.Metrics;
using Mutt.Core.Redis;
using Mutt.Core.Telemetry;

namespace Mutt.Alerter.Processing;

/// <summary>The Alerter's instruments (spec 004 "Alerter"), names verbatim. Gauges read values the worker samples.</summary>
public sealed class AlerterMetrics
{
    public const string MeterName = "Mutt.Alerter";

    private readonly Meter _meter;
    private readonly FlowCounters _flow;

    /// <param name="meterFactory">The host's factory: the meter belongs to this host (several hosts in one process each expose only their own).</param>
    public AlerterMetrics(IMeterFactory meterFactory, FlowCounters flow)
    {
        _flow = flow;
        _meter = meterFactory.Create(MeterName);
        EventsProcessed = _meter.CreateCounter<long>(MetricNames.AlerterEventsProcessedTotal, description: "Events by status (handled/unhandled/deduplicated/flapping/suppressed_maintenance/poison/error/invalid)");
        ProcessingLatency = _meter.CreateHistogram<double>(MetricNames.AlerterProcessingLatencySeconds, "s", "Event processing time (per batch, from take to ack)");
        ShedEvents = _meter.CreateCounter<long>(MetricNames.AlerterShedEventsTotal, description: "Shed/deferral events");
        CacheReloadFailures = _meter.CreateCounter<long>(MetricNames.AlerterCacheReloadFailuresTotal, description: "Failed cache reloads");
        DbWriteLatency = _meter.CreateHistogram<double>(MetricNames.DbWriteLatencyMs, "ms", "Database write latency");
        RegexTimeouts = _meter.CreateCounter<long>(MetricNames.AlerterRegexTimeoutsTotal, description: "Rule regex matches that timed out (rule skipped for that event)");
        MetaAlerts = _meter.CreateCounter<long>(MetricNames.AlerterMetaAlertsTotal, description: "Unhandled-event meta-alerts fired by this worker");
        FlappingAlerts = _meter.CreateCounter<long>(MetricNames.AlerterFlappingAlertsTotal, description: "Flapping alerts forwarded (one per flapping episode)");
        FlappingClears = _meter.CreateCounter<long>(MetricNames.AlerterFlappingClearsTotal, description: "Flapping clears pushed by this worker's sweep");
        CompletionsNotCommitted = _meter.CreateCounter<long>(MetricNames.AlerterCompletionsNotCommittedTotal, description: "Completion transactions whose EXEC did not commit (nothing acked; the batch went back to the queue)");
        _meter.CreateObservableGauge(MetricNames.AlerterQueueDepth, () => AlertQueueDepth, description: "Alert queue depth");
        _meter.CreateObservableGauge(MetricNames.AlerterCacheRulesCount, () => RulesCount, description: "Rules in cache");
        _meter.CreateObservableGauge(MetricNames.AlerterCacheDevHostsCount, () => DevHostsCount, description: "Dev hosts in cache");
        _meter.CreateObservableGauge(MetricNames.AlerterCacheTeamsCount, () => TeamsCount, description: "Team mappings in cache");
        _meter.CreateObservableGauge(MetricNames.AlerterDlqDepth, () => DlqDepth, description: "Alerter DLQ depth");
        _meter.CreateObservableGauge(MetricNames.AlerterProcessingListDepth, () => ProcessingListDepth, description: "This worker's processing list depth");
    }

    public Counter<long> EventsProcessed { get; }
    public Histogram<double> ProcessingLatency { get; }
    public Counter<long> ShedEvents { get; }
    public Counter<long> CacheReloadFailures { get; }
    public Histogram<double> DbWriteLatency { get; }
    public Counter<long> RegexTimeouts { get; }
    public Counter<long> MetaAlerts { get; }
    public Counter<long> CompletionsNotCommitted { get; }
    public Counter<long> FlappingAlerts { get; }
    public Counter<long> FlappingClears { get; }

    public long AlertQueueDepth { get; set; }
    public long IngestQueueDepth { get; set; }
    public long DlqDepth { get; set; }
    public long ProcessingListDepth { get; set; }
    public long RulesCount { get; set; }
    public long DevHostsCount { get; set; }
    public long TeamsCount { get; set; }

    private static readonly KeyValuePair<string, object?> Handled = new("status", "handled");
    private static readonly KeyValuePair<string, object?> Unhandled = new("status", "unhandled");
    private static readonly KeyValuePair<string, object?> Deduplicated = new("status", "deduplicated");
    private static readonly KeyValuePair<string, object?> Flapping = new("status", "flapping");
    private static readonly KeyValuePair<string, object?> SuppressedMaintenance = new("status", "suppressed_maintenance");
    private static readonly KeyValuePair<string, object?> Poison = new("status", "poison");
    private static readonly KeyValuePair<string, object?> Error = new("status", "error");
    private static readonly KeyValuePair<string, object?> Invalid = new("status", "invalid");

    /// <summary>Counts a committed batch's events by status.</summary>
    public void RecordBatch(BatchPlan plan, double seconds)
    {
        if (plan.Handled > 0) { EventsProcessed.Add(plan.Handled, Handled); }
        if (plan.Unhandled > 0) { EventsProcessed.Add(plan.Unhandled, Unhandled); }
        if (plan.Deduplicated > 0) { EventsProcessed.Add(plan.Deduplicated, Deduplicated); }
        if (plan.Flapping > 0) { EventsProcessed.Add(plan.Flapping, Flapping); }
        if (plan.SuppressedMaintenance > 0) { EventsProcessed.Add(plan.SuppressedMaintenance, SuppressedMaintenance); }
        if (plan.Poison > 0) { EventsProcessed.Add(plan.Poison, Poison); }
        if (plan.Errors > 0) { EventsProcessed.Add(plan.Errors, Error); }
        if (plan.Invalid > 0) { EventsProcessed.Add(plan.Invalid, Invalid); }
        if (plan.RegexTimeouts > 0) { RegexTimeouts.Add(plan.RegexTimeouts); }
        ProcessingLatency.Record(seconds);
        _flow.Add(FlowCounterNames.AlerterHandled, plan.Handled);
        _flow.Add(FlowCounterNames.AlerterUnhandled, plan.Unhandled);
        _flow.Add(FlowCounterNames.AlerterDeduplicated, plan.Deduplicated);
        _flow.Add(FlowCounterNames.AlerterFlapping, plan.Flapping);
        _flow.Add(FlowCounterNames.AlerterSuppressedMaintenance, plan.SuppressedMaintenance);
    }
}
