using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Mutt.Core.Events;
using Mutt.Core.Redis;
using StackExchange.Redis;

namespace Mutt.Core.DeadLetters;

/// <summary>A dead letter as stored (its exact text, needed for atomic moves) and parsed.</summary>
public sealed record StoredDeadLetter(string Raw, DeadLetter Letter);

public enum ReplayOutcome
{
    Replayed,
    NotFound,
    CircuitOpen,
}

/// <summary>
/// Everything done to DLQ entries — list, inspect, delete, replay, poison, trim — by
/// Remediation's scanner and by the Dashboard alike. Every move is the dlq_move.lua script, so a
/// scan and an operator acting on the same entry cannot both move it.
/// </summary>
public sealed class DeadLetterOperations(IConnectionMultiplexer redis, QueueNames names)
{
    public static readonly TimeSpan HistoryTtl = TimeSpan.FromDays(30);
    private static readonly JsonSerializerOptions RelaxedJson = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private static readonly string MoveScript = LuaScripts.Load("dlq_move.lua");

    private IDatabase Db => redis.GetDatabase();

    /// <summary>Entries oldest first (the consumer end of the list).</summary>
    public async Task<IReadOnlyList<StoredDeadLetter>> ListAsync(string queue, int max = 1000)
    {
        var values = await Db.ListRangeAsync(queue, -max, -1).ConfigureAwait(false);
        var result = new List<StoredDeadLetter>(values.Length);
        for (var i = values.Length - 1; i >= 0; i--)
        {
            result.Add(Parse((string)values[i]!));
        }
        return result;
    }

    public Task<long> CountAsync(string queue) => Db.ListLengthAsync(queue);

    public async Task<StoredDeadLetter?> FindAsync(string queue, string id)
    {
        foreach (var entry in await ListAsync(queue, int.MaxValue / 2).ConfigureAwait(false))
        {
            if (entry.Letter.Id == id)
            {
                return entry;
            }
        }
        return null;
    }

    public async Task<bool> DeleteAsync(string queue, string id)
    {
        var entry = await FindAsync(queue, id).ConfigureAwait(false);
        return entry is not null && await Db.ListRemoveAsync(queue, entry.Raw, -1).ConfigureAwait(false) > 0;
    }

    /// <summary>Manual replay of one entry (Dashboard): ignores the backoff schedule, honours an OPEN Moogsoft circuit.</summary>
    public async Task<ReplayOutcome> ReplayAsync(string queue, string id, string by = "manual")
    {
        var entry = await FindAsync(queue, id).ConfigureAwait(false);
        if (entry is null)
        {
            return ReplayOutcome.NotFound;
        }
        return await ReplayEntryAsync(queue, entry, by).ConfigureAwait(false);
    }

    /// <summary>Manual replay of every entry of a queue; returns how many went back.</summary>
    public async Task<int> ReplayAllAsync(string queue, string by = "manual")
    {
        var replayed = 0;
        foreach (var entry in await ListAsync(queue, int.MaxValue / 2).ConfigureAwait(false))
        {
            if (await ReplayEntryAsync(queue, entry, by).ConfigureAwait(false) == ReplayOutcome.Replayed)
            {
                replayed++;
            }
        }
        return replayed;
    }

    /// <summary>
    /// Sends the original payload back to its source queue (retry_count reset to 0) and records
    /// the replay in the payload's history, which survives the payload failing into a DLQ again.
    /// </summary>
    public async Task<ReplayOutcome> ReplayEntryAsync(string queue, StoredDeadLetter entry, string by)
    {
        var target = DeadLetterPolicy.TargetQueue(entry.Letter, queue, names);
        if (target == names.AlertQueue && await IsMoogCircuitOpenAsync().ConfigureAwait(false))
        {
            return ReplayOutcome.CircuitOpen;
        }
        var attempt = JsonSerializer.Serialize(new DeadLetterAttempt { At = DateTimeOffset.UtcNow, Action = "replay", Detail = $"{by}: {queue} -> {target} (was {entry.Letter.Reason})" }, MuttJsonContext.Default.DeadLetterAttempt);
        var moved = (long)await Db.ScriptEvaluateAsync(MoveScript, [queue, target, HistoryKey(entry.Letter.Payload)],
            [entry.Raw, ResetRetryCount(entry.Letter.Payload), attempt, (long)HistoryTtl.TotalSeconds]).ConfigureAwait(false);
        return moved == 1 ? ReplayOutcome.Replayed : ReplayOutcome.NotFound;
    }

    /// <summary>The configured queue names these operations act on (the same for the Dashboard and Remediation).</summary>
    public QueueNames Names => names;

    /// <summary>Moves an entry to mutt:poison:permanent with its full replay history and why.</summary>
    public async Task<bool> PoisonAsync(string queue, StoredDeadLetter entry, string why)
    {
        var letter = entry.Letter;
        var history = await HistoryAsync(letter.Payload).ConfigureAwait(false);
        letter.History = [.. letter.History, .. history.Where(h => !letter.History.Any(e => e.At == h.At && e.Action == h.Action)),
            new DeadLetterAttempt { At = DateTimeOffset.UtcNow, Action = "poison", Detail = why }];
        letter.ReplayCount = Math.Max(letter.ReplayCount, history.Count);
        var moved = (long)await Db.ScriptEvaluateAsync(MoveScript, [queue, names.PoisonQueue],
            [entry.Raw, JsonSerializer.Serialize(letter, MuttJsonContext.Default.DeadLetter)]).ConfigureAwait(false);
        if (moved == 1)
        {
            await Db.KeyDeleteAsync(HistoryKey(letter.Payload)).ConfigureAwait(false);
        }
        return moved == 1;
    }

    /// <summary>Rewrites an entry in place (e.g. to store next_replay_at), atomically.</summary>
    public async Task<bool> RewriteAsync(string queue, StoredDeadLetter entry)
    {
        var moved = (long)await Db.ScriptEvaluateAsync(MoveScript, [queue, queue],
            [entry.Raw, JsonSerializer.Serialize(entry.Letter, MuttJsonContext.Default.DeadLetter)]).ConfigureAwait(false);
        return moved == 1;
    }

    /// <summary>Removes entries that failed before <paramref name="cutoff"/>; in a dry run only lists them.</summary>
    public async Task<IReadOnlyList<StoredDeadLetter>> TrimAsync(string queue, DateTimeOffset cutoff, bool dryRun)
    {
        var old = (await ListAsync(queue, int.MaxValue / 2).ConfigureAwait(false)).Where(e => e.Letter.FailedAt < cutoff).ToList();
        if (!dryRun)
        {
            foreach (var entry in old)
            {
                await Db.ListRemoveAsync(queue, entry.Raw, -1).ConfigureAwait(false);
            }
        }
        return old;
    }

    public async Task<IReadOnlyList<DeadLetterAttempt>> HistoryAsync(string payload)
    {
        var values = await Db.ListRangeAsync(HistoryKey(payload)).ConfigureAwait(false);
        return [.. values.Select(v => JsonSerializer.Deserialize((string)v!, MuttJsonContext.Default.DeadLetterAttempt)!)];
    }

    public async Task<bool> IsMoogCircuitOpenAsync() =>
        (string?)await Db.StringGetAsync(MuttKeys.MoogCircuitState).ConfigureAwait(false) == "OPEN";

    public static string HistoryKey(string payload) =>
        $"{MuttKeys.RemediationHistoryPrefix}:{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(payload)).AsSpan(0, 16))}";

    /// <summary>The payload as it was, except retry_count back to 0 so the consumer gives it a full set of retries.</summary>
    public static string ResetRetryCount(string payload)
    {
        try
        {
            // Rewritten only when there is something to reset, so most payloads go back byte for byte.
            if (JsonNode.Parse(payload) is JsonObject obj && obj[EnvelopeFields.RetryCount] is JsonValue count
                && !(count.TryGetValue<int>(out var n) && n == 0))
            {
                obj[EnvelopeFields.RetryCount] = 0;
                return obj.ToJsonString(RelaxedJson);
            }
        }
        catch (JsonException)
        {
        }
        return payload;
    }

    public static StoredDeadLetter Parse(string raw)
    {
        DeadLetter? letter = null;
        try
        {
            letter = JsonSerializer.Deserialize(raw, MuttJsonContext.Default.DeadLetter);
        }
        catch (JsonException)
        {
        }
        // Something that is not a DeadLetter (a raw event pushed by hand: no payload) is wrapped, with an
        // id from its content rather than a fresh random one, so it can still be found, inspected and moved.
        return new StoredDeadLetter(raw, letter is { Payload.Length: > 0 } ? letter : new DeadLetter { Id = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(raw)).AsSpan(0, 8)), Payload = raw, Reason = "invalid_json" });
    }
}
