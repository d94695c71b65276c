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
/// Remediation's scanner uses, so an operator and a scan never both move one entry. The keys behind
/// the names are the configured ones (<see cref="QueueNames"/>), as every other service reads them.
/// </summary>
public static class DeadLetterQueues
{
    public const string CircuitOpenTitle = "Moogsoft circuit breaker is OPEN";

    public static string CircuitOpenDetail(this DeadLetterOperations operations) =>
        $"Manual replay to {operations.Names.AlertQueue} is refused while the Moogsoft circuit is OPEN; replay once it is HALF_OPEN or CLOSED.";

    public static bool TryResolve(this DeadLetterOperations operations, string name, out string key) =>
        operations.Names.DeadLetterQueues.TryGetValue(name, out key!);

    public static async Task<IReadOnlyList<DeadLetterQueueInfo>> InfoAsync(this DeadLetterOperations operations)
    {
        var names = operations.Names;
        var result = new List<DeadLetterQueueInfo>();
        foreach (var (name, key) in names.DeadLetterQueues)
        {
            result.Add(new DeadLetterQueueInfo(name, key, DeadLetterPolicy.TargetQueue(new DeadLetter(), key, names), await operations.CountAsync(key)));
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
