using Mutt.Dashboard.Metrics;

namespace Mutt.Tests.Unit;

/// <summary>The SLO page's figures: spec 004's availability, burn rate and status from good and total.</summary>
[Trait("Category", "Unit")]
public sealed class SloComponentTests
{
    [Fact]
    public void Availability_is_the_exact_ratio_of_prometheus_fractional_increases_and_only_the_counts_are_rounded()
    {
        // increase() over a window longer than the series extrapolates: 7.6 good of 10.9. Rounding first
        // (8 of 11 = 72.7 %) would disagree with the spec's rate() ratio (69.7 %).
        var component = SloService.Component("forwarder", 0.99, 7.6, 10.9);
        Assert.Equal(Math.Round(7.6 / 10.9, 6), component.Availability);
        Assert.Equal(8, component.Good);
        Assert.Equal(11, component.Total);
        Assert.Equal("critical", component.Status);
    }

    [Fact]
    public void No_requests_is_no_data_and_a_clean_window_is_ok()
    {
        Assert.Equal("no_data", SloService.Component("ingestor", 0.995, 0, 0).Status);
        var clean = SloService.Component("ingestor", 0.995, 200, 200);
        Assert.Equal(1, clean.Availability);
        Assert.Equal("ok", clean.Status);
    }
}
