using Mutt.Core.Redis;
using Mutt.Core.Configuration;
using Mutt.Forwarder.Moogsoft;
using Mutt.Forwarder.Services;
using StackExchange.Redis;

namespace Mutt.Forwarder.Extensions;

public static class Extensions
{
    public static void AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddMuttRedisClient();
        builder.Services.AddOptions<ForwarderOptions>()
            .BindConfiguration("")
            .PostConfigure<IConfiguration>((o, configuration) =>
            {
                // Aspire-style service discovery: the sink's base URL when no explicit webhook URL is set.
                if (string.IsNullOrWhiteSpace(o.WebhookUrl) && configuration["services:moog-sink:http:0"] is { Length: > 0 } sink)
                {
                    o.WebhookUrl = sink.TrimEnd('/') + "/api/v1/events";
                }
            })
            .Validate(o => Uri.TryCreate(o.WebhookUrl, UriKind.Absolute, out _), "MOOG_WEBHOOK_URL (or services:moog-sink:http:0) must be an absolute URL.")
            .Validate(o => o.RateLimit > 0 && o.RatePeriodSeconds > 0 && o.MaxRetries >= 0 && o.CircuitFailureThreshold > 0, "Moog limits must be positive.")
            .Validate(o => o.MaxInFlight is >= 1 and <= 64, "MOOG_MAX_IN_FLIGHT must be between 1 and 64.")
            .Validate(o => o.BatchLingerMs is >= 0 and <= 1000, "MOOG_BATCH_LINGER_MS must be between 0 and 1000.")
            .ValidateOnStart();
        builder.Services.AddSingleton(sp => new DynamicConfig(sp.GetRequiredService<IConnectionMultiplexer>()));
        builder.Services.AddSingleton<ForwarderMetrics>();
        builder.Services.AddFlowCounters();
        builder.Services.AddSingleton<MoogClient>();
        builder.Services.AddHostedService<ForwarderWorker>();
        builder.Services.AddHealthChecks().AddCheck<MoogReachableHealthCheck>("moogsoft");
        // A retrying batch may be mid-backoff at shutdown; give the worker time to hand its alerts back.
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(20));
    }
}
