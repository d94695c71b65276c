using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Mutt.Core.Hosting;
using Mutt.Core.Redis;
using Mutt.Core.Secrets;
using Mutt.ServiceDefaults;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// What every MUTT service adds to the generic ServiceDefaults, called right after
/// <c>AddServiceDefaults()</c> in each Program.cs: the secret store (Vault or configuration), the Redis
/// key names every service reads alike (<see cref="QueueNames"/>), MUTT's meters and activity sources
/// (<c>Mutt.*</c>) in OpenTelemetry and in /metrics with their spec 004 names verbatim, and spec 004's
/// /health body with <c>mutt_health_dependency_up</c>.
/// </summary>
public static class MuttDefaultsExtensions
{
    /// <summary>MUTT's meters and activity sources: one per service, named <c>Mutt.&lt;Service&gt;</c> (<see cref="Mutt.Core.Telemetry.MuttTracing"/>).</summary>
    public const string MuttTelemetryNames = "Mutt.*";

    /// <summary>The prefix of MUTT's meter names; their instruments carry spec 004's metric names and are exposed as they are.</summary>
    public const string MuttMeterPrefix = "Mutt.";

    public static TBuilder AddMuttDefaults<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        var services = builder.Services;
        services.AddMuttSecrets(builder.Configuration);
        services.AddQueueNames();

        // Applied only when ServiceDefaults builds the providers (tracing on; metrics with OTLP): off stays free.
        services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddSource(MuttTelemetryNames));
        services.ConfigureOpenTelemetryMeterProvider(metrics => metrics.AddMeter(MuttTelemetryNames));
        services.Configure<PrometheusExporterOptions>(o => o.ApplicationMeterPrefixes.Add(MuttMeterPrefix));

        services.Configure<HealthResponseOptions>(o => o.Writer = MuttHealthResponse.WriteAsync);
        // mutt_health_dependency_up: the publisher runs the checks in the background (every 15 s
        // after a 2 s delay) so that a dependency outage shows in /metrics within one period.
        services.AddSingleton<HealthMetrics>();
        services.AddSingleton<IHealthCheckPublisher>(sp => sp.GetRequiredService<HealthMetrics>());
        services.Configure<HealthCheckPublisherOptions>(o =>
        {
            o.Delay = TimeSpan.FromSeconds(2);
            o.Period = TimeSpan.FromSeconds(15);
        });
        return builder;
    }
}
