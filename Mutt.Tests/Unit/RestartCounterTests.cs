using Mutt.AppHost;

namespace Mutt.Tests.Unit;

/// <summary>How endpoints.json and the test harness count a replica's restarts from Aspire's snapshots.</summary>
[Trait("Category", "Unit")]
public sealed class RestartCounterTests
{
    private static int Count(params (string State, int? Pid)[] snapshots)
    {
        var counter = new RestartCounter();
        foreach (var (state, pid) in snapshots)
        {
            counter.See(state, pid);
        }
        return counter.Count;
    }

    [Fact]
    public void A_first_start_and_a_one_shot_that_finishes_are_not_restarts() =>
        Assert.Equal(0, Count(("Waiting", null), ("Starting", 100), ("Running", 100), ("Finished", 100), ("Finished", null)));

    [Fact]
    public void A_kill_and_a_start_count_once_even_when_aspire_publishes_the_stop_and_start_twice() =>
        Assert.Equal(1, Count(("Running", 100), ("Exited", 100), ("Starting", 100), ("Exited", null), ("Starting", null),
            ("Starting", 200), ("Running", 200), ("Running", 200)));

    [Fact]
    public void A_running_replica_whose_snapshots_name_another_process_id_did_not_restart() =>
        Assert.Equal(0, Count(("Running", 100), ("Running", 101), ("Running", 100), ("Running", 101)));

    [Fact]
    public void Two_kills_and_starts_count_twice() =>
        Assert.Equal(2, Count(("Running", 100), ("Exited", null), ("Running", 200), ("Exited", 200), ("Starting", 300), ("Running", 300)));
}
