namespace Mutt.Alerter.Processing;

/// <summary>The Alerter's warnings about a batch's outcome (source-generated, no formatting cost when the level is off).</summary>
public static partial class AlerterLog
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "Unhandled-event threshold {Threshold} reached for host {Hostname}: meta-alert sent to team {Team}")]
    public static partial void MetaAlert(ILogger logger, int threshold, string hostname, string team);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shed {Count} events to {Dlq} (alert queue depth {Depth})")]
    public static partial void Shed(ILogger logger, int count, string dlq, long depth);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} event(s) breaking a limit on input (hostname, MAX_MESSAGE_BYTES, timestamp range) sent to {Dlq} with reason {Reason}")]
    private static partial void Invalid(ILogger logger, long count, string dlq, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} unparseable item(s) sent to {Dlq}")]
    private static partial void Poison(ILogger logger, long count, string dlq);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} item(s) failed processing: {Retries} requeued, the rest dead-lettered")]
    private static partial void Failed(ILogger logger, long count, int retries);

    /// <summary>Every discard of a batch is logged (and counted by <see cref="AlerterMetrics.RecordBatch"/>).</summary>
    public static void BatchOutcome(ILogger logger, BatchPlan plan, string dlq)
    {
        if (plan.Invalid > 0)
        {
            Invalid(logger, plan.Invalid, dlq, BatchPlanner.ValidationReason);
        }
        if (plan.Poison > 0)
        {
            Poison(logger, plan.Poison, dlq);
        }
        if (plan.Errors > 0)
        {
            Failed(logger, plan.Errors, plan.Retries.Count);
        }
    }
}
