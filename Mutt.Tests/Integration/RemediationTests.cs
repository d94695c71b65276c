using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Mutt.Core.DeadLetters;
using Mutt.Core.Events;
using Mutt.Core.Redis;
using Mutt.Remediation.Services;
using Mutt.Tests.Infrastructure;
using StackExchange.Redis;

namespace Mutt.Tests.Integration;

[Collection(InfrastructureCollection.Name)]
[Trait("Category", "Integration")]
public sealed class RemediationTests(InfrastructureFixture infra) : IDisposable
{
    private readonly TestMeterFactory _meters = new();

    public void Dispose() => _meters.Dispose();

    private IDatabase Db => infra.Multiplexer.GetDatabase();

    private DlqScanner Scanner(int maxRetries = 2) => new(new DeadLetterOperations(infra.Multiplexer, new QueueNames()), new RemediationMetrics(_meters),
        Options.Create(new RemediationOptions { MaxRetries = maxRetries, BackoffBaseSeconds = 0 }), NullLogger<DlqScanner>.Instance);

    private static string Payload(string id) => JsonSerializer.Serialize(ForwarderTestHost.Alert(1, id), MuttJsonContext.Default.AlertMessage);

    private async Task<DeadLetter> DeadLetterAsync(string payload, string reason = "max_retries", int? status = 503, string dlq = MuttKeys.MoogDlq)
    {
        var letter = new DeadLetter { Payload = payload, SourceQueue = MuttKeys.AlertQueue, Service = "forwarder", Reason = reason, HttpStatus = status, FailedAt = DateTimeOffset.UtcNow.AddMinutes(-5) };
        await Db.ListLeftPushAsync(dlq, JsonSerializer.Serialize(letter, MuttJsonContext.Default.DeadLetter));
        return letter;
    }

    [Fact]
    public async Task Remediation_replays_a_dlq_item_and_gives_up_into_poison_permanent()
    {
        await ForwarderTestHost.FlushAsync(infra);
        var payload = Payload("remediate");
        var scanner = Scanner(maxRetries: 2);

        for (var replay = 1; replay <= 2; replay++)
        {
            await DeadLetterAsync(payload);
            Assert.Equal(1, (await scanner.ScanAsync()).Replayed);
            Assert.Equal(0, await Db.ListLengthAsync(MuttKeys.MoogDlq));
            // The payload is back on the alert queue unchanged; the Forwarder fails it again.
            Assert.Equal(payload, (string?)await Db.ListRightPopAsync(MuttKeys.AlertQueue));
        }

        await DeadLetterAsync(payload);
        var last = await scanner.ScanAsync();
        Assert.Equal(0, last.Replayed);
        Assert.Equal(1, last.Poisoned);
        Assert.Equal(0, await Db.ListLengthAsync(MuttKeys.MoogDlq));
        Assert.Equal(0, await Db.ListLengthAsync(MuttKeys.AlertQueue));
        var poison = ForwarderTestHost.ReadDeadLetters(infra.Multiplexer, MuttKeys.PoisonPermanent);
        var entry = Assert.Single(poison);
        Assert.Equal(payload, entry.Payload);
        Assert.Equal(2, entry.History.Count(h => h.Action == "replay"));
        Assert.Contains(entry.History, h => h.Action == "poison");
    }

    [Fact]
    public async Task Moog_items_are_not_replayed_while_the_circuit_is_open_and_permanent_causes_go_to_poison()
    {
        await ForwarderTestHost.FlushAsync(infra);
        await Db.StringSetAsync(MuttKeys.MoogCircuitState, "OPEN");
        await DeadLetterAsync(Payload("held"));
        await DeadLetterAsync(Payload("rejected"), reason: "http_4xx", status: 400);
        var alerterPayload = """{"message":"m","hostname":"h","retry_count":3}""";
        var alerterLetter = new DeadLetter { Payload = alerterPayload, SourceQueue = MuttKeys.IngestQueue, Reason = "max_retries", FailedAt = DateTimeOffset.UtcNow.AddMinutes(-5) };
        await Db.ListLeftPushAsync(MuttKeys.AlerterDlq, JsonSerializer.Serialize(alerterLetter, MuttJsonContext.Default.DeadLetter));

        var result = await Scanner().ScanAsync();

        Assert.Equal(1, result.HeldByCircuit);
        Assert.Equal(1, result.Poisoned);
        Assert.Equal(1, result.Replayed);
        Assert.Equal(1, await Db.ListLengthAsync(MuttKeys.MoogDlq));
        Assert.Equal(0, await Db.ListLengthAsync(MuttKeys.AlertQueue));
        Assert.Equal("""{"message":"m","hostname":"h","retry_count":0}""", (string?)await Db.ListRightPopAsync(MuttKeys.IngestQueue));
        Assert.Equal(400, Assert.Single(ForwarderTestHost.ReadDeadLetters(infra.Multiplexer, MuttKeys.PoisonPermanent)).HttpStatus);

        await Db.StringSetAsync(MuttKeys.MoogCircuitState, "CLOSED");
        Assert.Equal(1, (await Scanner().ScanAsync()).Replayed);
        Assert.Equal(1, await Db.ListLengthAsync(MuttKeys.AlertQueue));
    }

    [Fact]
    public async Task The_remediation_service_replays_a_moog_dead_letter_that_a_forwarder_then_delivers()
    {
        await using var host = await ForwarderTestHost.WithSinkAsync(infra);
        await host.StartForwarderAsync("fwd-remediated");
        var payload = Payload("healed");
        await DeadLetterAsync(payload);

        await host.StartRemediationAsync(await infra.CreateDatabaseAsync(), new Dictionary<string, string?>
        {
            ["REMEDIATION_SCAN_INTERVAL"] = "1", ["REMEDIATION_BACKOFF_BASE"] = "0", ["MAINTENANCE_DRY_RUN"] = "true",
        });

        await Eventually.WaitForAsync(() => host.StatAsync("events"), n => n >= 1, TimeSpan.FromSeconds(60), "the replayed alert at the sink");
        Assert.Equal("healed-1", Assert.Single(await host.EventsAsync()).GetProperty("external_id").GetString());
        Assert.Equal(0, await Db.ListLengthAsync(MuttKeys.MoogDlq));
    }

    [Fact]
    public async Task Manual_operations_list_replay_and_delete_by_id()
    {
        await ForwarderTestHost.FlushAsync(infra);
        var ops = new DeadLetterOperations(infra.Multiplexer, new QueueNames());
        var first = await DeadLetterAsync(Payload("manual-1"));
        var second = await DeadLetterAsync(Payload("manual-2"));
        await DeadLetterAsync(Payload("manual-3"));

        var listed = await ops.ListAsync(MuttKeys.MoogDlq);
        Assert.Equal([first.Id, second.Id], listed.Take(2).Select(e => e.Letter.Id));
        Assert.Equal(ReplayOutcome.Replayed, await ops.ReplayAsync(MuttKeys.MoogDlq, first.Id));
        Assert.Equal(ReplayOutcome.NotFound, await ops.ReplayAsync(MuttKeys.MoogDlq, first.Id));
        Assert.True(await ops.DeleteAsync(MuttKeys.MoogDlq, second.Id));
        Assert.Equal(1, await ops.ReplayAllAsync(MuttKeys.MoogDlq));
        Assert.Equal(0, await Db.ListLengthAsync(MuttKeys.MoogDlq));
        Assert.Equal(2, await Db.ListLengthAsync(MuttKeys.AlertQueue));
    }
}
