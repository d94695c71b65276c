using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Mutt.Tests.Infrastructure;

namespace Mutt.Tests.Integration;

[Collection(InfrastructureCollection.Name)]
[Trait("Category", "Integration")]
public sealed class SinkApiTests(InfrastructureFixture infra)
{
    private const string Event = """{"signature":"sig-1","source":"h1","severity":3,"description":"d","agent_time":1}""";

    private static StringContent Json(string s) => new(s, Encoding.UTF8, "application/json");

    [Fact]
    public async Task Sink_validates_records_filters_counts_and_switches_modes()
    {
        await using var host = new ForwarderTestHost(infra.RedisConnectionString);
        var url = await host.StartSinkAsync(apiKey: "k3y");
        var auth = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("mutt:k3y")));

        var noAuth = await host.Http.PostAsync(url + "/api/v1/events", Json($$"""{"events":[{{Event}}]}"""));
        Assert.Equal(HttpStatusCode.Unauthorized, noAuth.StatusCode);

        async Task<HttpResponseMessage> Post(string body)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, url + "/api/v1/events") { Content = Json(body) };
            request.Headers.Authorization = auth;
            return await host.Http.SendAsync(request);
        }

        Assert.Equal(HttpStatusCode.OK, (await Post($$"""{"events":[{{Event}},{{Event.Replace("sig-1", "sig-2")}}]}""")).StatusCode);
        var bad = await Post("""{"events":[{"signature":"x","source":"h","severity":9,"description":"d"}]}""");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("severity", await bad.Content.ReadAsStringAsync());

        var filtered = await host.EventsAsync("sig-2");
        Assert.Single(filtered);
        Assert.True(filtered[0].TryGetProperty("received_at", out _));

        await host.SetModeAsync("""{"status":429,"retry_after":2}""");
        var throttled = await Post($$"""{"events":[{{Event}}]}""");
        Assert.Equal((HttpStatusCode)429, throttled.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(2), throttled.Headers.RetryAfter?.Delta);

        await host.SetModeAsync("""{"status":503}""");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await Post($$"""{"events":[{{Event}}]}""")).StatusCode);

        await host.SetModeAsync("""{"drop":true}""");
        await Assert.ThrowsAsync<HttpRequestException>(() => Post($$"""{"events":[{{Event}}]}"""));

        await host.SetModeAsync("""{"status":200}""");
        Assert.Equal(HttpStatusCode.OK, (await Post($$"""{"events":[{{Event}}]}""")).StatusCode);

        var stats = await host.StatsAsync();
        Assert.Equal(3, stats.GetProperty("events").GetInt64());
        Assert.Equal(2, stats.GetProperty("distinct_signatures").GetInt64());
        Assert.Equal(2, stats.GetProperty("by_status").GetProperty("200").GetInt64());
        Assert.Equal(1, stats.GetProperty("by_status").GetProperty("400").GetInt64());
        Assert.Equal(1, stats.GetProperty("by_status").GetProperty("429").GetInt64());

        await host.Http.DeleteAsync(url + "/sink/events");
        Assert.Equal(0, await host.StatAsync("events"));
    }
}
