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

    /// <summary>
    /// Makes at 0 every series of mutt_ingest_requests_total a request can be counted in, with the
    /// <paramref name="keys"/> known now (a valid key's outcomes) and <see cref="IngestAuth.NoKey"/>
    /// (refused before a key is known): the SLO's <c>increase()</c> cannot see the first request of a
    /// series born at 1. Only known keys: the <c>key</c> label stays bounded. Counts nothing.
    /// </summary>
    public void DeclareRequestSeries(IEnumerable<string> keys)
    {
        foreach (var reason in IngestReasons.BeforeKey)
        {
            Zero("fail", reason, IngestAuth.NoKey);
        }
        foreach (var key in keys)
        {
            Zero("success", IngestReasons.Ok, key);
            foreach (var reason in IngestReasons.AfterKey)
            {
                Zero("fail", reason, key);
            }
        }
    }

    private void Zero(string status, string reason, string key) =>
        Requests.Add(0, new KeyValuePair<string, object?>("status", status), new KeyValuePair<string, object?>("reason", reason), new KeyValuePair<string, object?>("key", key));

    /// <param name="key">The API key's name (<see cref="IngestKeyValidator.LegacyKeyName"/> for the legacy key, <see cref="IngestAuth.NoKey"/> without one): which source sends what.</param>
    public void Request(string status, string reason, string key)
    {
        Requests.Add(1, new KeyValuePair<string, object?>("status", status), new KeyValuePair<string, object?>("reason", reason), new KeyValuePair<string, object?>("key", key));
        _flow.Add(status == "success" ? FlowCounterNames.IngestSuccess : FlowCounterNames.IngestFailed);
    }
}

/// <summary>The <c>reason</c> label values of mutt_ingest_requests_total (status "success" has only <see cref="Ok"/>).</summary>
public static class IngestReasons
{
    public const string Ok = "ok";
    public const string RateLimited = "rate_limited";
    public const string Auth = "auth";
    public const string Backpressure = "backpressure";
    public const string TooLarge = "too_large";
    public const string InvalidJson = "invalid_json";
    public const string Validation = "validation";
    public const string UnknownSource = "unknown_source";
    public const string Unavailable = "unavailable";
    public const string RedisError = "redis_error";
    public const string ReplicaTimeout = "replica_timeout";

    /// <summary>Failures before any key is known: counted under <see cref="IngestAuth.NoKey"/>.</summary>
    public static readonly IReadOnlyList<string> BeforeKey = [RateLimited, Auth];

    /// <summary>Failures of a request whose key was valid.</summary>
    public static readonly IReadOnlyList<string> AfterKey = [Backpressure, TooLarge, InvalidJson, Validation, UnknownSource, Unavailable, RedisError, ReplicaTimeout];
}
