using System.Globalization;

namespace Mutt.Core.Redis;

/// <summary>One bucket size of the event counters: its key segment, length and how long a bucket is kept.</summary>
public sealed record FlowWindow(string Segment, int Seconds, TimeSpan Ttl)
{
    public long BucketAt(DateTimeOffset at) => at.ToUnixTimeSeconds() / Seconds;

    public string Key(long bucket) => $"{FlowCounterKeys.Prefix}:{Segment}:{bucket.ToString(CultureInfo.InvariantCulture)}";

    public string KeyAt(DateTimeOffset at) => Key(BucketAt(at));
}

/// <summary>
/// The Ingestor's bucketed event counts, read by the Dashboard: <c>mutt:metrics:events:m:{unix_minute}</c>
/// (TTL 2 h), <c>mutt:metrics:events:h:{unix_hour}</c> (48 h), <c>mutt:metrics:events:d:{unix_day}</c> (8 d),
/// integers incremented with INCRBY. Writer and reader both build the names here.
/// </summary>
public static class FlowCounterKeys
{
    public const string Prefix = MuttKeys.MetricsPrefix + ":events";

    public static readonly FlowWindow Minute = new("m", 60, TimeSpan.FromHours(2));
    public static readonly FlowWindow Hour = new("h", 3600, TimeSpan.FromHours(48));
    public static readonly FlowWindow Day = new("d", 86400, TimeSpan.FromDays(8));

    public static readonly IReadOnlyList<FlowWindow> Windows = [Minute, Hour, Day];
}
