using System.Diagnostics.Metrics;
using Mutt.Core.Redis;
using Mutt.Core.Telemetry;

namespace Mutt.Ingestor.Ingest;

/// <summary>Instruments of the "Mutt.Ingestor" meter; names are spec 004's, verbatim.</summary>
public sealed class IngestMetrics
{
    private readonly Meter _meter;
    private readonly FlowCounters _flow;

    /// <param name="meterFactory">The host's factory: the meter belongs to this host (several hosts in one process each expose only their own).</param>
    public IngestMetrics(IMeterFactory meterFactory, QueueDepthSampler sampler, FlowCounters flow)
    {
        _flow = flow;
        _meter = meterFactory.Create("Mutt.Ingestor");
        Requests = _meter.CreateCounter<long>(MetricNames.IngestRequestsTotal, description: "Total ingestion requests");
        Events = _meter.CreateCounter<long>(MetricNames.IngestEventsTotal, description: "Events accepted onto the ingest queue, by source");
        Latency = _meter.CreateHistogram<double>(MetricNames.IngestLatencySeconds, unit: "s", description: "Request processing latency");
        _meter.CreateObservableGauge(MetricNames.IngestQueueDepth, () => sampler.LastDepth, description: "Current queue depth");
        SyslogReceived = _meter.CreateCounter<long>(MetricNames.SyslogMessagesReceivedTotal, description: "Syslog messages received, by transport");
        SyslogParseErrors = _meter.CreateCounter<long>(MetricNames.SyslogParseErrorsTotal, description: "Syslog messages enqueued raw because they could not be parsed or broke a limit on input (hostname, timestamp, MAX_MESSAGE_BYTES)");
        SyslogTruncated = _meter.CreateCounter<long>(MetricNames.SyslogTruncatedTotal, description: "Syslog frames cut at SYSLOG_MAX_MESSAGE_BYTES");
        SyslogBytes = _meter.CreateCounter<long>(MetricNames.SyslogBytesTotal, description: "Syslog bytes received, by transport");
        SyslogDropped = _meter.CreateCounter<long>(MetricNames.SyslogDroppedTotal, description: "Syslog messages dropped, by reason");
        SnmpReceived = _meter.CreateCounter<long>(MetricNames.SnmpTrapsReceivedTotal, description: "SNMP traps and informs accepted, by version");
        SnmpDecodeErrors = _meter.CreateCounter<long>(MetricNames.SnmpDecodeErrorsTotal, description: "SNMP datagrams that could not be decoded");
        SnmpDropped = _meter.CreateCounter<long>(MetricNames.SnmpDroppedTotal, description: "SNMP datagrams dropped, by reason");
        SnmpParseErrors = _meter.CreateCounter<long>(MetricNames.SnmpParseErrorsTotal, description: "SNMP traps enqueued with parse_error because a limit on input was applied (MAX_MESSAGE_BYTES)");
        PushFailures = _meter.CreateCounter<long>(MetricNames.IngestPushFailuresTotal, description: "Failed Redis pushes of listener batches (retried)");
        _meter.CreateObservableCounter(MetricNames.IngestUdpDropsTotal,
            () => UdpKernelDrops.Read().Select(d => new Measurement<long>(d.Drops, new KeyValuePair<string, object?>("listener", d.Listener))),
            description: "Datagrams the kernel dropped at a UDP listener's full receive buffer (MUTT's own drops: mutt_syslog_dropped_total, mutt_snmp_dropped_total)");
    }

    /// <summary>The UDP listeners' sockets whose kernel receive-buffer drops are exported.</summary>
    public UdpKernelDrops UdpKernelDrops { get; } = new();

    public Counter<long> Requests { get; }
    public Counter<long> Events { get; }
    public Histogram<double> Latency { get; }
    public Counter<long> SyslogReceived { get; }
    public Counter<long> SyslogParseErrors { get; }
    public Counter<long> SyslogTruncated { get; }
    public Counter<long> SyslogBytes { get; }
    public Counter<long> SyslogDropped { get; }
    public Counter<long> SnmpReceived { get; }
    public Counter<long> SnmpDecodeErrors { get; }
    public Counter<long> SnmpDropped { get; }
    public Counter<long> SnmpParseErrors { get; }
    public Counter<long> PushFailures { get; }

    /// <param name="key">The API key's name (<see cref="IngestKeyValidator.LegacyKeyName"/> for the legacy key, <see cref="IngestAuth.NoKey"/> without one): which source sends what.</param>
    public void Request(string status, string reason, string key)
    {
        Requests.Add(1, new KeyValuePair<string, object?>("status", status), new KeyValuePair<string, object?>("reason", reason), new KeyValuePair<string, object?>("key", key));
        _flow.Add(status == "success" ? FlowCounterNames.IngestSuccess : FlowCounterNames.IngestFailed);
    }
}
