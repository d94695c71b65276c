using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Mutt.Core.Secrets;
using Mutt.Core.Clients;
using StackExchange.Redis;

namespace Mutt.Tests.Infrastructure;

/// <summary>
/// The Redis client exactly as a service gets it (<c>AddMuttRedisClient</c>: Aspire's integration plus
/// MUTT's TLS, password and Sentinel rules), in a started host of its own.
/// </summary>
public sealed class RedisClientHost : IAsyncDisposable
{
    private readonly IHost _host;

    private RedisClientHost(IHost host) => _host = host;

    public IServiceProvider Services => _host.Services;
    public IConnectionMultiplexer Multiplexer => _host.Services.GetRequiredService<IConnectionMultiplexer>();
    public RedisConnectionRules Rules => _host.Services.GetRequiredService<RedisConnectionRules>();

    public static async Task<RedisClientHost> StartAsync(string connectionString, IDictionary<string, string?>? settings = null,
        ISecretStore? secrets = null, ILoggerProvider? logs = null)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>(settings ?? new Dictionary<string, string?>())
        {
            ["ConnectionStrings:redis"] = connectionString,
        });
        builder.Logging.ClearProviders();
        if (logs is not null)
        {
            builder.Logging.AddProvider(logs).SetMinimumLevel(LogLevel.Debug);
        }
        if (secrets is not null)
        {
            builder.Services.AddSingleton(secrets);
        }
        builder.AddMuttRedisClient();
        var host = builder.Build();
        await host.StartAsync();
        return new RedisClientHost(host);
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
    }
}
