using Mutt.Core.Auth;
using Mutt.Core.Redis;
using Mutt.Core.Configuration;
using Mutt.Core.Events;
using Mutt.Ingestor.Apis;
using Mutt.Ingestor.Ingest;
using Mutt.Ingestor.Services;
using Mutt.Ingestor.Snmp;
using Mutt.Ingestor.Syslog;
using Mutt.Ingestor.Webhooks;
using Mutt.ServiceDefaults;
using Mutt.Core.Security;
using StackExchange.Redis;

namespace Mutt.Ingestor.Extensions;

public static class Extensions
{
    public static void AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddMuttRedisClient();
        if (builder.Configuration["LOG_LEVEL"]?.ToUpperInvariant() is not ("DEBUG" or "TRACE"))
        {
            // ASP.NET Core's per-request Information lines (request starting/finished, endpoint
            // executing) cost more than the ingest itself at tens of thousands of requests a second.
            foreach (var category in (string[])["Microsoft.AspNetCore.Hosting.Diagnostics", "Microsoft.AspNetCore.Routing", "Microsoft.AspNetCore.Http.Result"])
            {
                builder.Logging.AddFilter(category, LogLevel.Warning);
            }
        }
        var services = builder.Services;
        services.Configure<Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions>(o => o.AddServerHeader = false);
        services.AddOptions<IngestOptions>().BindConfiguration("").ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<SyslogOptions>().BindConfiguration("").ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<SnmpOptions>().BindConfiguration("").ValidateDataAnnotations().ValidateOnStart();
        services.AddEventLimits();
        services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, IngestApiJsonContext.Default));

        services.AddSingleton(sp => new DynamicConfig(sp.GetRequiredService<IConnectionMultiplexer>()));
        // Named ingest keys (api_keys) and mapped sources' mappings live in PostgreSQL, read through one data
        // source; the rest of the intake needs only Redis, so the database is optional and never part of /health
        // (a PostgreSQL outage must not stop intake: the last loaded keys and mappings stay in use). Without a
        // database only the legacy INGEST_API_KEY works and there are no mapped sources.
        if (!string.IsNullOrWhiteSpace(builder.Configuration.GetConnectionString("muttdb")))
        {
            builder.AddMuttNpgsqlDataSource(healthCheck: false);
            services.AddApiKeyRing(builder.Configuration, MuttRoles.Ingest);
            services.AddSingleton<WebhookMappingCache>();
            services.AddSingleton<Mutt.Core.Webhooks.WebhookMappingStore>();
            services.AddHostedService<WebhookMappingCacheWorker>();
        }
        else
        {
            services.AddSingleton(sp => new WebhookMappingCache(sp.GetRequiredService<ILogger<WebhookMappingCache>>())
            {
                NotLoadedReason = "This Ingestor has no database (ConnectionStrings__muttdb), so it has no webhook mappings.",
            });
        }
        services.AddSingleton<IIngestKeyValidator, IngestKeyValidator>();
        services.AddSingleton<AuthFailureGuard>();
        services.AddSingleton<IngestAuth>();
        services.AddHostedService(sp => sp.GetRequiredService<IngestAuth>());
        services.AddSingleton<IngestWriter>();
        services.AddSingleton<IngestPipeline>();
        services.AddOptions<WebhookOptions>().BindConfiguration("");
        services.AddSingleton<QueueDepthSampler>();
        services.AddHealthChecks().AddCheck<IngestQueueHealthCheck>("ingest_queue");
        services.AddSingleton<IngestMetrics>();
        services.AddFlowCounters();
        // The /metrics exporter only sees measurements made after it exists; it is otherwise
        // created on the first scrape, which would lose every count before it. It also makes the
        // known request series at 0.
        services.AddHostedService<MetricsExporterActivator>();
        services.AddSingleton<ThroughputCounters>();
        services.AddHostedService(sp => sp.GetRequiredService<ThroughputCounters>());
        services.AddSingleton<ListenerPusher>();
        services.AddSingleton<ListenerQueue>();
        // Registered before the listeners so it stops after them and can drain what they accepted.
        services.AddHostedService<ListenerPushWorker>();
        services.AddHostedService<SyslogUdpWorker>();
        services.AddHostedService<SyslogTcpWorker>();
        services.AddHostedService<SnmpTrapWorker>();
        services.AddHostedService<RelpWorker>();
    }
}

/// <summary>
/// Creates the /metrics exporter before anything is counted, then the request and auth-failure
/// series the SLO queries and alerts read, at 0 (again for each new set of named keys).
/// </summary>
internal sealed class MetricsExporterActivator(PrometheusExporter exporter, IngestMetrics metrics, IngestAuth auth, IIngestKeyValidator keys,
    AuthFailureGuard guard, ApiKeyRing? ring = null) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        GC.KeepAlive(exporter);
        guard.DeclareSurface(IngestPipeline.AuthSurface);
        DeclareKeys();
        if (ring is not null)
        {
            ring.Replaced += DeclareKeys;
        }
        return Task.CompletedTask;
    }

    // With auth disabled every request is counted under the "none" key.
    private void DeclareKeys() => metrics.DeclareRequestSeries(auth.Disabled ? [IngestAuth.NoKey] : keys.KeyNames);

    public Task StopAsync(CancellationToken cancellationToken)
    {
        if (ring is not null)
        {
            ring.Replaced -= DeclareKeys;
        }
        return Task.CompletedTask;
    }
}
