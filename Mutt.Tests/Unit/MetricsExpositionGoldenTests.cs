using System.Diagnostics.Metrics;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Mutt.Alerter.Processing;
using Mutt.Dashboard.Metrics;
using Mutt.Forwarder.Services;
using Mutt.Ingestor.Ingest;
using Mutt.Remediation.Services;
using Mutt.Core.Hosting;
using Mutt.ServiceDefaults;
using Mutt.Core.Security;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;

using Mutt.Tests.Infrastructure;

namespace Mutt.Tests.Unit;

/// <summary>
/// Spec 004's metric names, types and labels are what operators' dashboards and alerts query.
/// Each service's metrics class gets one measurement on every instrument (with the label keys its
/// call sites use), /metrics is rendered, and the TYPE, name and label keys of every family are
/// compared with Golden/metrics-exposition.txt. A renamed metric, a changed type or a changed
/// label fails here; if the change is intended (and in the spec), regenerate the file with
/// MUTT_UPDATE_GOLDEN=1 and review its diff.
/// </summary>
[Trait("Category", "Unit")]
public sealed partial class MetricsExpositionGoldenTests
{
    private static readonly string GoldenPath = Path.Combine(Infrastructure.ChildService.RepositoryRoot, "Mutt.Tests", "Unit", "Golden", "metrics-exposition.txt");

    private static KeyValuePair<string, object?> L(string key, object? value) => new(key, value);

    [Fact]
    public void Every_service_exposes_the_spec_metric_names_types_and_labels()
    {
        var actual = new StringBuilder();
        actual.Append(Shape("mutt-ingestor", "Mutt.Ingestor", meters =>
        {
            var m = new IngestMetrics(meters, new QueueDepthSampler(null!, null!, new Mutt.Core.Redis.QueueNames(), Options.Create(new IngestOptions())), new Mutt.Core.Redis.FlowCounters());
            m.Request("success", "ok", "legacy:INGEST_API_KEY");
            m.Events.Add(1, L("source", "rest"));
            m.Latency.Record(0.01);
            m.SyslogReceived.Add(1, L("transport", "udp"));
            m.SyslogParseErrors.Add(1);
            m.SyslogTruncated.Add(1);
            m.SyslogBytes.Add(10, L("transport", "udp"));
            m.SyslogDropped.Add(1, L("reason", "buffer_full"));
            m.SnmpReceived.Add(1, L("version", "v2c"));
            m.SnmpDecodeErrors.Add(1);
            m.SnmpDropped.Add(1, L("reason", "community"));
            m.SnmpParseErrors.Add(1);
            m.PushFailures.Add(1);
            var udp = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
            udp.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
            m.UdpKernelDrops.Watch("syslog", udp);
        }));
        actual.Append(Shape("mutt-alerter", AlerterMetrics.MeterName, meters =>
        {
            var m = new AlerterMetrics(meters, new Mutt.Core.Redis.FlowCounters());
            m.EventsProcessed.Add(1, L("status", "handled"));
            m.ProcessingLatency.Record(0.01);
            m.ShedEvents.Add(1, L("mode", "dlq"));
            m.CacheReloadFailures.Add(1);
            m.DbWriteLatency.Record(3);
            m.RegexTimeouts.Add(1);
            m.MetaAlerts.Add(1);
            m.FlappingAlerts.Add(1);
            m.FlappingClears.Add(1);
        }));
        actual.Append(Shape("mutt-forwarder", "Mutt.Forwarder", meters =>
        {
            var m = new ForwarderMetrics(meters, new Mutt.Core.Redis.FlowCounters());
            m.Request("success", "ok");
            m.Latency.Record(0.01);
            m.RateLimitHits.Add(1);
            m.Alerts("success", 1);
        }));
        actual.Append(Shape("mutt-dashboard", "Mutt.Dashboard", meters =>
        {
            var m = new DashboardMetrics(meters);
            m.ApiRequests.Add(1, L("endpoint", "/api/v2/rules"), L("status", "200"));
            m.ApiLatency.Record(0.01, L("endpoint", "/api/v2/rules"));
            m.DbQueryLatency.Record(3, L("operation", "rules"));
            m.RedisScanLatency.Record(0.01);
        }));
        actual.Append(Shape("mutt-remediation", "Mutt.Remediation", meters =>
        {
            var m = new RemediationMetrics(meters);
            m.Replay("alerter", "success");
            m.ScanDuration.Record(0.01);
            m.Maintenance.Add(1, L("kind", "partition_created"), L("dry_run", false));
            m.ArchiveFailure("verify");
            m.ArchivedRows.Add(10);
        }));
        actual.Append(Shape("every service", HealthMetrics.MeterName, meters =>
        {
            var h = new HealthMetrics(meters);
            var redis = new HealthReportEntry(HealthStatus.Unhealthy, null, TimeSpan.Zero, null, null);
            h.PublishAsync(new HealthReport(new Dictionary<string, HealthReportEntry> { ["StackExchange.Redis"] = redis }, TimeSpan.Zero), default).GetAwaiter().GetResult();
        }));

        actual.Append(Shape("ingestor and dashboard", "Mutt.Auth", meters =>
        {
            using var guard = new AuthFailureGuard(meters, new ConfigurationBuilder().Build(), NullLogger<AuthFailureGuard>.Instance);
            guard.RecordFailure(System.Net.IPAddress.Loopback, "sign_in");
        }));

        if (Environment.GetEnvironmentVariable("MUTT_UPDATE_GOLDEN") == "1")
        {
            File.WriteAllText(GoldenPath, actual.ToString());
        }
        var expected = File.ReadAllText(GoldenPath);
        Assert.True(expected == actual.ToString(),
            $"The /metrics shape differs from {GoldenPath}.\n--- expected\n{expected}\n--- actual\n{actual}");
    }

    [Fact]
    public void Platform_metrics_get_prometheus_names_and_mutt_names_stay_verbatim()
    {
        using var meter = new Meter("Mutt.GoldenNaming." + Guid.NewGuid().ToString("N"));
        using var platform = new Meter("Microsoft.AspNetCore.Hosting");
        using var exporter = new PrometheusExporter(meterFilter: m => ReferenceEquals(m, meter) || ReferenceEquals(m, platform));
        meter.CreateHistogram<double>("mutt_db_write_latency_ms", "ms").Record(1);
        meter.CreateCounter<long>("mutt_things_total").Add(1);
        platform.CreateHistogram<double>("http.server.request.duration", "s",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.005, 0.01] }).Record(0.007, L("http.request.method", "GET"));
        platform.CreateUpDownCounter<long>("http.server.active_requests", "{request}").Add(1);
        platform.CreateCounter<long>("kestrel.connections", "{connection}").Add(1);

        var text = exporter.Render();

        Assert.Contains("# TYPE mutt_db_write_latency_ms histogram\n", text);
        Assert.Contains("# TYPE mutt_things_total counter\n", text);
        Assert.Contains("# TYPE http_server_request_duration_seconds histogram\n", text);
        Assert.Contains("http_server_request_duration_seconds_bucket{http_request_method=\"GET\",le=\"0.01\"} 1\n", text);
        Assert.Contains("# TYPE http_server_active_requests gauge\n", text);
        Assert.Contains("# TYPE kestrel_connections_total counter\n", text);
        Assert.All(TypeLine().Matches(text), m => Assert.Matches("^[a-zA-Z_:][a-zA-Z0-9_:]*$", m.Groups["name"].Value));
    }

    /// <summary>The comparable shape of one service's exposition: "type name {label,keys}" per family, sorted.</summary>
    private static string Shape(string service, string meterName, Action<IMeterFactory> record)
    {
        using var meters = new TestMeterFactory();
        using var exporter = new PrometheusExporter(meters, m => m.Name == meterName);
        record(meters);
        var text = exporter.Render();
        var types = TypeLine().Matches(text).GroupBy(m => m.Groups["name"].Value)
            .ToDictionary(g => g.Key, g => string.Join("|", g.Select(m => m.Groups["type"].Value).Distinct()));
        var labels = types.Keys.ToDictionary(name => name, _ => new SortedSet<string>(StringComparer.Ordinal));
        foreach (Match sample in SampleLine().Matches(text))
        {
            var name = sample.Groups["name"].Value;
            var family = types.ContainsKey(name) ? name : Regex.Replace(name, "_(bucket|sum|count)$", "");
            foreach (Match label in LabelKey().Matches(sample.Groups["labels"].Value))
            {
                if (label.Groups[1].Value != "le")
                {
                    labels[family].Add(label.Groups[1].Value);
                }
            }
        }
        var shape = new StringBuilder($"# {service} (meter {meterName})\n");
        foreach (var (name, type) in types.OrderBy(t => t.Key, StringComparer.Ordinal))
        {
            shape.Append(type).Append(' ').Append(name).Append(" {").AppendJoin(',', labels[name]).Append("}\n");
        }
        return shape.ToString();
    }

    [GeneratedRegex(@"^# TYPE (?<name>\S+) (?<type>\S+)$", RegexOptions.Multiline)]
    private static partial Regex TypeLine();

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>[^}]*)\})? \S+$", RegexOptions.Multiline)]
    private static partial Regex SampleLine();

    [GeneratedRegex(@"([a-zA-Z_][a-zA-Z0-9_]*)=""")]
    private static partial Regex LabelKey();
}
