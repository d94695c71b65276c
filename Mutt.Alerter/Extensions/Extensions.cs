using Npgsql;
using Microsoft.Extensions.Options;
using Mutt.Alerter.Processing;
using Mutt.Alerter.Rules;
using Mutt.Alerter.Services;
using Mutt.Alerter.Audit;
using Mutt.Core.Configuration;
using Mutt.Core.Events;
using Mutt.Core.Redis;
using Mutt.Core.Rules;
using StackExchange.Redis;

namespace Mutt.Alerter.Extensions;

public static class Extensions
{
    public static void AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddMuttRedisClient();
        builder.AddMuttNpgsqlDataSource();

        builder.Services.AddOptions<AlerterOptions>()
            .BindConfiguration("")
            .Validate(o => !AlerterOptions.Validate(o).Any(), "Invalid Alerter configuration (see ALERTER_* / UNHANDLED_* / CACHE_RELOAD_INTERVAL).")
            .ValidateOnStart();
        builder.Services.AddEventLimits();

        builder.Services.AddSingleton<AlerterMetrics>();
        builder.Services.AddFlowCounters();
        builder.Services.AddSingleton<AlerterState>();
        builder.Services.AddSingleton<NoiseDecisions>();
        builder.Services.AddSingleton(sp => new DynamicConfig(sp.GetRequiredService<IConnectionMultiplexer>()));
        builder.Services.AddSingleton<RuleStore>();
        builder.Services.AddSingleton(sp => new AuditWriter(sp.GetRequiredService<NpgsqlDataSource>(), sp.GetRequiredService<IOptions<AlerterOptions>>().Value.WritesInFlight));
        builder.Services.AddSingleton<RuleCache>();
        builder.Services.AddSingleton<AlertQueueBackpressure>();
        builder.Services.AddSingleton(sp =>
        {
            var names = sp.GetRequiredService<QueueNames>();
            return new ReliableQueue(sp.GetRequiredService<IConnectionMultiplexer>(), names.IngestQueue, names.AlerterProcessingPrefix, names.AlerterHeartbeatPrefix,
                sp.GetRequiredService<IOptions<AlerterOptions>>().Value.PodName);
        });
        builder.Services.AddHostedService<RuleCacheWorker>();
        builder.Services.AddHostedService<AlerterWorker>();
        builder.Services.AddHostedService<FlappingSweepWorker>();
        builder.Services.AddHealthChecks().AddCheck<AlerterHealthCheck>("alerter");
    }
}
