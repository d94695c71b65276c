using Mutt.Forwarder.Moogsoft;

namespace Mutt.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class BackoffScheduleTests
{
    [Fact]
    public void Nominal_schedule_doubles_from_base_and_caps_at_max()
    {
        var schedule = new BackoffSchedule(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));
        var seconds = Enumerable.Range(1, 8).Select(n => schedule.Nominal(n).TotalSeconds).ToArray();
        Assert.Equal([1, 2, 4, 8, 16, 32, 60, 60], seconds);
    }

    [Fact]
    public void Jittered_delay_stays_within_twenty_percent_and_never_above_max()
    {
        var schedule = new BackoffSchedule(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60), new Random(42));
        var samples = Enumerable.Range(0, 500).Select(_ => schedule.Delay(3).TotalSeconds).ToArray();
        Assert.All(samples, s => Assert.InRange(s, 3.2, 4.8));
        Assert.True(samples.Distinct().Count() > 100, "delays must actually vary");
        Assert.All(Enumerable.Range(0, 200), _ => Assert.True(schedule.Delay(10).TotalSeconds <= 60));
    }
}
