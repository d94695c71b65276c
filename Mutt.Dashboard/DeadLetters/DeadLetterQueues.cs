using System.Text.Json.Serialization;
using Mutt.Core.DeadLetters;
using Mutt.Core.Events;
using Mutt.Core.Redis;

namespace Mutt.Dashboard.DeadLetters;

public sealed record DeadLetterQueueInfo(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("key")] string Key,
    [property: JsonPropertyName("default_target")] string DefaultTarget,
    [property: JsonPropertyName("depth")] long Depth);

public sealed record DeadLetterItem(
    [property: JsonPropertyName("index")] long Index,
    [property: JsonPropertyName("entry")] DeadLetter Entry);

/// <summary>
/// The operator-facing names of the dead-letter queues (<c>alerter</c>, <c>moog</c>, <c>poison</c>)
/// over Mutt.Core's <see cref="DeadLetterOperations"/>, which does all the work — the same code
/// Remediation's scanner uses, so an operator and a scan never both move one entry.
/// </summary>
public static class DeadLetterQueues
{
    public const string CircuitOpenTitle = "Moogsoft circuit breaker is OPEN";
    public const string CircuitOpenDetail = "Manual replay to " + MuttKeys.AlertQueue + " is refused while the Moogsoft circuit is OPEN; replay once it is HALF_OPEN or CLOSED.";

    private static readonly Dictionary<string, string> Keys = new()
    {
        ["alerter"] = MuttKeys.AlerterDlq,
        ["moog"] = MuttKeys.MoogDlq,
        ["poison"] = MuttKeys.PoisonPermanent,
    };

    public static IReadOnlyCollection<string> Names => Keys.Keys;

    public static bool TryResolve(string name, out string key) => Keys.TryGetValue(name, out key!);

    public static async Task<IReadOnlyList<DeadLetterQueueInfo>> InfoAsync(this DeadLetterOperations operations)
    {
        var result = new List<DeadLetterQueueInfo>(Keys.Count);
        foreach (var (name, key) in Keys)
        {
            result.Add(new DeadLetterQueueInfo(name, key, DeadLetterPolicy.TargetQueue(new DeadLetter(), key), await operations.CountAsync(key)));
        }
        return result;
    }

    /// <summary>Entries oldest first, <paramref name="offset"/> counted from the oldest.</summary>
    public static async Task<(long Total, IReadOnlyList<DeadLetterItem> Items)> PageAsync(this DeadLetterOperations operations, string key, int offset, int count)
    {
        var total = await operations.CountAsync(key);
        var entries = await operations.ListAsync(key, offset + count);
        return (total, [.. entries.Skip(offset).Select((e, i) => new DeadLetterItem(offset + i, e.Letter))]);
    }
}
