using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Mutt.Core.Events;
using Mutt.Core.Redis;
using StackExchange.Redis;

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
/// DLQ handling the dashboard needs. Written against this small interface so the lead can
/// switch to Mutt.Remediation's replay code after merging; <see cref="RedisDeadLetterOperations"/> is the plain Redis version.
/// </summary>
public interface IDeadLetterOperations
{
    IReadOnlyList<string> QueueNames { get; }
    Task<IReadOnlyList<DeadLetterQueueInfo>> QueuesAsync();
    Task<(long Total, IReadOnlyList<DeadLetterItem> Items)> ListAsync(string queue, int offset, int count);
    Task<DeadLetter?> GetAsync(string queue, string id);
    /// <summary>Moves one entry's payload back to its source queue; false when it is no longer in the DLQ.</summary>
    Task<bool> ReplayAsync(string queue, string id);
    Task<int> ReplayAllAsync(string queue);
    Task<bool> DeleteAsync(string queue, string id);
}

public sealed class RedisDeadLetterOperations(IConnectionMultiplexer redis, ILogger<RedisDeadLetterOperations> logger) : IDeadLetterOperations
{
    /// <summary>LREM and LPUSH in one script: a double click or two operators cannot replay the same entry twice.</summary>
    private const string MoveScript = """
        local removed = redis.call('LREM', KEYS[1], 1, ARGV[1])
        if removed == 1 and ARGV[2] ~= '' then redis.call('LPUSH', KEYS[2], ARGV[2]) end
        return removed
        """;

    private const int ScanLimit = 10_000;

    private static readonly Dictionary<string, (string Key, string Target)> Queues = new()
    {
        ["alerter"] = (MuttKeys.AlerterDlq, MuttKeys.IngestQueue),
        ["moog"] = (MuttKeys.MoogDlq, MuttKeys.AlertQueue),
        ["poison"] = (MuttKeys.PoisonPermanent, MuttKeys.IngestQueue),
    };

    public IReadOnlyList<string> QueueNames { get; } = [.. Queues.Keys];

    public static bool TryResolve(string queue, out string key) { key = Queues.TryGetValue(queue, out var q) ? q.Key : ""; return key.Length > 0; }

    public async Task<IReadOnlyList<DeadLetterQueueInfo>> QueuesAsync()
    {
        var db = redis.GetDatabase();
        var result = new List<DeadLetterQueueInfo>();
        foreach (var (name, (key, target)) in Queues)
        {
            result.Add(new DeadLetterQueueInfo(name, key, target, await db.ListLengthAsync(key)));
        }
        return result;
    }

    public async Task<(long Total, IReadOnlyList<DeadLetterItem> Items)> ListAsync(string queue, int offset, int count)
    {
        var key = Key(queue);
        var db = redis.GetDatabase();
        var total = await db.ListLengthAsync(key);
        var values = await db.ListRangeAsync(key, offset, offset + count - 1);
        return (total, values.Select((v, i) => new DeadLetterItem(offset + i, Parse(v!))).ToList());
    }

    public async Task<DeadLetter?> GetAsync(string queue, string id) => (await FindAsync(queue, id))?.Entry;

    public async Task<bool> ReplayAsync(string queue, string id)
    {
        var found = await FindAsync(queue, id);
        if (found is null)
        {
            return false;
        }
        var (raw, entry) = found.Value;
        var target = string.IsNullOrEmpty(entry.SourceQueue) ? Queues[queue].Target : entry.SourceQueue;
        var moved = (long)await redis.GetDatabase().ScriptEvaluateAsync(MoveScript, [Key(queue), target], [raw, ResetRetries(entry.Payload)]) == 1;
        if (moved)
        {
            logger.LogInformation("Replayed dead letter {Id} from {Queue} to {Target}", id, Key(queue), target);
        }
        return moved;
    }

    public async Task<int> ReplayAllAsync(string queue)
    {
        var values = await redis.GetDatabase().ListRangeAsync(Key(queue), 0, ScanLimit - 1);
        var replayed = 0;
        foreach (var value in values)
        {
            if (await ReplayAsync(queue, Parse(value!).Id))
            {
                replayed++;
            }
        }
        return replayed;
    }

    public async Task<bool> DeleteAsync(string queue, string id)
    {
        var found = await FindAsync(queue, id);
        if (found is null)
        {
            return false;
        }
        var removed = (long)await redis.GetDatabase().ScriptEvaluateAsync(MoveScript, [Key(queue), Key(queue)], [found.Value.Raw, ""]) == 1;
        if (removed)
        {
            logger.LogWarning("Deleted dead letter {Id} from {Queue} by operator request", id, Key(queue));
        }
        return removed;
    }

    private static string Key(string queue) => Queues.TryGetValue(queue, out var q) ? q.Key : throw new ArgumentException($"Unknown dead-letter queue '{queue}'.", nameof(queue));

    private async Task<(string Raw, DeadLetter Entry)?> FindAsync(string queue, string id)
    {
        var values = await redis.GetDatabase().ListRangeAsync(Key(queue), 0, ScanLimit - 1);
        foreach (var value in values)
        {
            var entry = Parse(value!);
            if (entry.Id == id)
            {
                return (value!, entry);
            }
        }
        return null;
    }

    /// <summary>Entries not in DeadLetter form (a bare payload) are shown with an id derived from their content.</summary>
    private static DeadLetter Parse(string raw)
    {
        try
        {
            if (JsonSerializer.Deserialize(raw, MuttJsonContext.Default.DeadLetter) is { Payload.Length: > 0 } entry)
            {
                return entry;
            }
        }
        catch (JsonException)
        {
        }
        return new DeadLetter { Id = "raw-" + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(raw)))[..16].ToLowerInvariant(), Payload = raw, Reason = "unrecognised entry" };
    }

    /// <summary>A replayed event starts with a fresh retry budget, or it would go straight back to the DLQ.</summary>
    private static string ResetRetries(string payload)
    {
        try
        {
            if (JsonNode.Parse(payload) is JsonObject obj && obj.ContainsKey("retry_count"))
            {
                obj["retry_count"] = 0;
                return obj.ToJsonString();
            }
        }
        catch (JsonException)
        {
        }
        return payload;
    }
}
