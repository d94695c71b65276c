using Mutt.Core.Configuration;
using Mutt.Ingestor.Apis;
using Mutt.Ingestor.Ingest;
using Mutt.Ingestor.Services;
using Mutt.Ingestor.Snmp;
using Mutt.Ingestor.Syslog;
using StackExchange.Redis;

namespace Mutt.Ingestor.Extensions;

public static class Extensions
{
    public static void AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddRedisClient("redis");
        var services = builder.Services;
        services.AddOptions<IngestOptions>().BindConfiguration("").ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<SyslogOptions>().BindConfiguration("").ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<SnmpOptions>().BindConfiguration("").ValidateDataAnnotations().ValidateOnStart();
        services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, IngestApiJsonContext.Default));

        services.AddSingleton(sp => new DynamicConfig(sp.GetRequiredService<IConnectionMultiplexer>()));
        services.AddSingleton<QueueDepthSampler>();
        services.AddSingleton<IngestMetrics>();
        services.AddSingleton<ThroughputCounters>();
        services.AddHostedService(sp => sp.GetRequiredService<ThroughputCounters>());
        services.AddSingleton<ListenerQueue>();
        // Registered before the listeners so it stops after them and can drain what they accepted.
        services.AddHostedService<ListenerPushWorker>();
        services.AddHostedService<SyslogUdpWorker>();
        services.AddHostedService<SyslogTcpWorker>();
        services.AddHostedService<SnmpTrapWorker>();
    }
}
