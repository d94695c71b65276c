using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Mutt.Alerter;
using Mutt.Alerter.Processing;
using Mutt.Alerter.Rules;
using Mutt.Testing;
using Mutt.Core.Rules;
using Npgsql;

using Mutt.Tests.Infrastructure;

namespace Mutt.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class AlerterRuleCacheTests
{
    [Fact]
    public async Task Failed_reload_keeps_the_previous_cache_and_is_counted()
    {
        // Nothing listens on this port: every load fails at connect.
        await using var unreachable = NpgsqlDataSource.Create($"Host=127.0.0.1;Port={NativeProcess.FreeTcpPort()};Username=x;Password=y;Timeout=3");
        using var meters = new TestMeterFactory();
        var metrics = new AlerterMetrics(meters, new Mutt.Core.Redis.FlowCounters());
        long failures = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (ReferenceEquals(instrument, metrics.CacheReloadFailures))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref failures, value));
        listener.Start();

        var cache = new RuleCache(new RuleStore(unreachable), Options.Create(new AlerterOptions()), metrics, NullLogger<RuleCache>.Instance);
        var before = cache.Current;
        Assert.False(await cache.ReloadAsync("test", CancellationToken.None));
        Assert.Same(before, cache.Current);
        Assert.False(cache.Loaded);
        Assert.Equal(1, Interlocked.Read(ref failures));
    }
}
