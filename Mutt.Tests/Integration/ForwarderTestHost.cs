using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Mutt.Testing;
using Mutt.Core.Events;
using Mutt.Core.Redis;
using Mutt.Tests.Infrastructure;
using StackExchange.Redis;

namespace Mutt.Tests.Integration;

/// <summary>Starts the MoogSink and Forwarders as real child processes and talks to them over HTTP.</summary>
public sealed class ForwarderTestHost(string redisConnectionString) : IAsyncDisposable
{
    private readonly List<ServiceProcess> _processes = [];
    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(30) };
    public string SinkUrl { get; private set; } = "";
    public Dictionary<string, string> ForwarderUrls { get; } = [];

    /// <summary>Redis emptied and a sink started: where a Forwarder test begins.</summary>
    public static async Task<ForwarderTestHost> WithSinkAsync(InfrastructureFixture infra, string? sinkApiKey = null)
    {
        await FlushAsync(infra);
        var host = new ForwarderTestHost(infra.RedisConnectionString);
        try
        {
            await host.StartSinkAsync(sinkApiKey);
            return host;
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
    }

    public async Task<string> StartSinkAsync(string? apiKey = null)
    {
        SinkUrl = ChildService.FreeUrl();
        _processes.Add(await ChildService.StartAsync("moog-sink", "Mutt.MoogSink", SinkUrl, new Dictionary<string, string?>
        {
            ["LOG_LEVEL"] = "Warning",
            ["MOOG_API_KEY"] = apiKey,
        }));
        return SinkUrl;
    }

    public async Task<ServiceProcess> StartForwarderAsync(string pod, IReadOnlyDictionary<string, string?>? extra = null)
    {
        var url = ChildService.FreeUrl();
        ForwarderUrls[pod] = url;
        var forwarder = await ChildService.StartAsync(pod, "Mutt.Forwarder", url, new Dictionary<string, string?>
        {
            ["ConnectionStrings__redis"] = redisConnectionString,
            ["services__moog-sink__http__0"] = SinkUrl,
            ["POD_NAME"] = pod,
            ["LOG_LEVEL"] = "Warning",
            ["MOOG_HEARTBEAT_INTERVAL"] = "1",
            ["MOOG_JANITOR_TIMEOUT"] = "3",
            ["MOOG_RETRY_BASE_DELAY"] = "0.05",
            ["MOOG_RETRY_MAX_DELAY"] = "0.2",
            ["MOOG_RATE_LIMIT"] = "100000",
            ["MOOG_WEBHOOK_TIMEOUT"] = "5",
        }, extra);
        _processes.Add(forwarder);
        return forwarder;
    }

    public async Task<ServiceProcess> StartRemediationAsync(string databaseConnectionString, IReadOnlyDictionary<string, string?> extra)
    {
        var remediation = await ChildService.StartAsync("remediation", "Mutt.Remediation", ChildService.FreeUrl(), new Dictionary<string, string?>
        {
            ["ConnectionStrings__redis"] = redisConnectionString,
            ["ConnectionStrings__muttdb"] = databaseConnectionString,
            ["LOG_LEVEL"] = "Warning",
        }, extra);
        _processes.Add(remediation);
        return remediation;
    }

    public Task SetModeAsync(string json) =>
        Http.PostAsync(SinkUrl + "/sink/mode", new StringContent(json, System.Text.Encoding.UTF8, "application/json")).ContinueWith(t => t.Result.EnsureSuccessStatusCode());

    public async Task<JsonElement> StatsAsync() => await Http.GetFromJsonAsync<JsonElement>(SinkUrl + "/sink/stats");

    public async Task<long> StatAsync(string name) => (await StatsAsync()).GetProperty(name).GetInt64();

    public async Task<JsonElement[]> EventsAsync(string? signature = null) =>
        (await Http.GetFromJsonAsync<JsonElement[]>(SinkUrl + "/sink/events" + (signature is null ? "" : "?signature=" + Uri.EscapeDataString(signature))))!;

    public async Task<JsonElement[]> RequestsAsync() => (await Http.GetFromJsonAsync<JsonElement[]>(SinkUrl + "/sink/requests"))!;

    public static AlertMessage Alert(int i, string run) => new()
    {
        CorrelationId = $"{run}-{i}",
        Hostname = $"host-{i % 7}",
        Message = $"alert {i}",
        SyslogSeverity = i % 8,
        Team = "netops",
        Handling = "Ticket_only",
        RuleId = 1,
        EventTimestamp = DateTimeOffset.UtcNow,
    };

    public static async Task PushAlertsAsync(IConnectionMultiplexer redis, int count, string run, string queue = MuttKeys.AlertQueue)
    {
        var values = Enumerable.Range(0, count).Select(i => (RedisValue)JsonSerializer.Serialize(Alert(i, run), MuttJsonContext.Default.AlertMessage)).ToArray();
        foreach (var chunk in values.Chunk(1000))
        {
            await redis.GetDatabase().ListLeftPushAsync(queue, chunk);
        }
    }

    /// <summary>FLUSHALL needs an admin connection (the fixture's multiplexer is not one).</summary>
    public static async Task FlushAsync(InfrastructureFixture infra)
    {
        using var admin = await ConnectionMultiplexer.ConnectAsync(infra.RedisConnectionString + ",allowAdmin=true");
        await admin.GetServer(admin.GetEndPoints()[0]).FlushAllDatabasesAsync();
    }

    public static DeadLetter[] ReadDeadLetters(IConnectionMultiplexer redis, string key) =>
        [.. redis.GetDatabase().ListRange(key).Select(v => JsonSerializer.Deserialize((string)v!, MuttJsonContext.Default.DeadLetter)!)];

    public static string? JsonString(JsonNode? node, string name) => node?[name]?.GetValue<string>();

    public async ValueTask DisposeAsync()
    {
        foreach (var p in _processes)
        {
            if (!p.HasExited)
            {
                await p.DisposeAsync();
            }
        }
        Http.Dispose();
    }
}
