using System.Text.Json.Serialization;

namespace Mutt.Core.Noise;

/// <summary>A row of <c>maintenance_windows</c>: who may be noisy, for what, when, and why.</summary>
public sealed record MaintenanceWindow
{
    [JsonPropertyName("id")] public int Id { get; init; }
    /// <summary>Exact host names or glob patterns (<c>*</c>, <c>?</c>), compared case-insensitively.</summary>
    [JsonPropertyName("hosts")] public IReadOnlyList<string> Hosts { get; init; } = [];
    /// <summary>Only events this alert rule matched; null = every event of the hosts.</summary>
    [JsonPropertyName("rule_id")] public int? RuleId { get; init; }
    /// <summary>Only events of this team (the rule's team after device_teams); null = any team.</summary>
    [JsonPropertyName("team")] public string? Team { get; init; }
    [JsonPropertyName("starts_at")] public DateTimeOffset StartsAt { get; init; }
    [JsonPropertyName("ends_at")] public DateTimeOffset EndsAt { get; init; }
    [JsonPropertyName("reason")] public string Reason { get; init; } = "";
    [JsonPropertyName("created_by")] public string CreatedBy { get; init; } = "";
    /// <summary>Who ended the window early (null: it ends, or ended, on its own).</summary>
    [JsonPropertyName("ended_by")] public string? EndedBy { get; init; }

    public bool IsActiveAt(DateTimeOffset at) => StartsAt <= at && at < EndsAt;
}

/// <summary>
/// A host name or glob pattern of a maintenance window. Globs are matched by a linear two-pointer
/// walk (no regex, so no backtracking and nothing an operator's pattern can make slow).
/// </summary>
public static class HostPattern
{
    public static bool IsGlob(string pattern) => pattern.AsSpan().IndexOfAny('*', '?') >= 0;

    /// <summary>Case-insensitive glob match: <c>*</c> any run of characters, <c>?</c> one character.</summary>
    public static bool Matches(string pattern, string host)
    {
        int p = 0, h = 0, star = -1, mark = 0;
        while (h < host.Length)
        {
            if (p < pattern.Length && (pattern[p] == '?' || char.ToLowerInvariant(pattern[p]) == char.ToLowerInvariant(host[h])))
            {
                p++;
                h++;
            }
            else if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                mark = h;
            }
            else if (star >= 0)
            {
                p = star + 1;
                h = ++mark;
            }
            else
            {
                return false;
            }
        }
        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }
        return p == pattern.Length;
    }
}

/// <summary>
/// The maintenance windows of one cache load, compiled for the hot path: exact host names in a
/// dictionary, glob patterns in a list. Which window applies to an event is decided here for the
/// Alerter and the Dashboard's rule tester alike. Time is the caller's: a window that ends on its
/// own simply stops matching, so it leaves no state anywhere.
/// </summary>
public sealed class MaintenanceSchedule
{
    private readonly Dictionary<string, List<MaintenanceWindow>> _byHost = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<(string Pattern, MaintenanceWindow Window)> _patterns = [];
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, MaintenanceWindow[]> _memo = new(StringComparer.OrdinalIgnoreCase);
    private const int MemoLimit = 100_000;

    public MaintenanceSchedule(IEnumerable<MaintenanceWindow> windows)
    {
        foreach (var window in windows.OrderBy(w => w.Id))
        {
            Windows.Add(window);
            foreach (var host in window.Hosts.Where(h => !string.IsNullOrWhiteSpace(h)).Select(h => h.Trim()).Distinct(StringComparer.OrdinalIgnoreCase))
            {
                if (HostPattern.IsGlob(host))
                {
                    _patterns.Add((host, window));
                }
                else
                {
                    if (!_byHost.TryGetValue(host, out var list))
                    {
                        _byHost[host] = list = [];
                    }
                    list.Add(window);
                }
            }
        }
    }

    public static MaintenanceSchedule Empty { get; } = new([]);

    public List<MaintenanceWindow> Windows { get; } = [];
    public int Count => Windows.Count;
    public bool IsEmpty => Windows.Count == 0;

    /// <summary>
    /// The window (lowest id first) that suppresses an event of <paramref name="hostname"/>, matched
    /// by rule <paramref name="ruleId"/> (null: no rule matched) for <paramref name="team"/>, received
    /// at <paramref name="at"/>; null when none does.
    /// </summary>
    public MaintenanceWindow? Find(string hostname, int? ruleId, string? team, DateTimeOffset at)
    {
        if (IsEmpty)
        {
            return null;
        }
        foreach (var window in ForHost(hostname))
        {
            if (Applies(window, ruleId, team, at))
            {
                return window;
            }
        }
        return null;
    }

    /// <summary>
    /// The windows naming a host (exactly or by a glob), lowest id first. Time does not enter, so the
    /// answer is memoised per host for this schedule's life (one cache load); the glob walk then runs
    /// once per host, not once per event, whatever the number of windows.
    /// </summary>
    public MaintenanceWindow[] ForHost(string hostname)
    {
        if (_memo.TryGetValue(hostname, out var known))
        {
            return known;
        }
        var windows = new List<MaintenanceWindow>();
        if (_byHost.TryGetValue(hostname, out var exact))
        {
            windows.AddRange(exact);
        }
        foreach (var (pattern, window) in _patterns)
        {
            if (!windows.Contains(window) && HostPattern.Matches(pattern, hostname))
            {
                windows.Add(window);
            }
        }
        var found = windows.Count == 0 ? [] : windows.OrderBy(w => w.Id).ToArray();
        if (_memo.Count < MemoLimit)
        {
            _memo.TryAdd(hostname, found);
        }
        return found;
    }

    private static bool Applies(MaintenanceWindow window, int? ruleId, string? team, DateTimeOffset at) =>
        window.IsActiveAt(at)
        && (window.RuleId is null || window.RuleId == ruleId)
        && (window.Team is null || string.Equals(window.Team, team, StringComparison.OrdinalIgnoreCase));
}
