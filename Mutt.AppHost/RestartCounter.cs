namespace Mutt.AppHost;

/// <summary>
/// Counts the restarts of one replica from Aspire's resource snapshots. A restart is a stop (Exited,
/// Finished, FailedToStart, Stopped) followed by a running or starting snapshot with a process id
/// other than the one that stopped. Neither alone is enough: Aspire may publish the stop and the
/// start of one restart twice, and a replica's snapshots do not always name the same process id.
/// </summary>
public sealed class RestartCounter
{
    private int _count;
    private int _lastPid;
    private int _pidAtStop;
    private bool _stopped;

    public int Count => Volatile.Read(ref _count);

    public static bool IsDown(string? state) => state is "Exited" or "Finished" or "FailedToStart" or "Stopped";

    /// <summary>Called with every snapshot of the replica, in order.</summary>
    public void See(string? state, int? pid)
    {
        if (IsDown(state))
        {
            if (!_stopped)
            {
                _stopped = true;
                _pidAtStop = _lastPid;
            }
            return;
        }
        if (pid is not { } current || current == 0)
        {
            return;
        }
        if (_stopped && current != _pidAtStop && state is "Starting" or "Running")
        {
            Interlocked.Increment(ref _count);
            _stopped = false;
        }
        _lastPid = current;
    }
}
