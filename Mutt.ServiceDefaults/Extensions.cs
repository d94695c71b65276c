using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Mutt.ServiceDefaults;
using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Cross-cutting defaults, in the shape of Aspire's ServiceDefaults and with no application code:
/// JSON logs with correlation ids, OpenTelemetry (traces, metrics, logs; OTLP when configured),
/// health checks, and Prometheus metrics. An application adds its own meters and activity sources
/// (OpenTelemetry's <c>ConfigureOpenTelemetry*Provider</c>, <see cref="PrometheusExporterOptions"/>)
/// and its /health body (<see cref="HealthResponseOptions"/>); MUTT's do so in Mutt.Core's <c>AddMuttDefaults()</c>.
/// </summary>
public static class Extensions
{
    public const string HealthEndpointPath = "/health";
    public const string AlivenessEndpointPath = "/alive";
    public const string MetricsEndpointPath = "/metrics";
    public const string CorrelationIdHeader = "X-Correlation-ID";

    /// <summary>The tag of the liveness check (<c>/alive</c>); /health runs every other check.</summary>
    public const string LiveTag = "live";

    /// <summary>The spec's service name for this process, e.g. Mutt.Alerter → mutt-alerter.</summary>
    public static string ServiceName(this IHostEnvironment environment) =>
        environment.ApplicationName.Replace('.', '-').ToLowerInvariant();

    public static TBuilder AddServiceDefaults<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.ConfigureLogging();
        builder.ConfigureOpenTelemetry();
        builder.AddDefaultHealthChecks();
        builder.Services.AddOptions<PrometheusExporterOptions>();
        builder.Services.AddSingleton(sp => new PrometheusExporter(sp.GetService<System.Diagnostics.Metrics.IMeterFactory>(),
            applicationMeterPrefixes: sp.GetRequiredService<IOptions<PrometheusExporterOptions>>().Value.ApplicationMeterPrefixes));
        builder.Services.AddProblemDetails();
        return builder;
    }

    private static void ConfigureLogging(this IHostApplicationBuilder builder)
    {
        var level = builder.Configuration["LOG_LEVEL"]?.ToUpperInvariant() switch
        {
            "DEBUG" => LogLevel.Debug,
            "WARNING" or "WARN" => LogLevel.Warning,
            "ERROR" => LogLevel.Error,
            "CRITICAL" => LogLevel.Critical,
            "TRACE" => LogLevel.Trace,
            _ => (LogLevel?)null,
        };
        if (level is { } minimum)
        {
            builder.Logging.SetMinimumLevel(minimum);
        }
        // ASP.NET Core's "Request starting/finished" lines print the full URL, query string included:
        // a key sent as ?api_key= would be logged. Every service keeps them at Warning (secrets never logged).
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.Warning);
        // JSON is the default: every line carries its scopes, so the correlation id of the
        // request or event travels with it. LOG_JSON_ENABLED=false gives plain text for humans.
        builder.Logging.ClearProviders();
        if (!string.Equals(builder.Configuration["LOG_JSON_ENABLED"], "false", StringComparison.OrdinalIgnoreCase))
        {
            builder.Logging.AddJsonConsole(o =>
            {
                o.IncludeScopes = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
                o.UseUtcTimestamp = true;
            });
        }
        else
        {
            builder.Logging.AddSimpleConsole(o =>
            {
                o.IncludeScopes = true;
                o.SingleLine = true;
                o.UseUtcTimestamp = true;
                o.TimestampFormat = "HH:mm:ss.fff ";
            });
        }
    }

    /// <summary>
    /// Traces, metrics and logs through OpenTelemetry (as in Aspire's ServiceDefaults). Metrics leave
    /// the process over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set; Prometheus /metrics is served
    /// either way. Tracing follows spec 004's OTEL_ENABLED; when
    /// it is not set, tracing is on exactly when an OTLP endpoint is (Aspire sets one for its
    /// dashboard). Off means no TracerProvider: nothing listens to the Mutt.* sources, so the
    /// per-event span code in the Alerter and Forwarder costs nothing.
    /// </summary>
    private static void ConfigureOpenTelemetry(this IHostApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        var otlp = !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        var serviceName = configuration["OTEL_SERVICE_NAME"] is { Length: > 0 } configured ? configured : builder.Environment.ServiceName();

        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(serviceName, serviceInstanceId: InstanceId(configuration), autoGenerateServiceInstanceId: false));

        // /metrics (PrometheusExporter) listens to the instruments itself. An OpenTelemetry MeterProvider
        // without an OTLP reader would aggregate every request's histograms a second time for nobody
        // (measured: a visible share of a single-event REST request's CPU), so it exists only with OTLP.
        if (otlp)
        {
            telemetry.WithMetrics(metrics => metrics
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation()
                .AddNpgsqlInstrumentation());
        }

        if (IsTracingEnabled(configuration))
        {
            telemetry.WithTracing(tracing => tracing
                .SetSampler(new BackgroundClientSpanSampler())
                .AddAspNetCoreInstrumentation(o => o.Filter = context => !IsProbePath(context.Request.Path.Value))
                // The Dashboard scrapes the other services' /metrics and /health: probes on both ends stay out of traces.
                .AddHttpClientInstrumentation(o => o.FilterHttpRequestMessage = request => !IsProbePath(request.RequestUri?.AbsolutePath))
                .AddNpgsql());
        }

        if (otlp)
        {
            // The JSON console stays the primary log; OTLP gets a copy with the same scopes (correlation ids).
            telemetry.WithLogging(configureBuilder: null, configureOptions: o =>
            {
                o.IncludeScopes = true;
                o.IncludeFormattedMessage = true;
            });
            // Endpoint, protocol, headers and timeouts come from the standard OTEL_EXPORTER_OTLP_* variables.
            telemetry.UseOtlpExporter();
        }
    }

    /// <summary>
    /// service.instance.id: the one OTEL_RESOURCE_ATTRIBUTES gives (Aspire sets each replica's own id there, and its
    /// dashboard files a replica's telemetry under it), else POD_NAME (Kubernetes, systemd).
    /// </summary>
    private static string? InstanceId(IConfiguration configuration) =>
        (configuration["OTEL_RESOURCE_ATTRIBUTES"] ?? "").Split(',').Any(a => a.Trim().StartsWith("service.instance.id=", StringComparison.Ordinal))
            ? null
            : configuration["POD_NAME"];

    /// <summary>OTEL_ENABLED (spec 004) when set; otherwise on exactly when OTEL_EXPORTER_OTLP_ENDPOINT is set.</summary>
    public static bool IsTracingEnabled(IConfiguration configuration) =>
        bool.TryParse(configuration["OTEL_ENABLED"], out var enabled)
            ? enabled
            : !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);

    /// <summary>Health probes and scrapes: frequent, never interesting as traces.</summary>
    public static bool IsProbePath(string? path) =>
        path is not null && (IsUnder(path, HealthEndpointPath) || IsUnder(path, AlivenessEndpointPath) || IsUnder(path, MetricsEndpointPath));

    private static bool IsUnder(string path, string prefix) =>
        path.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) && (path.Length == prefix.Length || path[prefix.Length] == '/');

    public static TBuilder AddDefaultHealthChecks<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Services.AddHealthChecks().AddCheck("self", () => HealthCheckResult.Healthy(), [LiveTag]);
        return builder;
    }

    private const string CorrelationIdInstalled = "mutt.correlation_id_middleware";

    /// <summary>
    /// Correlation ids for every response. Call it first in a pipeline whose middleware can answer
    /// by itself (authentication, rate limiting), so refused responses carry X-Correlation-ID too;
    /// <see cref="MapDefaultEndpoints"/> adds it when nobody did. Installed at most once.
    /// </summary>
    public static WebApplication UseCorrelationId(this WebApplication app)
    {
        if (((IApplicationBuilder)app).Properties.TryAdd(CorrelationIdInstalled, true))
        {
            app.UseMiddleware<CorrelationIdMiddleware>();
        }
        return app;
    }

    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        app.UseCorrelationId();
        // Created now, not on the first scrape: a MeterListener only sees measurements made after it starts.
        app.Services.GetRequiredService<PrometheusExporter>();
        var health = new HealthCheckOptions
        {
            Predicate = r => !r.Tags.Contains(LiveTag),
            ResultStatusCodes =
            {
                [HealthStatus.Healthy] = StatusCodes.Status200OK,
                [HealthStatus.Degraded] = StatusCodes.Status200OK,
                [HealthStatus.Unhealthy] = StatusCodes.Status503ServiceUnavailable,
            },
        };
        if (app.Services.GetRequiredService<IOptions<HealthResponseOptions>>().Value.Writer is { } writer)
        {
            health.ResponseWriter = writer;
        }
        app.MapHealthChecks(HealthEndpointPath, health);
        app.MapHealthChecks(AlivenessEndpointPath, new HealthCheckOptions { Predicate = r => r.Tags.Contains(LiveTag) });
        app.MapGet(MetricsEndpointPath, (PrometheusExporter exporter) =>
            Results.Text(exporter.Render(), "text/plain; version=0.0.4; charset=utf-8"));
        return app;
    }
}

/// <summary>
/// Takes the caller's <c>X-Correlation-ID</c> (or makes one), echoes it on the response and
/// opens a logging scope so every log line of the request carries it.
/// </summary>
public sealed class CorrelationIdMiddleware(RequestDelegate next, ILogger<CorrelationIdMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var header = context.Request.Headers[Extensions.CorrelationIdHeader].ToString();
        var correlationId = IsAcceptable(header) ? header : Guid.NewGuid().ToString();
        context.Items[Extensions.CorrelationIdHeader] = correlationId;
        context.Response.Headers[Extensions.CorrelationIdHeader] = correlationId;
        using (logger.BeginScope(new Dictionary<string, object> { ["CorrelationId"] = correlationId }))
        {
            Activity.Current?.SetTag("mutt.correlation_id", correlationId);
            await next(context);
        }
    }

    /// <summary>Caller ids are echoed into headers and logs, so only short printable ones are kept.</summary>
    public static bool IsAcceptable(string value) =>
        value.Length is > 0 and <= 128 && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':');
}

/// <summary>The body of /health: the application's writer, else ASP.NET Core's (the status word).</summary>
public sealed class HealthResponseOptions
{
    public Func<HttpContext, HealthReport, Task>? Writer { get; set; }
}
