using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Mutt.Testing;
using Mutt.Tests.Infrastructure;
using StackExchange.Redis;

namespace Mutt.Tests.Integration;

/// <summary>
/// A real Ingestor child process (dotnet Mutt.Ingestor.dll) on free loopback ports for HTTP,
/// syslog (UDP+TCP) and SNMP, pushing to its own queue name in the fixture's Redis.
/// </summary>
public sealed class IngestorTestHost : IAsyncDisposable
{
    public const string ApiKey = "test-ingest-key";

    private ServiceProcess _process;
    private readonly Dictionary<string, string?> _environment;
    private readonly IReadOnlyDictionary<string, string?>? _settings;
    private readonly string _readyPath;

    private IngestorTestHost(ServiceProcess process, Dictionary<string, string?> environment, IReadOnlyDictionary<string, string?>? settings, string readyPath,
        string baseUrl, string queue, int syslogPort, int snmpPort, int relpPort, IDatabase redis)
    {
        _process = process;
        _environment = environment;
        _settings = settings;
        _readyPath = readyPath;
        RelpPort = relpPort;
        BaseUrl = baseUrl;
        QueueName = queue;
        SyslogPort = syslogPort;
        SnmpPort = snmpPort;
        Redis = redis;
        Http = new HttpClient { BaseAddress = new Uri(baseUrl), Timeout = TimeSpan.FromSeconds(30) };
    }

    public string BaseUrl { get; }
    public string QueueName { get; }
    public int SyslogPort { get; }
    public int SnmpPort { get; }
    public int RelpPort { get; }
    /// <summary>SYSLOG_TLS_PORT when the test set it (TLS syslog needs TLS_CERT_PATH too), else 0.</summary>
    public int SyslogTlsPort => int.TryParse(_settings?.GetValueOrDefault("SYSLOG_TLS_PORT"), out var port) ? port : 0;
    public int Pid => _process.Pid;
    public IDatabase Redis { get; }
    public HttpClient Http { get; }
    public IReadOnlyCollection<string> Output => _process.Output;

    /// <summary>
    /// An Ingestor started against a Redis of the test's own that is then stopped (the collection's Redis is
    /// untouched); <see cref="StoppedRedis.StartAgainAsync"/> brings it back on the same port and folder.
    /// </summary>
    public static async Task<(IngestorTestHost Host, StoppedRedis Redis)> StartWithRedisDownAsync(InfrastructureFixture infrastructure, string name)
    {
        var dir = Path.Combine(infrastructure.Root, name + "-" + Guid.NewGuid().ToString("N")[..8]);
        var redis = await RedisServer.StartAsync(dir, appendOnly: false);
        try
        {
            var host = await StartAsync(infrastructure, new Dictionary<string, string?> { ["ConnectionStrings__redis"] = redis.ConnectionString });
            return (host, new StoppedRedis(dir, redis.Port));
        }
        finally
        {
            await redis.DisposeAsync();
        }
    }

    /// <summary>A stopped Redis of a test's own, to be started again where it was; disposing it stops the one started again.</summary>
    public sealed class StoppedRedis(string dir, int port) : IAsyncDisposable
    {
        private RedisServer? _started;

        public async Task<RedisServer> StartAgainAsync() => _started = await RedisServer.StartAsync(dir, port: port, appendOnly: false);

        public async ValueTask DisposeAsync()
        {
            if (_started is not null)
            {
                await _started.DisposeAsync();
            }
        }
    }

    public static async Task<IngestorTestHost> StartAsync(InfrastructureFixture infrastructure, IReadOnlyDictionary<string, string?>? settings = null,
        string readyPath = "/health")
    {
        var httpPort = NativeProcess.FreeTcpPort();
        var syslogPort = FreePortForTcpAndUdp(httpPort);
        var snmpPort = NativeProcess.FreeUdpPort();
        var relpPort = NativeProcess.FreeTcpPort();
        var queue = "mutt:test:ingest:" + Guid.NewGuid().ToString("N")[..8];
        var baseUrl = $"http://127.0.0.1:{httpPort}";
        var environment = new Dictionary<string, string?>
        {
            ["ConnectionStrings__redis"] = infrastructure.RedisConnectionString,
            ["INGEST_API_KEY"] = ApiKey,
            ["INGEST_QUEUE_NAME"] = queue,
            ["SYSLOG_BIND"] = "127.0.0.1",
            ["SYSLOG_PORT"] = syslogPort.ToString(),
            ["SNMP_BIND"] = "127.0.0.1",
            ["SNMP_PORT"] = snmpPort.ToString(),
            ["RELP_PORT"] = relpPort.ToString(),
            ["LOG_JSON_ENABLED"] = "false",
        };
        var process = await ChildService.StartAsync("ingestor", "Mutt.Ingestor", baseUrl, environment, settings, readyPath);
        return new IngestorTestHost(process, environment, settings, readyPath, baseUrl, queue, syslogPort, snmpPort, relpPort, infrastructure.Multiplexer.GetDatabase());
    }

    /// <summary>kill -9 of the Ingestor process: nothing of it runs its shutdown (no drain, no serverclose).</summary>
    public Task KillAsync() => _process.KillAsync();

    /// <summary>Starts the Ingestor again with the same ports, queue and settings (after <see cref="KillAsync"/>).</summary>
    public async Task RestartAsync()
    {
        await _process.DisposeAsync();
        _process = await ChildService.StartAsync("ingestor", "Mutt.Ingestor", BaseUrl, _environment, _settings, _readyPath);
    }

    private static int FreePortForTcpAndUdp(int avoid)
    {
        for (var i = 0; i < 50; i++)
        {
            var port = NativeProcess.FreeTcpPort();
            if (port != avoid && NativeProcess.IsUdpPortFree(port))
            {
                return port;
            }
        }
        throw new InvalidOperationException("No port free for both TCP and UDP.");
    }

    public HttpRequestMessage Post(string path, string body, string contentType = "application/json", string? apiKey = ApiKey)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        if (apiKey is not null)
        {
            request.Headers.Add("X-API-KEY", apiKey);
        }
        return request;
    }

    public Task<long> QueueLengthAsync() => Redis.ListLengthAsync(QueueName);

    /// <summary>Queue items oldest first (LPUSH puts the newest at the head; consumers RPOP the oldest).</summary>
    public async Task<List<JsonElement>> QueueItemsAsync()
    {
        var values = await Redis.ListRangeAsync(QueueName);
        return values.Reverse().Select(v => JsonDocument.Parse((string)v!).RootElement.Clone()).ToList();
    }

    /// <summary>Waits until at least <paramref name="count"/> items are queued and returns them.</summary>
    public async Task<List<JsonElement>> WaitForItemsAsync(int count, string what)
    {
        await Eventually.WaitForAsync(async () => await QueueLengthAsync() >= count, TimeSpan.FromSeconds(45), what);
        return await QueueItemsAsync();
    }

    public async Task<string> MetricsAsync() => await Http.GetStringAsync("/metrics");

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _process.DisposeAsync();
        await Redis.KeyDeleteAsync(QueueName);
    }
}
