using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Mutt.Core.Secrets;
using Mutt.Core.Clients;
using Npgsql;
using StackExchange.Redis;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Aspire's client integrations (Aspire.StackExchange.Redis, Aspire.Npgsql: connection string from
/// <c>ConnectionStrings:{name}</c>, health checks, tracing, metrics) with MUTT's connection rules as
/// their configuration callbacks: the Sentinel form of the runbooks, TLS (REDIS_TLS_*, DB_TLS_*),
/// passwords from the <see cref="ISecretStore"/> with CURRENT/NEXT rotation. See docs/security.md.
/// </summary>
public static class ClientIntegrationExtensions
{
    public static IHostApplicationBuilder AddMuttRedisClient(this IHostApplicationBuilder builder, string connectionName = "redis")
    {
        builder.Services.AddMuttSecrets(builder.Configuration);
        var tracing = Extensions.IsTracingEnabled(builder.Configuration);
        builder.AddRedisClient(connectionName, settings =>
        {
            // Translated before Aspire parses it; a malformed string stops the start with its reason (never a password).
            settings.ConnectionString = RedisConnectionStrings.ToStackExchange(settings.ConnectionString
                ?? throw new InvalidOperationException($"ConnectionStrings:{connectionName} is not configured."));
            // Redis spans only when MUTT traces at all: a profiling session per command is not free on the hot paths.
            settings.DisableTracing = !tracing;
        });
        builder.Services.TryAddSingleton<RedisConnectionRules>();
        // For every options name: Aspire names its options after the connection in some versions and not in others.
        builder.Services.AddSingleton<IConfigureOptions<ConfigurationOptions>>(sp => new ConfigureNamedOptions<ConfigurationOptions>(null,
            options => sp.GetRequiredService<RedisConnectionRules>().Apply(options)));
        builder.Services.TryAddSingleton<RedisConnectionFactory>();
        builder.Services.AddHostedService<RedisRulesActivator>();
        builder.Services.AddHealthChecks().AddCheck<RedisTopologyHealthCheck>("redis_topology", tags: [RedisTopologyHealthCheck.InfoTag]);
        return builder;
    }

    /// <param name="healthCheck">False for a service that keeps working without PostgreSQL (the Ingestor): its /health must not depend on it.</param>
    public static IHostApplicationBuilder AddMuttNpgsqlDataSource(this IHostApplicationBuilder builder, string connectionName = "muttdb", bool healthCheck = true)
    {
        builder.Services.AddMuttSecrets(builder.Configuration);
        var configuration = builder.Configuration;
        // Aspire's data source callback runs inside its singleton factory, which has no access to the
        // container; the secret store is handed over when that factory runs (see below).
        var services = new ServiceProviderSlot();
        var tracing = Extensions.IsTracingEnabled(builder.Configuration);
        builder.AddNpgsqlDataSource(connectionName, settings =>
        {
            settings.DisableTracing = !tracing;
            settings.DisableHealthChecks |= !healthCheck;
        }, dataSource =>
        {
            var provider = services.Provider ?? throw new InvalidOperationException("The data source was built outside the container.");
            MuttNpgsql.Configure(dataSource, PostgresTlsSettings.FromConfiguration(configuration, dataSource.ConnectionString),
                provider.GetRequiredService<ISecretStore>(), provider.GetRequiredService<ILoggerFactory>());
        });
        var aspire = builder.Services.Last(d => d.ServiceType == typeof(NpgsqlDataSource) && !d.IsKeyedService);
        var factory = aspire.ImplementationFactory ?? throw new InvalidOperationException("Aspire.Npgsql registered no data source factory.");
        builder.Services.Replace(ServiceDescriptor.Singleton(sp =>
        {
            services.Provider = sp;
            return (NpgsqlDataSource)factory(sp);
        }));
        return builder;
    }

    private sealed class ServiceProviderSlot
    {
        public IServiceProvider? Provider { get; set; }
    }
}
