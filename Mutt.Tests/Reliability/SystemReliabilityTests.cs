using System.Collections.Concurrent;
using System.Diagnostics;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Mutt.Testing;
using Mutt.Core.Redis;
using Mutt.Tests.EndToEnd;
using Mutt.Tests.Infrastructure;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace Mutt.Tests.Reliability;

/// <summary>
/// One whole system (the real AppHost through Aspire.Hosting.Testing, free ports) for the reliability
/// scenarios. Every scenario leaves it recovered (what it killed is started again through Aspire's
/// resource command), so they share it. Settings that
/// differ from the defaults are CI-sized versions of production knobs, listed in RELIABILITY.md.
/// </summary>
public sealed class ReliabilitySystemFixture : IAsyncLifetime
{
    public MuttAppHost App { get; private set; } = null!;
    public ConnectionMultiplexer Redis { get; private set; } = null!;

    /// <summary>The Ingestor's limits in this system; the bad-input generator is aligned to them.</summary>
    public const int IngestMaxBodyBytes = 1024 * 1024;
    public const int SyslogMaxMessageBytes = 8192;

    public async Task InitializeAsync()
    {
        App = await MuttAppHost.StartAsync(builder =>
        {
            void Set(string resource, string name, string value) =>
                builder.CreateResourceBuilder(builder.Resources.OfType<ProjectResource>().Single(r => r.Name == resource)).WithEnvironment(name, value);
            // The Ingestor's documented limits, set explicitly (defaults 10 MiB / 64 KiB): the bad-input run stays small.
            Set("ingestor", "INGEST_MAX_BODY_BYTES", IngestMaxBodyBytes.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Set("ingestor", "SYSLOG_MAX_MESSAGE_BYTES", SyslogMaxMessageBytes.ToString(System.Globalization.CultureInfo.InvariantCulture));
            // A dead pod is noticed in seconds rather than 30 s.
            Set("alerter", "ALERTER_HEARTBEAT_INTERVAL", "1");
            Set("alerter", "ALERTER_JANITOR_TIMEOUT", "5");
            Set("forwarder", "MOOG_HEARTBEAT_INTERVAL", "1");
            Set("forwarder", "MOOG_JANITOR_TIMEOUT", "5");
            // Outage sizing: retries outlast the CI outage (30 × ≤2 s), the breaker re-probes after 3 s.
            Set("forwarder", "MOOG_MAX_RETRIES", "30");
            Set("forwarder", "MOOG_RETRY_MAX_DELAY", "2");
            Set("forwarder", "MOOG_CIRCUIT_OPEN_SECONDS", "3");
            // Whatever reaches a DLQ anyway is replayed within seconds.
            Set("remediation", "REMEDIATION_SCAN_INTERVAL", "2");
            Set("remediation", "REMEDIATION_BACKOFF_BASE", "2");
        });
        Redis = await ConnectionMultiplexer.ConnectAsync(App.RedisConnectionString + ",abortConnect=false,connectRetry=5");
        // Backpressure through a Moogsoft outage: with the default shed mode "dlq", events shed while the alert
        // queue is over its threshold are replayed REMEDIATION_MAX_RETRIES times and then parked in
        // mutt:poison:permanent for an operator when the outage outlasts the replays (observed: 26 of 6,000).
        // "defer" makes the Alerter wait instead, so the backlog stays in the ingest queue and nothing needs a manual step.
        await new Mutt.Core.Configuration.DynamicConfig(Redis).SetAsync(Mutt.Core.Configuration.DynamicConfigKeys.AlerterShedMode, "defer");
    }

    public async Task DisposeAsync()
    {
        Redis?.Dispose();
        if (App is not null)
        {
            await App.DisposeAsync();
        }
    }
}

/// <summary>
/// Issue 9 item 1, CI versions: real traffic through the running system while one part fails,
/// then exact counts — accepted correlation ids (202 answers) == distinct audit rows for them,
/// alerts (every event matches rule 1, Page_and_ticket) == distinct signatures at the sink — and
/// every queue, processing list and DLQ drained, with no manual step.
/// </summary>
[Collection(AppHostCollection.Name)]
[Trait("Category", "System")]
public sealed partial class SystemReliabilityTests(ReliabilitySystemFixture fixture, ITestOutputHelper output) : IClassFixture<ReliabilitySystemFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(120);
    private const int BeforeFault = 500;
    private const int AfterFault = 500;
    private const int Maximum = 6000;

    private MuttAppHost App => fixture.App;
    private IDatabase Redis => fixture.Redis.GetDatabase();

    [Fact]
    public Task Alerter_replica_killed_mid_stream_loses_no_event_and_no_alert() =>
        ScenarioAsync("rel-alerter-kill", async () =>
        {
            var replica = App.Replicas["alerter"][0];
            await KillMidBatchAsync(replica, MuttKeys.Processing(MuttKeys.AlerterProcessingPrefix, replica.PodName));
        });

    [Fact]
    public Task Forwarder_killed_mid_stream_delivers_every_alert() =>
        ScenarioAsync("rel-forwarder-kill", async () =>
        {
            var replica = App.Replicas["forwarder"][0];
            await KillMidBatchAsync(replica, MuttKeys.Processing(MuttKeys.MoogProcessingPrefix, replica.PodName));
        });

    [Fact]
    public Task Redis_restarted_mid_stream_with_aof_loses_no_accepted_event() =>
        ScenarioAsync("rel-redis-restart", async () =>
        {
            var redis = App.Server("redis");
            var before = redis.Pid;
            // Graceful: SIGTERM makes redis-server fsync the AOF and exit; started again through Aspire on the same port and data.
            Assert.True(NativeProcess.Signal(before, NativeProcess.SIGTERM));
            await Eventually.WaitForAsync(() => Task.FromResult(!redis.IsUp), Deadline, "redis seen down by Aspire");
            await App.StartAgainAsync(redis);
            Assert.NotEqual(before, redis.Pid);
        });

    [Fact]
    public Task Postgres_stopped_and_started_mid_stream_loses_no_event() =>
        ScenarioAsync("rel-postgres-restart", async () =>
        {
            var postgres = App.Server("postgres");
            // SIGINT = PostgreSQL's fast shutdown (pg_ctl stop -m fast): clients are cut off, the postmaster exits.
            Assert.True(NativeProcess.Signal(postgres.Pid, NativeProcess.SIGINT));
            await Eventually.WaitForAsync(() => Task.FromResult(!postgres.IsUp), Deadline, "postgres seen down by Aspire");
            await App.StartAgainAsync(postgres);
        });

    [Fact]
    public Task Sink_503_then_429_then_200_delivers_every_alert_without_manual_steps() =>
        ScenarioAsync("rel-sink-outage", async () =>
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            var stats = await SystemTraffic.SinkStatsAsync(http, App.SinkUrl);
            var s503 = (long?)stats["by_status"]?["503"] ?? 0;
            var s429 = (long?)stats["by_status"]?["429"] ?? 0;
            var clock = Stopwatch.StartNew();
            await SystemTraffic.SetSinkModeAsync(http, App.SinkUrl, "{\"status\":503}");
            try
            {
                // The outage lasts until the Forwarder has retried into it and the shared breaker opened (≥ 8 refusals).
                var sawOpen = false;
                await Eventually.WaitForAsync(async () =>
                {
                    sawOpen |= (string?)await Redis.StringGetAsync(MuttKeys.MoogCircuitState) == "OPEN";
                    var now = await SystemTraffic.SinkStatsAsync(http, App.SinkUrl);
                    return sawOpen && ((long?)now["by_status"]?["503"] ?? 0) - s503 >= 8;
                }, Deadline, "503s answered and the circuit open");
                output.WriteLine($"503 phase: {clock.Elapsed.TotalSeconds:0.0} s");
                await SystemTraffic.SetSinkModeAsync(http, App.SinkUrl, "{\"status\":429,\"retry_after\":1}");
                await Eventually.WaitForAsync(async () =>
                {
                    var now = await SystemTraffic.SinkStatsAsync(http, App.SinkUrl);
                    return ((long?)now["by_status"]?["429"] ?? 0) - s429 >= 3;
                }, Deadline, "429s answered");
                output.WriteLine($"503+429 phases: {clock.Elapsed.TotalSeconds:0.0} s");
            }
            finally
            {
                await SystemTraffic.SetSinkModeAsync(http, App.SinkUrl, "{\"status\":200}");
            }
        });

    /// <summary>kill -9 while the replica holds a batch in its processing list (or, if none is seen in 20 s, anyway), then wait for the AppHost's restart.</summary>
    private async Task KillMidBatchAsync(MuttAppHost.ReplicaInfo replica, string processingList)
    {
        var before = replica.Pid;
        var restarts = replica.Restarts;
        // A batch is in a processing list for milliseconds: poll back to back (each LLEN is a round trip), not with backoff.
        var inFlight = 0L;
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(20) && (inFlight = await Redis.ListLengthAsync(processingList)) == 0)
        {
        }
        if (inFlight == 0)
        {
            output.WriteLine($"{replica.PodName}: no batch seen in flight within 20 s; killing anyway");
        }
        Assert.True(NativeProcess.Signal(before, NativeProcess.SIGKILL));
        output.WriteLine($"{replica.PodName} (pid {before}) killed with {inFlight} items in {processingList}");
        await Eventually.WaitForAsync(() => Task.FromResult(!replica.IsUp), Deadline, $"{replica.PodName} seen down by Aspire");
        // Aspire does not restart a crashed process by itself (Kubernetes or systemd does in production):
        // the janitor of the surviving replicas recovers its batch meanwhile, then it is started as an operator would.
        await App.StartAgainAsync(replica);
        Assert.Equal(restarts + 1, replica.Restarts);
    }

    /// <summary>Traffic before, during and after <paramref name="fault"/>; then every accepted event audited once and alerted once.</summary>
    private async Task ScenarioAsync(string prefix, Func<Task> fault)
    {
        prefix = $"{prefix}-{Guid.NewGuid().ToString("N")[..6]}";
        var clock = Stopwatch.StartNew();
        var stream = new SystemTraffic.Stream(App, prefix, "CRITICAL reliability");
        using var stop = new CancellationTokenSource();
        var traffic = Task.Run(() => stream.RunAsync(stop.Token, 0, Maximum, Deadline * 2));
        try
        {
            await WaitForAcceptedAsync(stream, traffic, BeforeFault);
            await fault();
            var afterFault = stream.AcceptedCount;
            output.WriteLine($"fault done at {clock.Elapsed.TotalSeconds:0.0} s, {afterFault} accepted");
            await WaitForAcceptedAsync(stream, traffic, Math.Min(Maximum, afterFault + AfterFault));
        }
        finally
        {
            await stop.CancelAsync();
            await traffic;
        }
        var accepted = stream.Accepted.ToHashSet(StringComparer.Ordinal);
        output.WriteLine($"traffic stopped at {clock.Elapsed.TotalSeconds:0.0} s: {accepted.Count} accepted, {stream.Retries} resent batches");

        HashSet<string>? audited = null;
        await Eventually.WaitForAsync(async () =>
        {
            audited = await SystemTraffic.AuditedIdsAsync(App.MuttDbConnectionString, prefix);
            return audited is not null && audited.Count >= accepted.Count;
        }, Deadline, $"{accepted.Count} audit rows");
        Assert.True(audited!.SetEquals(accepted), $"audited {audited.Count} vs accepted {accepted.Count}; missing {string.Join(',', accepted.Except(audited).Take(5))}");

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        (int DistinctSignatures, HashSet<string> Ids, int Deliveries) sink = (0, [], 0);
        try
        {
            await Eventually.WaitForAsync(async () =>
            {
                sink = await SystemTraffic.SinkAlertsAsync(http, App.SinkUrl, prefix);
                return sink.Ids.Count >= accepted.Count;
            }, Deadline, $"{accepted.Count} alerts at the sink");
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"{ex.Message}\nsink has {sink.Ids.Count}; left over: {await LeftoversAsync(prefix)}; replicas: " +
                string.Join(", ", App.Replicas.Values.SelectMany(r => r).Select(r => $"{r.PodName} {r.State} up={r.IsUp}")), ex);
        }
        Assert.True(sink.Ids.SetEquals(accepted), $"sink has {sink.Ids.Count} ids vs {accepted.Count} accepted");
        Assert.Equal(accepted.Count, sink.DistinctSignatures);

        // Nothing left behind: queues, processing lists and DLQs drained (Remediation replays what a DLQ got).
        await Eventually.WaitForAsync(() => LeftoversAsync(prefix), left => left == "", Deadline, "queues, processing lists and DLQs empty, no event of the scenario in poison");
        await Eventually.WaitForAsync(async () =>
        {
            using var health = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            foreach (var (resource, endpoint) in new[] { ("ingestor", "http"), ("alerter", "health"), ("forwarder", "health"), ("remediation", "health"), ("dashboard", "http"), ("moog-sink", "http") })
            {
                if (!await SystemTraffic.IsHealthyAsync(health, new Uri(App.GetEndpoint(resource, endpoint), "/health")))
                {
                    return false;
                }
            }
            return App.Replicas.Values.SelectMany(r => r).All(r => r.IsUp);
        }, Deadline, "every replica healthy again");
        output.WriteLine($"{prefix}: {accepted.Count} accepted = {audited.Count} audited = {sink.DistinctSignatures} distinct signatures; " +
                         $"{sink.Deliveries - sink.DistinctSignatures} redelivered duplicates; {clock.Elapsed.TotalSeconds:0.0} s");
    }

    private async Task<string> LeftoversAsync(string prefix)
    {
        var keys = new List<string> { MuttKeys.IngestQueue, MuttKeys.AlertQueue, MuttKeys.AlerterDlq, MuttKeys.MoogDlq };
        foreach (var replica in App.Replicas["alerter"])
        {
            keys.Add(MuttKeys.Processing(MuttKeys.AlerterProcessingPrefix, replica.PodName));
        }
        foreach (var replica in App.Replicas["forwarder"])
        {
            keys.Add(MuttKeys.Processing(MuttKeys.MoogProcessingPrefix, replica.PodName));
        }
        try
        {
            var left = new List<string>();
            // mutt:poison:permanent is for an operator (the bad-input run legitimately parks NUL-byte events there):
            // no event of this scenario may be in it.
            var poisoned = (await Redis.ListRangeAsync(MuttKeys.PoisonPermanent)).Count(e => ((string?)e ?? "").Contains(prefix + "-", StringComparison.Ordinal));
            if (poisoned > 0)
            {
                left.Add($"{MuttKeys.PoisonPermanent} holds {poisoned} events of {prefix}");
            }
            foreach (var key in keys)
            {
                var length = await Redis.ListLengthAsync(key);
                if (length > 0)
                {
                    left.Add($"{key}={length}");
                }
            }
            return string.Join(' ', left);
        }
        catch (RedisException ex)
        {
            return ex.Message;
        }
    }

    private static async Task WaitForAcceptedAsync(SystemTraffic.Stream stream, Task traffic, int count)
    {
        await Eventually.WaitForAsync(() =>
        {
            if (traffic.IsFaulted)
            {
                traffic.GetAwaiter().GetResult();
            }
            return Task.FromResult(stream.AcceptedCount >= count || traffic.IsCompleted);
        }, Deadline, $"{count} events accepted");
    }
}
