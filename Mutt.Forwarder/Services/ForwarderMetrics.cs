using System.Diagnostics.Metrics;

namespace Mutt.Forwarder.Services;

/// <summary>Spec 004 "Moog Forwarder" metrics, names verbatim.</summary>
public sealed class ForwarderMetrics
{
    private readonly Meter _meter;

    /// <param name="meterFactory">The host's factory: the meter belongs to this host (several hosts in one process each expose only their own).</param>
    public ForwarderMetrics(IMeterFactory meterFactory)
    {
        _meter = meterFactory.Create("Mutt.Forwarder");
        Requests = _meter.CreateCounter<long>("mutt_moog_requests_total", description: "Moog webhook requests by status and reason");
        Latency = _meter.CreateHistogram<double>("mutt_moog_request_latency_seconds", "s", "Webhook request latency");
        RateLimitHits = _meter.CreateCounter<long>("mutt_moog_rate_limit_hits_total", description: "Times the shared rate limit (or a 429) made the forwarder wait");
        AlertsProcessed = _meter.CreateCounter<long>("mutt_moog_alerts_processed_total", description: "Alerts processed (success/dlq/error)");
        CompletionsNotCommitted = _meter.CreateCounter<long>("mutt_moog_completions_not_committed_total", description: "Completion transactions whose EXEC did not commit (nothing acked; the batch went back to the queue)");
        _meter.CreateObservableGauge("mutt_moog_dlq_depth", () => Volatile.Read(ref DlqDepth), description: "Moog DLQ depth");
        _meter.CreateObservableGauge("mutt_moog_processing_list_depth", () => Volatile.Read(ref ProcessingDepth), description: "This worker's processing list depth");
        _meter.CreateObservableGauge("mutt_moog_circuit_state", () => Volatile.Read(ref CircuitState), description: "Circuit breaker state (0=CLOSED, 1=OPEN, 2=HALF_OPEN)");
    }

    public Counter<long> Requests { get; }
    public Histogram<double> Latency { get; }
    public Counter<long> RateLimitHits { get; }
    public Counter<long> AlertsProcessed { get; }
    public Counter<long> CompletionsNotCommitted { get; }

    public long DlqDepth;
    public long ProcessingDepth;
    public int CircuitState;

    public void Request(string status, string reason) =>
        Requests.Add(1, new KeyValuePair<string, object?>("status", status), new KeyValuePair<string, object?>("reason", reason));

    public void Alerts(string status, long count) => AlertsProcessed.Add(count, new KeyValuePair<string, object?>("status", status));
}
