using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Mutt.Testing;
using Mutt.Core.Secrets;
using Mutt.Tests.Infrastructure;

namespace Mutt.Tests.Integration;

/// <summary>Redis password rotation from REDIS_PASS_CURRENT to REDIS_PASS_NEXT under a running writer.</summary>
[Trait("Category", "Integration")]
public sealed class RotationRedisTests : IAsyncLifetime
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "mutt-rot-redis-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly string _current = "current-" + Guid.NewGuid().ToString("N");
    private readonly string _next = "next-" + Guid.NewGuid().ToString("N");
    private TlsRedisProcess _redis = null!;

    public async Task InitializeAsync() =>
        _redis = await TlsRedisProcess.StartAsync(_folder, tls: false, ["--requirepass", _current]);

    public async Task DisposeAsync()
    {
        await _redis.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }

    private Task<string> CliAsync(string password, params string[] args) =>
        NativeProcess.RunAsync("redis-cli", ["-p", _redis.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--no-auth-warning", "-a", password, .. args]);

    [Fact]
    public async Task Starts_with_next_when_current_is_refused()
    {
        var secrets = new FixedSecretStore((SecretNames.RedisPassCurrent, "stale-" + Guid.NewGuid().ToString("N")), (SecretNames.RedisPassNext, _current));
        var logs = new CapturingLoggerProvider();
        await using var client = await RedisClientHost.StartAsync(_redis.ConnectionString, secrets: secrets, logs: logs);
        try
        {
            await Eventually.WaitForAsync(async () =>
            {
                try
                {
                    return await client.Multiplexer.GetDatabase().PingAsync() > TimeSpan.Zero;
                }
                catch (StackExchange.Redis.RedisException)
                {
                    return false;
                }
            }, TimeSpan.FromSeconds(30), "PING with the next password");
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException(ex.Message + "; client log:\n" + string.Join("\n", logs.Lines.Take(30)), ex);
        }
        Assert.Equal("next", client.Rules.ActivePassword);
        Assert.Contains(logs.Lines, l => l.StartsWith("Warning", StringComparison.Ordinal) && l.Contains("authenticates with the next password", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Rotation_while_writing_reconnects_with_next_and_loses_no_write()
    {
        var secrets = new FixedSecretStore((SecretNames.RedisPassCurrent, _current), (SecretNames.RedisPassNext, _next));
        var logs = new CapturingLoggerProvider();
        await using var client = await RedisClientHost.StartAsync(_redis.ConnectionString, secrets: secrets, logs: logs);
        var db = client.Multiplexer.GetDatabase();
        client.Multiplexer.ConnectionRestored += (_, e) => logs.Lines.Enqueue($"restored {e.ConnectionType} {e.FailureType}");
        Assert.Equal("current", client.Rules.ActivePassword);
        const string set = "rotation:written";

        using var stop = new CancellationTokenSource();
        var written = 0;
        var failures = 0;
        var writer = Task.Run(async () =>
        {
            var id = 0;
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await db.SetAddAsync(set, id); // idempotent: a retried id counts once
                    id++;
                    Volatile.Write(ref written, id);
                }
                catch (Exception)
                {
                    Interlocked.Increment(ref failures); // same id again on the next pass
                    await Task.Delay(20);
                }
            }
        });

        await Eventually.WaitForAsync(() => Task.FromResult(Volatile.Read(ref written) > 200), TimeSpan.FromSeconds(30), "writes before rotation");
        await CliAsync(_current, "CONFIG", "SET", "requirepass", _next);
        await CliAsync(_next, "CLIENT", "KILL", "TYPE", "normal"); // every client must reconnect now
        var atRotation = Volatile.Read(ref written);
        try
        {
            await Eventually.WaitForAsync(() => Task.FromResult(Volatile.Read(ref written) > atRotation + 200), TimeSpan.FromSeconds(60), "writes after rotation");
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException(ex.Message + "; client log:\n" + string.Join("\n", logs.Lines), ex);
        }
        stop.Cancel();
        await writer;

        Assert.Equal("next", client.Rules.ActivePassword);
        Assert.True(client.Rules.PasswordSwitches >= 1);
        var stored = long.Parse((await CliAsync(_next, "SCARD", set)).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(Volatile.Read(ref written), stored);
        var scanner = new SecretScanner(new Dictionary<string, string> { ["current"] = _current, ["next"] = _next });
        Assert.Empty(scanner.Scan(logs.Lines, "log"));
    }
}

/// <summary>AddMuttRedisClient wiring: the multiplexer consumers resolve authenticates with the secret store's password.</summary>
[Trait("Category", "Integration")]
public sealed class RotationRedisWiringTests
{
    [Fact]
    public async Task AddMuttRedisClient_uses_REDIS_PASS_CURRENT_from_configuration_secrets()
    {
        var folder = Path.Combine(Path.GetTempPath(), "mutt-rot-wiring-" + Guid.NewGuid().ToString("N")[..8]);
        var password = "wired-" + Guid.NewGuid().ToString("N");
        await using (var redis = await TlsRedisProcess.StartAsync(folder, tls: false, ["--requirepass", password]))
        {
            var builder = Host.CreateApplicationBuilder();
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["ConnectionStrings:redis"] = redis.ConnectionString,
                ["REDIS_PASS_CURRENT"] = password,
            });
            builder.AddMuttRedisClient();
            using var host = builder.Build();
            var multiplexer = host.Services.GetRequiredService<StackExchange.Redis.IConnectionMultiplexer>();
            Assert.True(await multiplexer.GetDatabase().PingAsync() > TimeSpan.Zero);
            Assert.Equal("current", host.Services.GetRequiredService<Mutt.Core.Clients.RedisConnectionRules>().ActivePassword);
        }
        Directory.Delete(folder, recursive: true);
    }
}
