using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;
using Mutt.Core.Hosting;
using Mutt.ServiceDefaults;

namespace Mutt.Tests.Unit;

/// <summary>
/// ServiceDefaults is generic (no MUTT project behind it); MUTT's own /health body, which used to be written
/// inside it, now comes from Mutt.Core's AddMuttDefaults() and still reads as spec 004 says.
/// </summary>
[Trait("Category", "Unit")]
public sealed class ServiceDefaultsLayoutTests
{
    [Fact]
    public void ServiceDefaults_references_no_MUTT_assembly()
    {
        var references = typeof(PrometheusExporter).Assembly.GetReferencedAssemblies().Select(a => a.Name!).ToList();

        Assert.DoesNotContain(references, name => name.StartsWith("Mutt.", StringComparison.Ordinal));
    }

    [Fact]
    public void AddMuttDefaults_gives_health_the_spec_004_body_and_metrics_the_mutt_meters()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { ApplicationName = "Mutt.Alerter", DisableDefaults = true });
        builder.AddServiceDefaults();
        builder.AddMuttDefaults();
        using var host = builder.Build();

        Assert.Equal(MuttHealthResponse.WriteAsync, host.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<HealthResponseOptions>>().Value.Writer);
        Assert.Contains("Mutt.", host.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<PrometheusExporterOptions>>().Value.ApplicationMeterPrefixes);
        Assert.Contains(host.Services.GetServices<IHealthCheckPublisher>(), p => p is HealthMetrics);
    }

    [Fact]
    public async Task Health_body_names_dependencies_as_spec_004_does()
    {
        var services = new ServiceCollection()
            .AddSingleton<IHostEnvironment>(new Environment { ApplicationName = "Mutt.Alerter" })
            .BuildServiceProvider();
        var context = new DefaultHttpContext { RequestServices = services };
        context.Response.Body = new MemoryStream();
        var report = new HealthReport(new Dictionary<string, HealthReportEntry>
        {
            ["StackExchange.Redis"] = new(HealthStatus.Healthy, null, TimeSpan.Zero, null, null),
            ["PostgreSql"] = new(HealthStatus.Unhealthy, "connection refused", TimeSpan.Zero, null, null),
            ["redis_topology"] = new(HealthStatus.Healthy, null, TimeSpan.Zero, null, new Dictionary<string, object> { ["redis_master"] = "10.0.0.1:6379" }, [MuttHealthResponse.InfoTag]),
            ["alerter"] = new(HealthStatus.Healthy, null, TimeSpan.Zero, null, new Dictionary<string, object> { ["queue_depth"] = 7L }),
        }, TimeSpan.Zero);

        await MuttHealthResponse.WriteAsync(context, report);

        var json = JsonDocument.Parse(((MemoryStream)context.Response.Body).ToArray()).RootElement;
        Assert.Equal("application/json; charset=utf-8", context.Response.ContentType);
        Assert.Equal("unhealthy", json.GetProperty("status").GetString());
        Assert.Equal("connected", json.GetProperty("redis").GetString());
        Assert.Equal("disconnected", json.GetProperty("postgres").GetString());
        Assert.Equal("connection refused", json.GetProperty("postgres_error").GetString());
        Assert.Equal("10.0.0.1:6379", json.GetProperty("redis_master").GetString());
        Assert.Equal(7, json.GetProperty("queue_depth").GetInt64());
        Assert.False(json.TryGetProperty("redis_topology", out _));
        Assert.Equal("2.5", json.GetProperty("version").GetString());
        Assert.Equal("mutt-alerter", json.GetProperty("service").GetString());
        Assert.Matches(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$", json.GetProperty("timestamp").GetString());
    }

    [Fact]
    public async Task Health_gauge_reports_dependencies_by_their_spec_names_and_skips_info_and_liveness_checks()
    {
        using var meters = new Infrastructure.TestMeterFactory();
        var metrics = new HealthMetrics(meters);
        using var exporter = new PrometheusExporter(meters, m => m.Name == HealthMetrics.MeterName);

        await metrics.PublishAsync(new HealthReport(new Dictionary<string, HealthReportEntry>
        {
            ["PostgreSql"] = new(HealthStatus.Unhealthy, null, TimeSpan.Zero, null, null),
            ["StackExchange.Redis"] = new(HealthStatus.Degraded, null, TimeSpan.Zero, null, null),
            ["redis_topology"] = new(HealthStatus.Unhealthy, null, TimeSpan.Zero, null, null, [MuttHealthResponse.InfoTag]),
            ["self"] = new(HealthStatus.Healthy, null, TimeSpan.Zero, null, null, [Microsoft.Extensions.Hosting.Extensions.LiveTag]),
        }, TimeSpan.Zero), default);

        var text = exporter.Render();
        Assert.Contains("mutt_health_dependency_up{dependency=\"postgres\"} 0\n", text);
        Assert.Contains("mutt_health_dependency_up{dependency=\"redis\"} 1\n", text);
        Assert.DoesNotContain("redis_topology", text);
        Assert.DoesNotContain("self", text);
    }

    private sealed class Environment : IHostEnvironment
    {
        public string EnvironmentName { get; set; } = "Production";
        public string ApplicationName { get; set; } = "";
        public string ContentRootPath { get; set; } = "/";
        public IFileProvider ContentRootFileProvider { get; set; } = new NullFileProvider();
    }
}
