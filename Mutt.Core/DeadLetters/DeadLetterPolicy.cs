using Mutt.Core.Events;
using Mutt.Core.Redis;

namespace Mutt.Core.DeadLetters;

public enum RemediationAction
{
    Replay,
    Wait,
    Poison,
}

public sealed record RemediationDecision(RemediationAction Action, string Why, DateTimeOffset? NextReplayAt = null);

/// <summary>
/// What automatic remediation does with a dead letter. Pure. Causes that cannot clear by
/// waiting (unreadable JSON, a 4xx other than 408/429 — Moogsoft rejected the content) go to
/// <c>mutt:poison:permanent</c> at once; everything else is replayed after
/// REMEDIATION_BACKOFF_BASE × attempt, at most REMEDIATION_MAX_RETRIES times, then poisoned.
/// </summary>
public static class DeadLetterPolicy
{
    public static readonly IReadOnlySet<string> PermanentReasons = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        "invalid_json", "http_4xx", "validation", "invalid_payload",
    };

    /// <summary>The Alerter's reason for events it moved aside under backpressure (alerter_shed_mode=dlq).</summary>
    public const string ShedReason = "shed";

    public static bool IsPermanent(DeadLetter letter) =>
        PermanentReasons.Contains(letter.Reason)
        || letter.HttpStatus is >= 400 and < 500 and not 408 and not 429;

    /// <param name="attempts">Replays already made for this payload (the larger of the entry's count and the replay history).</param>
    public static RemediationDecision Decide(DeadLetter letter, int attempts, DateTimeOffset now, int maxRetries, TimeSpan backoffBase)
    {
        if (IsPermanent(letter))
        {
            return new RemediationDecision(RemediationAction.Poison, $"permanent cause ({letter.Reason}{(letter.HttpStatus is { } s ? " " + s : "")}): replaying cannot help");
        }
        if (string.Equals(letter.Reason, ShedReason, StringComparison.OrdinalIgnoreCase))
        {
            // Shed events failed nothing: the Alerter parked them because Moogsoft's backlog was too
            // deep. They are replayed with (capped) backoff for as long as the outage lasts and never
            // count towards poison, so a long outage cannot strand them unaudited.
            var shedDue = letter.NextReplayAt ?? letter.FailedAt + backoffBase * Math.Min(attempts + 1, 10);
            return now >= shedDue
                ? new RemediationDecision(RemediationAction.Replay, $"replay of a shed event ({attempts + 1})", shedDue)
                : new RemediationDecision(RemediationAction.Wait, "backoff", shedDue);
        }
        if (attempts >= maxRetries)
        {
            return new RemediationDecision(RemediationAction.Poison, $"gave up after {attempts} replays");
        }
        var due = letter.NextReplayAt ?? letter.FailedAt + backoffBase * (attempts + 1);
        return now >= due
            ? new RemediationDecision(RemediationAction.Replay, $"replay {attempts + 1}/{maxRetries}", due)
            : new RemediationDecision(RemediationAction.Wait, "backoff", due);
    }

    /// <summary>The queue a dead letter goes back to: where it came from, else the DLQ's natural source.</summary>
    public static string TargetQueue(DeadLetter letter, string dlq, QueueNames names) =>
        !string.IsNullOrEmpty(letter.SourceQueue) ? letter.SourceQueue : names.NaturalSourceOf(dlq);
}
