using System.Net;
using System.Text.Json;
using Mutt.Testing;
using Mutt.Tests.Infrastructure;
using StackExchange.Redis;

namespace Mutt.Tests.Integration;

/// <summary>Fail-closed API key handling, and INGEST_WAIT_REPLICAS (202 only once a replica has the events).</summary>
[Collection(InfrastructureCollection.Name)]
[Trait("Category", "Integration")]
public sealed class IngestAuthAndDurabilityTests(InfrastructureFixture infrastructure)
{
    private const string Good = """{"timestamp":"2025-03-15T11:00:00Z","message":"Interface down","hostname":"router-1"}""";

    [Fact]
    public async Task Without_a_configured_key_every_request_is_401_and_a_warning_is_logged()
    {
        await using var host = await IngestorTestHost.StartAsync(infrastructure, new Dictionary<string, string?> { ["INGEST_API_KEY"] = "" });
        foreach (var key in new[] { null, "", "anything", IngestorTestHost.ApiKey })
        {
            using var response = await host.Http.SendAsync(host.Post("/api/v2/ingest", Good, apiKey: key));
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }
        Assert.Equal(0, await host.QueueLengthAsync());
        Assert.Single(host.Output, line => line.Contains("INGEST_API_KEY is not set", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.OK, (await host.Http.GetAsync("/health")).StatusCode);
    }

    [Fact]
    public async Task Explicit_opt_out_accepts_requests_without_a_key_and_warns()
    {
        await using var host = await IngestorTestHost.StartAsync(infrastructure,
            new Dictionary<string, string?> { ["INGEST_API_KEY"] = "", ["INGEST_AUTH_DISABLED"] = "true" });
        using var response = await host.Http.SendAsync(host.Post("/api/v2/ingest", Good, apiKey: null));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal(1, await host.QueueLengthAsync());
        Assert.Single(host.Output, line => line.Contains("INGEST_AUTH_DISABLED=true", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Configured_key_is_still_required_when_auth_is_not_disabled()
    {
        await using var host = await IngestorTestHost.StartAsync(infrastructure);
        using var refused = await host.Http.SendAsync(host.Post("/api/v2/ingest", Good, apiKey: null));
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        using var accepted = await host.Http.SendAsync(host.Post("/api/v2/ingest", Good));
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        Assert.DoesNotContain(host.Output, line => line.Contains("INGEST_API_KEY is not set", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Wait_replicas_answers_202_only_when_the_replica_already_holds_the_events()
    {
        var dir = Path.Combine(infrastructure.Root, "wait-" + Guid.NewGuid().ToString("N")[..8]);
        await using var master = await RedisServer.StartAsync(Path.Combine(dir, "master"), appendOnly: false);
        await using var replica = await RedisServer.StartAsync(Path.Combine(dir, "replica"), appendOnly: false,
            extraArgs: ["--replicaof", "127.0.0.1", master.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        using var replicaMux = await ConnectionMultiplexer.ConnectAsync(replica.ConnectionString + ",allowAdmin=true");
        using var masterMux = await ConnectionMultiplexer.ConnectAsync(master.ConnectionString + ",allowAdmin=true");
        await Eventually.WaitForAsync(async () => (await masterMux.GetDatabase().ExecuteAsync("INFO", "replication")).ToString()!
            .Contains("connected_slaves:1", StringComparison.Ordinal) && (await replicaMux.GetDatabase().ExecuteAsync("INFO", "replication")).ToString()!
            .Contains("master_link_status:up", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "replica in sync");

        await using var host = await IngestorTestHost.StartAsync(infrastructure, new Dictionary<string, string?>
        {
            ["ConnectionStrings__redis"] = master.ConnectionString,
            ["INGEST_WAIT_REPLICAS"] = "1",
            ["INGEST_WAIT_TIMEOUT_MS"] = "5000",
        });
        var onReplica = replicaMux.GetDatabase();
        for (var i = 1; i <= 20; i++)
        {
            using var response = await host.Http.SendAsync(host.Post("/api/v2/ingest", Good.Replace("Interface down", $"event {i}")));
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            // No polling: WAIT 1 returned before the 202, so the replica must have it now.
            Assert.Equal(i, await onReplica.ListLengthAsync(host.QueueName));
        }
    }

    [Fact]
    public async Task Wait_replicas_without_a_replica_is_503_with_retry_after_counted_as_replica_timeout()
    {
        await using var host = await IngestorTestHost.StartAsync(infrastructure, new Dictionary<string, string?>
        {
            ["INGEST_WAIT_REPLICAS"] = "1",
            ["INGEST_WAIT_TIMEOUT_MS"] = "200",
            ["INGEST_RETRY_AFTER_SECONDS"] = "7",
        });
        using var response = await host.Http.SendAsync(host.Post("/api/v2/ingest", Good));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(7), response.Headers.RetryAfter?.Delta);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("Replica timeout", problem.RootElement.GetProperty("title").GetString());
        Assert.Contains("reason=\"replica_timeout\"", await host.MetricsAsync());
        // /health is not queued behind the WAIT (the write path has its own connection).
        Assert.Equal(HttpStatusCode.OK, (await host.Http.GetAsync("/health")).StatusCode);
    }
}
