using Mutt.Core.Configuration;
using Mutt.Core.Events;
using Mutt.Forwarder.Moogsoft;
using Mutt.Core.Redis;
using Mutt.Tests.Infrastructure;

namespace Mutt.Tests.Integration;

[Collection(InfrastructureCollection.Name)]
[Trait("Category", "Integration")]
public sealed class ForwarderDeliveryTests(InfrastructureFixture infra)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Alerts_are_delivered_in_batches_with_auth_and_the_LAM_payload()
    {
        await using var host = await ForwarderTestHost.WithSinkAsync(infra, sinkApiKey: "s3cret");
        await new DynamicConfig(infra.Multiplexer).SetAsync(DynamicConfigKeys.MoogBatchSize, "100");
        await ForwarderTestHost.PushAlertsAsync(infra.Multiplexer, 250, "batch");

        await host.StartForwarderAsync("fwd-batch", new Dictionary<string, string?> { ["MOOG_API_KEY"] = "s3cret" });

        await Eventually.WaitForAsync(() => host.StatAsync("events"), n => n >= 250, Deadline, "250 events at the sink");
        var stats = await host.StatsAsync();
        Assert.Equal(250, stats.GetProperty("distinct_signatures").GetInt64());
        Assert.Equal(3, stats.GetProperty("by_status").GetProperty("200").GetInt64());
        Assert.False(stats.GetProperty("by_status").TryGetProperty("401", out _), "the API key must arrive");

        var alert = ForwarderTestHost.Alert(5, "batch");
        var events = await host.EventsAsync(MoogEventBuilder.Signature(alert));
        var e = Assert.Single(events);
        Assert.Equal("batch-5", e.GetProperty("external_id").GetString());
        Assert.Equal(MoogEventBuilder.Severity(5, alert.Handling), e.GetProperty("severity").GetInt32());
        Assert.Equal("MUTT", e.GetProperty("manager").GetString());
        Assert.Equal("netops", e.GetProperty("custom_info").GetProperty("team").GetString());
        Assert.Equal(0, await infra.Multiplexer.GetDatabase().ListLengthAsync(MuttKeys.AlertQueue));

        var metrics = await host.Http.GetStringAsync(host.ForwarderUrls["fwd-batch"] + "/metrics");
        foreach (var name in new[] { "mutt_moog_requests_total", "mutt_moog_request_latency_seconds", "mutt_moog_alerts_processed_total", "mutt_moog_circuit_state", "mutt_moog_dlq_depth", "mutt_moog_processing_list_depth" })
        {
            Assert.Contains(name, metrics);
        }
        var health = await host.Http.GetStringAsync(host.ForwarderUrls["fwd-batch"] + "/health");
        Assert.Contains("\"moogsoft\":\"connected\"", health);
    }

    [Fact]
    public async Task A_client_error_dead_letters_the_batch_at_once_with_status_and_excerpt()
    {
        await using var host = await ForwarderTestHost.WithSinkAsync(infra);
        await host.SetModeAsync("""{"status":422}""");
        await ForwarderTestHost.PushAlertsAsync(infra.Multiplexer, 3, "reject");
        await host.StartForwarderAsync("fwd-reject");

        var dead = await Eventually.WaitForAsync(() => Task.FromResult(ForwarderTestHost.ReadDeadLetters(infra.Multiplexer, MuttKeys.MoogDlq)),
            d => d.Length >= 3, Deadline, "3 dead letters");
        Assert.Equal(3, dead.Length);
        Assert.All(dead, d =>
        {
            Assert.Equal("http_4xx", d.Reason);
            Assert.Equal(422, d.HttpStatus);
            Assert.Contains("422", d.BodyExcerpt);
            Assert.Equal(MuttKeys.AlertQueue, d.SourceQueue);
        });
        Assert.Equal(["reject-0", "reject-1", "reject-2"],
            dead.Select(d => System.Text.Json.JsonSerializer.Deserialize(d.Payload, MuttJsonContext.Default.AlertMessage)!.CorrelationId).Order());
        Assert.Equal(1, await host.StatAsync("requests"));
    }

    [Fact]
    public async Task Server_errors_are_retried_with_backoff_then_dead_lettered()
    {
        await using var host = await ForwarderTestHost.WithSinkAsync(infra);
        await host.SetModeAsync("""{"status":500}""");
        await ForwarderTestHost.PushAlertsAsync(infra.Multiplexer, 2, "retry");
        await host.StartForwarderAsync("fwd-retry", new Dictionary<string, string?> { ["MOOG_MAX_RETRIES"] = "2", ["MOOG_CIRCUIT_FAILURE_THRESHOLD"] = "100" });

        var dead = await Eventually.WaitForAsync(() => Task.FromResult(ForwarderTestHost.ReadDeadLetters(infra.Multiplexer, MuttKeys.MoogDlq)),
            d => d.Length >= 2, Deadline, "2 dead letters");
        Assert.All(dead, d => { Assert.Equal("max_retries", d.Reason); Assert.Equal(500, d.HttpStatus); });
        Assert.Equal(3, await host.StatAsync("requests"));
    }

    [Fact]
    public async Task A_429_is_honoured_and_delivery_resumes()
    {
        await using var host = await ForwarderTestHost.WithSinkAsync(infra);
        await host.SetModeAsync("""{"status":429,"retry_after":1}""");
        await ForwarderTestHost.PushAlertsAsync(infra.Multiplexer, 5, "throttle");
        await host.StartForwarderAsync("fwd-429", new Dictionary<string, string?> { ["MOOG_MAX_RETRIES"] = "0" });

        await Eventually.WaitForAsync(() => host.StatAsync("requests"), n => n >= 1, Deadline, "a throttled request");
        await host.SetModeAsync("""{"status":200}""");
        await Eventually.WaitForAsync(() => host.StatAsync("events"), n => n >= 5, Deadline, "5 events after the 429");
        Assert.Empty(ForwarderTestHost.ReadDeadLetters(infra.Multiplexer, MuttKeys.MoogDlq));
        var requests = await host.RequestsAsync();
        var throttled = requests.First(r => r.GetProperty("status").GetInt32() == 429).GetProperty("received_at").GetDateTimeOffset();
        var delivered = requests.First(r => r.GetProperty("status").GetInt32() == 200).GetProperty("received_at").GetDateTimeOffset();
        Assert.True(delivered - throttled >= TimeSpan.FromMilliseconds(900), $"Retry-After must be waited: {delivered - throttled}");
    }

    [Fact]
    public async Task A_forwarder_killed_mid_request_has_its_alerts_delivered_by_another()
    {
        await using var host = await ForwarderTestHost.WithSinkAsync(infra);
        await host.SetModeAsync("""{"delay_ms":30000}""");
        await ForwarderTestHost.PushAlertsAsync(infra.Multiplexer, 150, "crash");
        var victim = await host.StartForwarderAsync("fwd-victim");
        var processing = MuttKeys.Processing(MuttKeys.MoogProcessingPrefix, "fwd-victim");
        await Eventually.WaitForAsync(async () => await infra.Multiplexer.GetDatabase().ListLengthAsync(processing) > 0, Deadline, "a batch in flight");

        await victim.KillAsync();
        await host.SetModeAsync("""{"status":200}""");
        await host.StartForwarderAsync("fwd-survivor");

        await Eventually.WaitForAsync(() => host.StatAsync("distinct_signatures"), n => n >= 150, Deadline, "150 distinct signatures");
        Assert.Equal(150, await host.StatAsync("distinct_signatures"));
        Assert.Equal(0, await infra.Multiplexer.GetDatabase().ListLengthAsync(processing));
        Assert.Empty(ForwarderTestHost.ReadDeadLetters(infra.Multiplexer, MuttKeys.MoogDlq));
    }

    [Fact]
    public async Task A_stopped_forwarder_hands_a_retrying_batch_back_to_the_queue()
    {
        await using var host = await ForwarderTestHost.WithSinkAsync(infra);
        await host.SetModeAsync("""{"status":503}""");
        await ForwarderTestHost.PushAlertsAsync(infra.Multiplexer, 4, "stop");
        var forwarder = await host.StartForwarderAsync("fwd-stop", new Dictionary<string, string?>
        {
            ["MOOG_MAX_RETRIES"] = "1000", ["MOOG_CIRCUIT_FAILURE_THRESHOLD"] = "100000", ["MOOG_RETRY_BASE_DELAY"] = "0.5", ["MOOG_RETRY_MAX_DELAY"] = "0.5",
        });
        await Eventually.WaitForAsync(() => host.StatAsync("requests"), n => n >= 2, Deadline, "retries under way");

        await forwarder.StopAsync();
        Assert.Equal(4, await infra.Multiplexer.GetDatabase().ListLengthAsync(MuttKeys.AlertQueue));
        Assert.Equal(0, await infra.Multiplexer.GetDatabase().ListLengthAsync(MuttKeys.Processing(MuttKeys.MoogProcessingPrefix, "fwd-stop")));
        Assert.Empty(ForwarderTestHost.ReadDeadLetters(infra.Multiplexer, MuttKeys.MoogDlq));
    }

    [Fact]
    public async Task Several_requests_are_in_flight_against_a_slow_sink_and_a_failure_mid_flight_loses_nothing()
    {
        await using var host = await ForwarderTestHost.WithSinkAsync(infra);
        await host.SetModeAsync("""{"delay_ms":500}""");
        await new DynamicConfig(infra.Multiplexer).SetAsync(DynamicConfigKeys.MoogBatchSize, "10");
        await ForwarderTestHost.PushAlertsAsync(infra.Multiplexer, 300, "inflight");
        await host.StartForwarderAsync("fwd-inflight", new Dictionary<string, string?>
        {
            ["MOOG_MAX_IN_FLIGHT"] = "4", ["MOOG_CIRCUIT_FAILURE_THRESHOLD"] = "3", ["MOOG_CIRCUIT_OPEN_SECONDS"] = "1",
        });
        var db = infra.Multiplexer.GetDatabase();
        var processing = MuttKeys.Processing(MuttKeys.MoogProcessingPrefix, "fwd-inflight");

        // A slow sink sees several of one Forwarder's requests at once, never more than MOOG_MAX_IN_FLIGHT.
        await Eventually.WaitForAsync(() => host.StatAsync("events"), n => n >= 40, Deadline, "40 events at the slow sink");
        Assert.InRange(await host.StatAsync("peak_in_flight"), 2, 4);

        // Requests fail while several are in flight: retries, then the circuit opens and the batches
        // in flight are refused (handed back with every batch behind them); after the open period
        // one probe goes alone, and delivery resumes.
        await host.SetModeAsync("""{"status":500,"delay_ms":200}""");
        await Eventually.WaitForAsync(async () => (string?)await db.StringGetAsync(MuttKeys.MoogCircuitState), s => s == "OPEN", Deadline, "the circuit open");
        await host.SetModeAsync("""{"delay_ms":200}""");

        await Eventually.WaitForAsync(() => host.StatAsync("distinct_signatures"), n => n >= 300, Deadline, "300 distinct signatures");
        Assert.Equal(300, await host.StatAsync("distinct_signatures"));
        await Eventually.WaitForAsync(async () => await db.ListLengthAsync(processing), n => n == 0, Deadline, "the processing list acked");
        Assert.Equal(0, await db.ListLengthAsync(MuttKeys.AlertQueue));
        Assert.Empty(ForwarderTestHost.ReadDeadLetters(infra.Multiplexer, MuttKeys.MoogDlq));
        Assert.True((await host.StatsAsync()).GetProperty("by_status").GetProperty("500").GetInt64() >= 3, "requests failed mid-flight");
    }
}
