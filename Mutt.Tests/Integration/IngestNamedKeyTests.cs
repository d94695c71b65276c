using System.Net;
using Mutt.Core.Auth;
using Mutt.Core.Redis;
using Mutt.Tests.Infrastructure;
using Npgsql;
using StackExchange.Redis;

namespace Mutt.Tests.Integration;

/// <summary>
/// Issue 17 at the running Ingestor: named ingest keys from api_keys beside the legacy INGEST_API_KEY,
/// the request counter labelled with the key's name, revocation effective within seconds, and 429
/// after repeated failed key checks.
/// </summary>
[Collection(InfrastructureCollection.Name)]
[Trait("Category", "Integration")]
public sealed class IngestNamedKeyTests(InfrastructureFixture infra)
{
    private const string Event = """{"timestamp":"2025-03-15T11:00:00Z","message":"Interface down","hostname":"router-1"}""";

    internal static async Task<string> InsertKeyAsync(string db, string name, string role)
    {
        var secret = ApiKeySecret.Generate();
        await using var ds = NpgsqlDataSource.Create(db);
        await using var cmd = ds.CreateCommand("INSERT INTO api_keys (name, key_prefix, key_hash, role, created_by) VALUES ($1, $2, $3, $4, 'test')");
        cmd.Parameters.Add(new() { Value = name });
        cmd.Parameters.Add(new() { Value = secret.Prefix });
        cmd.Parameters.Add(new() { Value = secret.Hash });
        cmd.Parameters.Add(new() { Value = role });
        await cmd.ExecuteNonQueryAsync();
        return secret.Secret;
    }

    private static async Task<HttpStatusCode> PostAsync(IngestorTestHost host, string? key)
    {
        using var response = await host.Http.SendAsync(host.Post("/api/v2/ingest", Event, apiKey: key));
        return response.StatusCode;
    }

    [Fact]
    public async Task Named_ingest_keys_are_accepted_counted_by_name_and_refused_within_seconds_of_revocation()
    {
        var db = await infra.CreateDatabaseAsync();
        var solarwinds = await InsertKeyAsync(db, "solarwinds-dc1", MuttRoles.Ingest);
        var viewer = await InsertKeyAsync(db, "grafana-reader", MuttRoles.Viewer);
        // A long refresh interval: revocation must arrive by the Dashboard's publish, not by polling.
        await using var host = await IngestorTestHost.StartAsync(infra, new Dictionary<string, string?>
        {
            ["ConnectionStrings__muttdb"] = db,
            ["API_KEY_REFRESH_SECONDS"] = "120",
        });

        await Eventually.WaitForAsync(async () => await PostAsync(host, solarwinds) == HttpStatusCode.Accepted, TimeSpan.FromSeconds(15), "the named key to be loaded");
        Assert.Equal(HttpStatusCode.Accepted, await PostAsync(host, IngestorTestHost.ApiKey));
        Assert.Equal(HttpStatusCode.Unauthorized, await PostAsync(host, viewer));

        var metrics = await host.Http.GetStringAsync("/metrics");
        Assert.Matches("mutt_ingest_requests_total\\{key=\"solarwinds-dc1\",reason=\"ok\",status=\"success\"\\} [1-9]", metrics);
        Assert.Contains("mutt_ingest_requests_total{key=\"legacy:INGEST_API_KEY\",reason=\"ok\",status=\"success\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("mutt_ingest_requests_total{key=\"none\",reason=\"auth\",status=\"fail\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("mutt_auth_failures_total{reason=\"invalid\",surface=\"ingest\"} 1", metrics, StringComparison.Ordinal);

        await using (var ds = NpgsqlDataSource.Create(db))
        {
            await ds.CreateCommand("UPDATE api_keys SET revoked_at = now(), revoked_by = 'test' WHERE name = 'solarwinds-dc1'").ExecuteNonQueryAsync();
        }
        await infra.Multiplexer.GetSubscriber().PublishAsync(RedisChannel.Literal(MuttKeys.AuthUpdatesChannel), "api_keys");
        await Eventually.WaitForAsync(async () => await PostAsync(host, solarwinds) == HttpStatusCode.Unauthorized, TimeSpan.FromSeconds(5), "the revoked key to be refused");
        Assert.Equal(HttpStatusCode.Accepted, await PostAsync(host, IngestorTestHost.ApiKey));
        Assert.DoesNotContain(host.Output, line => line.Contains(solarwinds, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Ten_failed_key_checks_from_an_address_make_its_next_requests_429_with_retry_after()
    {
        await using var host = await IngestorTestHost.StartAsync(infra, new Dictionary<string, string?> { ["AUTH_FAILURE_WINDOW_SECONDS"] = "30" });
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, await PostAsync(host, "guess-" + i));
        }
        using var limited = await host.Http.SendAsync(host.Post("/api/v2/ingest", Event));
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.InRange(int.Parse(limited.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture), 1, 30);
        Assert.Equal(0, await host.QueueLengthAsync());
        var metrics = await host.Http.GetStringAsync("/metrics");
        Assert.Contains("mutt_auth_failures_total{reason=\"invalid\",surface=\"ingest\"} 10", metrics, StringComparison.Ordinal);
        Assert.Contains("mutt_auth_failures_total{reason=\"rate_limited\",surface=\"ingest\"} 1", metrics, StringComparison.Ordinal);
        Assert.DoesNotContain(host.Output, line => line.Contains("guess-", StringComparison.Ordinal));
    }
}
