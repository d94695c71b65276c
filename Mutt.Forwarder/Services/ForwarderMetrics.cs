using System.Diagnostics.Metrics;
using Mutt.Core.Redis;
using Mutt.Core.Telemetry;
using Mutt.Forwarder.Moogsoft;

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
        // Every outcome's series exists from the start at 0: the SLO's increase() cannot see a
        // counter's first step if the series is born at 1 (the first request would be missed).
        foreach (var (status, reason) in RequestSeries)
        {
            Requests.Add(0, new KeyValuePair<string, object?>("status", status), new KeyValuePair<string, object?>("reason", reason));
        }
        foreach (var status in (string[])["success", "dlq", "error"])
        {
            AlertsProcessed.Add(0, new KeyValuePair<string, object?>("status", status));
        }
    }

    /// <summary>The reasons <see cref="Moogsoft.MoogClient"/> gives for each kind of answer.</summary>
    private static readonly (SendResult Result, string Reason)[] Answers =
        [(SendResult.Success, "ok"), (SendResult.Throttled, "http_429"), (SendResult.Rejected, "http_4xx"),
         (SendResult.Retryable, "http_5xx"), (SendResult.Retryable, "timeout"), (SendResult.Retryable, "connection")];

    /// <summary>
    /// Every (status, reason) of mutt_moog_requests_total: each answer's reason with the statuses
    /// <see cref="DeliveryPolicy"/> gives it on a first attempt and on the last one.
    /// </summary>
    public static IReadOnlyList<(string Status, string Reason)> RequestSeries { get; } =
        [.. Answers.SelectMany(a => new[] { DeliveryPolicy.Decide(a.Result, 0, 1, false), DeliveryPolicy.Decide(a.Result, 1, 1, false) }
            .Select(step => (step.Status, a.Reason))).Distinct()];

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
