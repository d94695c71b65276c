namespace Mutt.Forwarder.Moogsoft;

public enum DeliveryAction
{
    /// <summary>Moogsoft accepted the batch: ack it (with the batch's unreadable items dead-lettered).</summary>
    Ack,
    /// <summary>429: Moogsoft is up and asked us to slow down; wait as told and resend. Costs no retry.</summary>
    WaitAndResend,
    /// <summary>5xx, timeout, connection error: resend after the backoff.</summary>
    Retry,
    /// <summary>A 4xx other than 429, or retries spent: dead-letter the batch.</summary>
    DeadLetter,
}

/// <param name="Status">The <c>status</c> label of mutt_moog_requests_total.</param>
/// <param name="CircuitSuccess">What to record on the circuit breaker: true/false, or null for nothing.</param>
/// <param name="Retries">Failed attempts so far, this one included.</param>
/// <param name="DlqReason">The dead letters' reason when <see cref="Action"/> is <see cref="DeliveryAction.DeadLetter"/>.</param>
public readonly record struct DeliveryStep(DeliveryAction Action, string Status, bool? CircuitSuccess, int Retries, string? DlqReason = null);

/// <summary>
/// What the Forwarder does with each Moogsoft answer. Any answer from a reachable Moogsoft (2xx,
/// 429, other 4xx) is a success for the circuit, recorded only when it can change something
/// (failures were counted, or this request was the HALF_OPEN probe); every retryable failure is
/// recorded. Pure, so unit tests call it directly.
/// </summary>
public static class DeliveryPolicy
{
    /// <param name="retries">Failed (retryable) attempts before this one.</param>
    /// <param name="circuitNeedsRecord">The circuit had failures counted, or this request was the probe.</param>
    public static DeliveryStep Decide(SendResult result, int retries, int maxRetries, bool circuitNeedsRecord)
    {
        bool? success = circuitNeedsRecord ? true : null;
        return result switch
        {
            SendResult.Success => new(DeliveryAction.Ack, "success", success, retries),
            SendResult.Throttled => new(DeliveryAction.WaitAndResend, "rate_limited", success, retries),
            SendResult.Rejected => new(DeliveryAction.DeadLetter, "dlq", success, retries, "http_4xx"),
            _ when retries + 1 > maxRetries => new(DeliveryAction.DeadLetter, "dlq", false, retries + 1, "max_retries"),
            _ => new(DeliveryAction.Retry, "retry", false, retries + 1),
        };
    }
}
