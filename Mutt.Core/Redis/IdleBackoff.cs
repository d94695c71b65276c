namespace Mutt.Core.Redis;

/// <summary>
/// The wait between polls of an empty queue: starts at 1 ms and doubles up to a cap, and is
/// reset by any non-empty batch. Keeps latency low under load and the CPU idle when there is
/// none. No blocking pop instead: a StackExchange.Redis multiplexer shares its connection
/// among all callers, so a BLMOVE would stall every other command of the process behind it.
/// </summary>
public sealed class IdleBackoff(TimeSpan max)
{
    private TimeSpan _next = TimeSpan.FromMilliseconds(1);

    public TimeSpan Next()
    {
        var current = _next;
        var doubled = TimeSpan.FromTicks(_next.Ticks * 2);
        _next = doubled > max ? max : doubled;
        return current;
    }

    public void Reset() => _next = TimeSpan.FromMilliseconds(1);
}
