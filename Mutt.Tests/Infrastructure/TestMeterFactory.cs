using System.Diagnostics.Metrics;

namespace Mutt.Tests.Infrastructure;

/// <summary>
/// A meter factory of one test's own, as a host has one: the meters it creates are scoped to it,
/// so the exporters of other hosts running in the same test process never see them, and
/// disposing it ends them.
/// </summary>
public sealed class TestMeterFactory : IMeterFactory
{
    private readonly List<Meter> _meters = [];

    public Meter Create(MeterOptions options)
    {
        var meter = new Meter(options.Name, options.Version, options.Tags, scope: this);
        lock (_meters)
        {
            _meters.Add(meter);
        }
        return meter;
    }

    public void Dispose()
    {
        lock (_meters)
        {
            _meters.ForEach(m => m.Dispose());
            _meters.Clear();
        }
    }
}
