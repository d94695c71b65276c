namespace Mutt.Forwarder.Moogsoft;

/// <summary>
/// Spec 004 retry schedule: retry n (1-based) waits min(base × 2^(n-1), max) — 1 s, 2 s, 4 s …
/// capped at 60 s — with ±20 % jitter so replicas that failed together do not retry together.
/// The jittered delay never exceeds max.
/// </summary>
public sealed class BackoffSchedule(TimeSpan baseDelay, TimeSpan maxDelay, Random? random = null)
{
    public const double Jitter = 0.2;
    private readonly Random _random = random ?? Random.Shared;

    public TimeSpan BaseDelay { get; } = baseDelay;
    public TimeSpan MaxDelay { get; } = maxDelay;

    /// <summary>The delay before retry <paramref name="retry"/> without jitter.</summary>
    public TimeSpan Nominal(int retry)
    {
        var exponent = Math.Clamp(retry - 1, 0, 30);
        var seconds = BaseDelay.TotalSeconds * Math.Pow(2, exponent);
        return TimeSpan.FromSeconds(Math.Min(seconds, MaxDelay.TotalSeconds));
    }

    public TimeSpan Delay(int retry)
    {
        var nominal = Nominal(retry).TotalSeconds;
        var jittered = nominal * (1 - Jitter + 2 * Jitter * _random.NextDouble());
        return TimeSpan.FromSeconds(Math.Min(jittered, MaxDelay.TotalSeconds));
    }
}
