using Mutt.Core.Redis;
using StackExchange.Redis;

namespace Mutt.Alerter.Processing;

/// <summary>What a matched batch writes to Redis in its completion transaction, beside its ack.</summary>
public static class PlanOutputs
{
    public static void Stage(ITransaction transaction, BatchPlan plan, string alertQueue, string sourceQueue, string dlq)
    {
        var alerts = plan.Alerts.Select(a => (RedisValue)a).ToArray();
        if (alerts.Length > 0)
        {
            _ = transaction.ListLeftPushAsync(alertQueue, alerts);
        }
        if (plan.Retries.Count > 0)
        {
            // The consumer end of the queue: a retried event is taken again next, not after the backlog.
            _ = transaction.ListRightPushAsync(sourceQueue, plan.Retries.Select(r => (RedisValue)r).ToArray());
        }
        if (plan.DeadLetters.Count > 0)
        {
            _ = transaction.ListLeftPushAsync(dlq, plan.DeadLetters.Select(d => (RedisValue)d).ToArray());
        }
        foreach (var clear in plan.FlappingClears)
        {
            _ = NoiseScripts.ArmFlappingClearAsync(transaction, clear.StateKey, clear.StartedBy, clear.ClearJson);
        }
    }
}
