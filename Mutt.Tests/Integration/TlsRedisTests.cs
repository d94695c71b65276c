using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Mutt.Core.Clients;
using Mutt.Tests.Infrastructure;
using StackExchange.Redis;

namespace Mutt.Tests.Integration;

/// <summary>redis-server started with TLS only, certificates generated in the test.</summary>
[Trait("Category", "Integration")]
public sealed class TlsRedisTests : IAsyncLifetime
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "mutt-tls-redis-" + Guid.NewGuid().ToString("N")[..8]);
    private TlsCertificates _certs = null!;
    private TlsRedisProcess _redis = null!;
    private TlsRedisProcess _mtlsRedis = null!;

    public async Task InitializeAsync()
    {
        _certs = new TlsCertificates(Path.Combine(_folder, "certs"));
        string[] tlsArgs = ["--tls-cert-file", _certs.ServerCertPath, "--tls-key-file", _certs.ServerKeyPath, "--tls-ca-cert-file", _certs.CaCertPath];
        _redis = await TlsRedisProcess.StartAsync(Path.Combine(_folder, "redis"), tls: true, [.. tlsArgs, "--tls-auth-clients", "no"]);
        _mtlsRedis = await TlsRedisProcess.StartAsync(Path.Combine(_folder, "redis-mtls"), tls: true, [.. tlsArgs, "--tls-auth-clients", "yes"]);
    }

    public async Task DisposeAsync()
    {
        await _redis.DisposeAsync();
        await _mtlsRedis.DisposeAsync();
        _certs.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    private static async Task<string?> RoundTripAsync(IConnectionMultiplexer multiplexer)
    {
        var db = multiplexer.GetDatabase();
        var key = "tls-test:" + Guid.NewGuid().ToString("N");
        await db.StringSetAsync(key, "over-tls");
        return await db.StringGetAsync(key);
    }

    [Fact]
    public async Task Client_with_the_right_ca_connects_over_tls()
    {
        await using var client = await RedisClientHost.StartAsync(_redis.ConnectionString, new Dictionary<string, string?> { ["REDIS_TLS_ENABLED"] = "true", ["REDIS_CA_CERT_PATH"] = _certs.CaCertPath });
        Assert.Equal("over-tls", await RoundTripAsync(client.Multiplexer));
    }

    [Fact]
    public async Task Client_with_a_wrong_ca_is_refused_and_says_so()
    {
        var logs = new CapturingLoggerProvider();
        await using var client = await RedisClientHost.StartAsync(_redis.ConnectionString, new Dictionary<string, string?> { ["REDIS_TLS_ENABLED"] = "true", ["REDIS_CA_CERT_PATH"] = _certs.WrongCaCertPath }, logs: logs);
        var multiplexer = client.Multiplexer;
        Assert.False(multiplexer.IsConnected);
        await Assert.ThrowsAnyAsync<Exception>(() => multiplexer.GetDatabase().PingAsync());
        Assert.Contains(logs.Lines, l => l.Contains("Redis TLS: server certificate REFUSED", StringComparison.Ordinal) && l.Contains("does not chain to the configured CA", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Plain_client_cannot_talk_to_a_tls_only_server()
    {
        await using var client = await RedisClientHost.StartAsync(_redis.ConnectionString, new Dictionary<string, string?> { ["REDIS_TLS_ENABLED"] = "false" });
        Assert.False(client.Multiplexer.IsConnected);
        await Assert.ThrowsAnyAsync<Exception>(() => client.Multiplexer.GetDatabase().PingAsync());
    }

    [Fact]
    public async Task Mutual_tls_needs_the_client_certificate()
    {
        await using var withCert = await RedisClientHost.StartAsync(_mtlsRedis.ConnectionString, new Dictionary<string, string?> { ["REDIS_TLS_ENABLED"] = "true", ["REDIS_CA_CERT_PATH"] = _certs.CaCertPath, ["REDIS_CLIENT_CERT_PATH"] = _certs.ClientCertPath, ["REDIS_CLIENT_KEY_PATH"] = _certs.ClientKeyPath });
        Assert.Equal("over-tls", await RoundTripAsync(withCert.Multiplexer));

        await using var withoutCert = await RedisClientHost.StartAsync(_mtlsRedis.ConnectionString, new Dictionary<string, string?> { ["REDIS_TLS_ENABLED"] = "true", ["REDIS_CA_CERT_PATH"] = _certs.CaCertPath });
        Assert.False(withoutCert.Multiplexer.IsConnected);
        await Assert.ThrowsAnyAsync<Exception>(() => withoutCert.Multiplexer.GetDatabase().PingAsync());
    }

    [Fact]
    public void Tls_defaults_off_for_loopback_and_on_elsewhere_unless_configured()
    {
        var empty = new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build();
        Assert.False(RedisTlsSettings.FromConfiguration(empty, "127.0.0.1:6379").Enabled);
        Assert.True(RedisTlsSettings.FromConfiguration(empty, "redis.mutt.svc:6379").Enabled);
        var off = new Microsoft.Extensions.Configuration.ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["REDIS_TLS_ENABLED"] = "false", ["DB_TLS_ENABLED"] = "false" }).Build();
        Assert.False(RedisTlsSettings.FromConfiguration(off, "redis.mutt.svc:6379").Enabled);
        Assert.False(PostgresTlsSettings.FromConfiguration(off, "Host=db.mutt.svc;Username=u").Enabled);
        var on = new Microsoft.Extensions.Configuration.ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["REDIS_TLS_ENABLED"] = "true", ["DB_TLS_ENABLED"] = "true" }).Build();
        Assert.True(RedisTlsSettings.FromConfiguration(on, "127.0.0.1:6379").Enabled);
        Assert.True(PostgresTlsSettings.FromConfiguration(on, "Host=127.0.0.1;Username=u").Enabled);
    }
}
