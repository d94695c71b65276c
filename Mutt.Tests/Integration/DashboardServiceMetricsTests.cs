using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Mutt.Testing;
using Mutt.Tests.Infrastructure;

namespace Mutt.Tests.Integration;

/// <summary>With services__alerter__http__0 etc. configured, flow counters come from the services' own /metrics.</summary>
[Collection(InfrastructureCollection.Name)]
[Trait("Category", "Integration")]
public sealed class DashboardServiceMetricsTests(InfrastructureFixture infra)
{
    [Fact]
    public async Task Counters_and_slo_come_from_the_services_prometheus_metrics_when_configured()
    {
        await DashboardApiTests.ClearMuttKeysAsync(infra.Multiplexer);
        var port = NativeProcess.FreeTcpPort();
        using var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
        using var stop = new CancellationTokenSource();
        var server = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var context = await listener.GetContextAsync();
                var body = context.Request.Url!.AbsolutePath switch
                {
                    "/alerter/metrics" => "# TYPE mutt_alerter_events_processed_total counter\nmutt_alerter_events_processed_total{status=\"handled\"} 70\nmutt_alerter_events_processed_total{status=\"unhandled\"} 30\n",
                    "/alerter-1/metrics" => "mutt_alerter_events_processed_total{status=\"handled\"} 5\nmutt_alerter_events_processed_total{status=\"unhandled\"} 1\n",
                    "/forwarder/metrics" => "mutt_moog_requests_total{status=\"success\",reason=\"\"} 96\nmutt_moog_requests_total{status=\"fail\",reason=\"5xx\"} 4\nmutt_moog_alerts_processed_total{status=\"success\"} 96\n",
                    _ => "",
                };
                var bytes = Encoding.UTF8.GetBytes(body);
                context.Response.StatusCode = body.Length == 0 ? 404 : 200;
                await context.Response.OutputStream.WriteAsync(bytes);
                context.Response.Close();
            }
        });

        var db = await infra.CreateDatabaseAsync();
        await using var factory = new DashboardApiFactory(infra.RedisConnectionString, db, "k", new Dictionary<string, string>
        {
            ["services:alerter:http:0"] = $"http://127.0.0.1:{port}/alerter",
            ["services:alerter:http:1"] = $"http://127.0.0.1:{port}/alerter-1", // the second replica: summed
            ["services:forwarder:http:0"] = $"http://127.0.0.1:{port}/forwarder",
        });
        var api = factory.CreateClient();
        api.DefaultRequestHeaders.Add("X-API-KEY", "k");
        var counters = (await api.GetFromJsonAsync<JsonObject>("/api/v2/metrics"))!["counters"]!;
        Assert.Equal(75, (long)counters["alerter:handled"]!);
        Assert.Equal(31, (long)counters["alerter:unhandled"]!);
        Assert.Equal(96, (long)counters["alerter:forwarded"]!);
        Assert.Equal(4, (long)counters["moog:failed"]!);

        var forwarder = (await api.GetFromJsonAsync<JsonObject>("/api/v2/slo"))!["components"]![1]!;
        Assert.Equal(4.0, (double)forwarder["burn_rate"]!, 3); // 4 % errors against a 1 % budget
        Assert.Equal("critical", (string)forwarder["status"]!);
        stop.Cancel();
        listener.Stop();
    }
}
