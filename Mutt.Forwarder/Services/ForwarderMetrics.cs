using Mutt.Forwarder.Moogsoft;
using System.Diagnostics.Metrics;
using Mutt.Core.Redis;
using Mutt.Core.Telemetry;

namespace Mutt.Forwarder.Services;

/// <summary>Spec 004 "Moog Forwarder" metrics, names verbatim.</summary>
public sealed class ForwarderMetrics
{
    private readonly Meter _meter;
    private readonly FlowCounters _flow;

    /// <param name="meterFactory">The host's factory: the meter belongs to this host (several hosts in one process each expose only their own).</param>
    public ForwarderMetrics(IMeterFactory meterFactory, FlowCounters flow)
    {
        _flow = flow;
        _meter = meterFactory.Create("Mutt.Forwarder");
        Requests = _meter.CreateCounter<long>(MetricNames.MoogRequestsTotal, description: "Moog webhook requests by status and reason");
        Latency = _meter.CreateHistogram<double>(MetricNames.MoogRequestLatencySeconds, "s", "Webhook request latency");
        RateLimitHits = _meter.CreateCounter<long>(MetricNames.MoogRateLimitHitsTotal, description: "Times the shared rate limit (or a 429) made the forwarder wait");
        AlertsProcessed = _meter.CreateCounter<long>(MetricNames.MoogAlertsProcessedTotal, description: "Alerts processed (success/dlq/error)");
        CompletionsNotCommitted = _meter.CreateCounter<long>(MetricNames.MoogCompletionsNotCommittedTotal, description: "Completion transactions whose EXEC did not commit (nothing acked; the batch went back to the queue)");
        _meter.CreateObservableGauge(MetricNames.MoogDlqDepth, () => Volatile.Read(ref DlqDepth), description: "Moog DLQ depth");
        _meter.CreateObservableGauge(MetricNames.MoogProcessingListDepth, () => Volatile.Read(ref ProcessingDepth), description: "This worker's processing list depth");
        _meter.CreateObservableGauge(MetricNames.MoogCircuitState, () => Volatile.Read(ref CircuitState), description: "Circuit breaker state (0=CLOSED, 1=OPEN, 2=HALF_OPEN)");
    }

    public Counter<long> Requests { get; }
    public Histogram<double> Latency { get; }
    public Counter<long> RateLimitHits { get; }
    public Counter<long> AlertsProcessed { get; }
    public Counter<long> CompletionsNotCommitted { get; }

    public long DlqDepth;
    public long ProcessingDepth;
    public int CircuitState;

    public void Request(string status, string reason)
    {
        Requests.Add(1, new KeyValuePair<string, object?>("status", status), new KeyValuePair<string, object?>("reason", reason));
        _flow.Add(status == "success" ? FlowCounterNames.MoogSuccess : FlowCounterNames.MoogFailed);
    }

    public void Alerts(string status, long count)
    {
        AlertsProcessed.Add(count, new KeyValuePair<string, object?>("status", status));
        if (status == "success")
        {
            _flow.Add(FlowCounterNames.AlerterForwarded, count);
        }
    }
}
