using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Mutt.Alerter.Processing;
using Mutt.Core.DeadLetters;
using Mutt.Core.Events;
using Mutt.Core.Redis;
using Mutt.Dashboard.DeadLetters;
using Mutt.Dashboard.Metrics;
using Mutt.Ingestor.Ingest;
using Mutt.Remediation.Services;
using Mutt.Tests.Infrastructure;
using StackExchange.Redis;

namespace Mutt.Tests.Integration;

/// <summary>
/// One set of queue names, set once, honoured by every service: each service's container is built the way
/// its Program.cs builds it (AddServiceDefaults, AddMuttDefaults, AddApplicationServices) from the same
/// configuration, which renames every queue, DLQ and prefix, and each then acts on the renamed keys in a
/// real Redis: the Ingestor pushes there, the Alerter takes from there, the Forwarder and Alerter sample
/// there, the Dashboard counts and lists there, and Remediation replays from and to there.
/// </summary>
[Collection(InfrastructureCollection.Name)]
[Trait("Category", "Integration")]
public sealed class QueueNamesOverrideTests(InfrastructureFixture infra)
{
    private readonly string _root = "it-" + Guid.NewGuid().ToString("N")[..8];

    private Dictionary<string, string?> Settings() => new()
    {
        ["ConnectionStrings:redis"] = infra.RedisConnectionString,
        // Registered, never opened: nothing below touches PostgreSQL.
        ["ConnectionStrings:muttdb"] = "Host=127.0.0.1;Port=1;Database=unused;Username=unused",
        ["WEBUI_API_KEY"] = "unused",
        ["MOOG_WEBHOOK_URL"] = "http://127.0.0.1:1/api/v1/events",
        ["POD_NAME"] = "pod-1",
        ["LOG_LEVEL"] = "Warning",
        ["INGEST_QUEUE_NAME"] = $"{_root}:ingest",
        ["ALERT_QUEUE_NAME"] = $"{_root}:alert",
        ["ALERTER_PROCESSING_LIST_PREFIX"] = $"{_root}:processing:alerter",
        ["ALERTER_HEARTBEAT_PREFIX"] = $"{_root}:heartbeat:alerter",
        ["ALERTER_DLQ_NAME"] = $"{_root}:dlq:alerter",
        ["MOOG_PROCESSING_LIST_PREFIX"] = $"{_root}:processing:moog",
        ["MOOG_HEARTBEAT_PREFIX"] = $"{_root}:heartbeat:moog",
        ["MOOG_DLQ_NAME"] = $"{_root}:dlq:moog",
    };

    private IDatabase Db => infra.Multiplexer.GetDatabase();

    private WebApplication Build(string applicationName, Action<WebApplicationBuilder> addApplicationServices)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ApplicationName = applicationName, EnvironmentName = "Production" });
        builder.Configuration.AddInMemoryCollection(Settings());
        builder.AddServiceDefaults();
        builder.AddMuttDefaults();
        addApplicationServices(builder);
        return builder.Build();
    }

    [Fact]
    public async Task An_override_set_once_is_honoured_by_every_service()
    {
        // The last assertion says nothing reached spec 004's default keys: start from none (a test before
        // this one in the collection, e.g. AlerterRecoveryTests, leaves alerts in mutt:alert_queue).
        await infra.FlushRedisAsync();
        await using var ingestor = Build("Mutt.Ingestor", b => Mutt.Ingestor.Extensions.Extensions.AddApplicationServices(b));
        await using var alerter = Build("Mutt.Alerter", b => Mutt.Alerter.Extensions.Extensions.AddApplicationServices(b));
        await using var forwarder = Build("Mutt.Forwarder", b => Mutt.Forwarder.Extensions.Extensions.AddApplicationServices(b));
        await using var remediation = Build("Mutt.Remediation", b => Mutt.Remediation.Extensions.Extensions.AddApplicationServices(b));
        await using var dashboard = Build("Mutt.Dashboard", b => Mutt.Dashboard.Extensions.AddApplicationServices(b));

        // Every container resolves the same names.
        var expected = JsonSerializer.Serialize(ingestor.Services.GetRequiredService<QueueNames>());
        foreach (var app in new[] { alerter, forwarder, remediation, dashboard })
        {
            Assert.Equal(expected, JsonSerializer.Serialize(app.Services.GetRequiredService<QueueNames>()));
        }

        // Ingestor: events go onto the renamed ingest queue.
        var writer = ingestor.Services.GetRequiredService<IngestWriter>();
        Assert.Equal($"{_root}:ingest", writer.Queue);

        // Alerter: its lease takes from the renamed ingest queue into a renamed processing list, and its backpressure samples the renamed alert queue.
        var lease = alerter.Services.GetRequiredService<ReliableQueue>();
        Assert.Equal($"{_root}:ingest", lease.SourceQueue);
        Assert.Equal($"{_root}:processing:alerter:pod-1", lease.ProcessingKey);
        Assert.Equal($"{_root}:heartbeat:alerter:pod-1", lease.HeartbeatKey);
        await Db.ListLeftPushAsync($"{_root}:alert", ["a1", "a2"]);
        await alerter.Services.GetRequiredService<AlertQueueBackpressure>().CheckAsync();
        Assert.Equal(2, alerter.Services.GetRequiredService<AlerterMetrics>().AlertQueueDepth);

        // Dashboard: queue depths, DLQ pages and their replay targets are the renamed keys.
        await Db.ListLeftPushAsync($"{_root}:ingest", ["e1", "e2", "e3"]);
        await Db.ListLeftPushAsync($"{_root}:processing:moog:pod-9", "in-flight");
        await Db.SetAddAsync($"{_root}:processing:moog", "pod-9"); // the registry, as the pod's take keeps it
        var letter = new DeadLetter { Payload = $$"""{"message":"{{_root}}","retry_count":4}""", Service = "alerter", Reason = "max_retries", FailedAt = DateTimeOffset.UtcNow.AddHours(-1) };
        await Db.ListLeftPushAsync($"{_root}:dlq:alerter", JsonSerializer.Serialize(letter, MuttJsonContext.Default.DeadLetter));
        var snapshot = await dashboard.Services.GetRequiredService<IFlowMetrics>().SnapshotAsync();
        Assert.Equal(3, snapshot.QueueDepths["ingest"]);
        Assert.Equal(2, snapshot.QueueDepths["alert"]);
        Assert.Equal(1, snapshot.DlqDepths["alerter"]);
        Assert.Equal(1, snapshot.Processing[$"{_root}:processing:moog:pod-9"]);
        var queues = await dashboard.Services.GetRequiredService<DeadLetterOperations>().InfoAsync();
        Assert.Contains(new DeadLetterQueueInfo("alerter", $"{_root}:dlq:alerter", $"{_root}:ingest", 1), queues);
        Assert.Contains(new DeadLetterQueueInfo("moog", $"{_root}:dlq:moog", $"{_root}:alert", 0), queues);

        // Remediation: scans the renamed Alerter DLQ and replays to the renamed ingest queue.
        var scan = await remediation.Services.GetRequiredService<DlqScanner>().ScanAsync();
        Assert.Equal(1, scan.Replayed);
        Assert.Equal(0, await Db.ListLengthAsync($"{_root}:dlq:alerter"));
        Assert.Equal(4, await Db.ListLengthAsync($"{_root}:ingest"));
        Assert.Equal($$"""{"message":"{{_root}}","retry_count":0}""", (string?)await Db.ListLeftPopAsync($"{_root}:ingest"));
        // Nothing went to spec 004's default keys.
        Assert.False(await Db.KeyExistsAsync([MuttKeys.IngestQueue, MuttKeys.AlertQueue, MuttKeys.AlerterDlq, MuttKeys.MoogDlq]) > 0);
    }
}
