using Mutt.Forwarder.Moogsoft;
using Mutt.Core.Configuration;
using Mutt.Core.Redis;
using Mutt.Tests.Infrastructure;

namespace Mutt.Tests.Integration;

[Collection(InfrastructureCollection.Name)]
[Trait("Category", "Integration")]
public sealed class RateLimitTests(InfrastructureFixture infra)
{
    [Fact]
    public async Task Sliding_window_script_admits_exactly_the_limit_per_window()
    {
        await ForwarderTestHost.FlushAsync(infra);
        var a = new RateLimiter(infra.Multiplexer, MuttKeys.MoogRateLimit, "a");
        var b = new RateLimiter(infra.Multiplexer, MuttKeys.MoogRateLimit, "b");
        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => (i % 2 == 0 ? a : b).TryAcquireAsync(7, TimeSpan.FromSeconds(30))));
        Assert.Equal(7, results.Count(r => r == TimeSpan.Zero));
        Assert.All(results.Where(r => r != TimeSpan.Zero), r => Assert.InRange(r.TotalSeconds, 0.001, 30.01));
        Assert.Equal(7, await infra.Multiplexer.GetDatabase().SortedSetLengthAsync(MuttKeys.MoogRateLimit));
    }

    [Fact]
    public async Task The_rate_limit_holds_across_three_forwarder_processes()
    {
        await using var host = await ForwarderTestHost.WithSinkAsync(infra);
        await new DynamicConfig(infra.Multiplexer).SetAsync(DynamicConfigKeys.MoogBatchSize, "2");
        const int limit = 10;
        var env = new Dictionary<string, string?> { ["MOOG_RATE_LIMIT"] = limit.ToString(), ["MOOG_RATE_PERIOD"] = "1" };
        for (var i = 0; i < 3; i++)
        {
            await host.StartForwarderAsync($"fwd-rate-{i}", env);
        }
        // Warm-up, so a replica's first (JIT-compiled, connection-opening) request cannot arrive
        // late and bunch with the next window's requests at the sink.
        await ForwarderTestHost.PushAlertsAsync(infra.Multiplexer, 40, "warmup");
        await Eventually.WaitForAsync(() => host.StatAsync("events"), n => n >= 40, TimeSpan.FromSeconds(60), "warm-up events");
        await host.Http.DeleteAsync(host.SinkUrl + "/sink/events");
        await ForwarderTestHost.PushAlertsAsync(infra.Multiplexer, 120, "rate");

        await Eventually.WaitForAsync(() => host.StatAsync("events"), n => n >= 120, TimeSpan.FromSeconds(60), "120 events");
        var times = (await host.RequestsAsync()).Select(r => r.GetProperty("received_at").GetDateTimeOffset()).Order().ToArray();
        Assert.True(times.Length >= 60);
        // The limiter counts in Redis time and the sink stamps on arrival, so single requests can
        // arrive a few hundred ms late on a loaded box. The sustained rate is exact: n requests
        // need at least (n - limit) / limit seconds. A per-replica (unshared) limit would give 30/s.
        var span = (times[^1] - times[0]).TotalSeconds;
        var sustained = (times.Length - limit) / span;
        Assert.True(sustained <= limit * 1.05, $"sustained {sustained:F1} requests/s over {span:F2} s exceeds {limit}/s");
        // Bursts: any 1 s at the sink holds at most the limit plus arrival jitter, far below 3 × limit.
        var busiest = times.Select((t, i) => times.Skip(i).TakeWhile(u => u - t < TimeSpan.FromSeconds(1)).Count()).Max();
        Assert.True(busiest <= limit * 3 / 2, $"{busiest} requests reached the sink within 1 s (limit {limit}/s): {string.Join(", ", times.Select(t => t.ToString("ss.fff")))}");
    }
}
