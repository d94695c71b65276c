using Mutt.Core.Noise;
using Mutt.Core.Redis;
using Mutt.Core.Rules;
using StackExchange.Redis;

namespace Mutt.Alerter.Processing;

/// <summary>
/// Deduplication and flapping of a whole batch: both scripts sent together (one round trip) as soon
/// as the batch is planned, so Redis works while the previous batch's audit write runs; the answers
/// are applied at the start of this batch's completion, before its audit write (the decisions are in
/// the audit rows). Order holds: the previous batch's scripts were sent when it was planned, before
/// this batch was even taken, on the same connection. A batch that does not commit is replayed
/// later: the scripts recognise a replayed first event and replayed transitions by correlation id.
/// </summary>
public sealed class NoiseDecisions(IConnectionMultiplexer redis, AlerterMetrics metrics, ILogger<NoiseDecisions> logger)
{
    /// <summary>Sends the batch's questions; the returned action applies the answers to the plan (null: nothing to ask).</summary>
    public Task<Action>? Ask(BatchPlan plan, RuleSet current)
    {
        if (plan.NoiseCandidates == 0)
        {
            return null;
        }
        var requests = NoisePlanner.Collect(plan, current);
        if (requests.IsEmpty)
        {
            return Task.FromResult<Action>(() => { });
        }
        var db = redis.GetDatabase();
        var dedup = NoiseScripts.DeduplicateAsync(db, requests.Dedup);
        var flaps = NoiseScripts.ObserveFlapsAsync(db, requests.Flaps);
        var answers = AnswersAsync();
        // A plan voided before its completion never awaits this: observe a failure so it is not unobserved.
        _ = answers.ContinueWith(t => logger.LogDebug(t.Exception, "Noise decisions of a voided batch failed"), CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return answers;

        async Task<Action> AnswersAsync()
        {
            var dedupOutcomes = await dedup;
            var flapOutcomes = await flaps;
            return () =>
            {
                NoisePlanner.Apply(plan, requests, dedupOutcomes, flapOutcomes, current);
                foreach (var (item, outcome) in requests.FlapItems.Zip(flapOutcomes))
                {
                    if (outcome.Code == FlapCode.StartedFlapping)
                    {
                        metrics.FlappingAlerts.Add(1);
                        logger.LogWarning("{Host} {Interface} is flapping ({Transitions} transitions, correlation rule {RuleId}): one Flapping alert forwarded, further transitions audited as Flapping",
                            item.Audit!.Hostname, item.Noise!.Flap!.Interface, outcome.Transitions, item.Noise.Flap.Rule.Id);
                    }
                }
            };
        }
    }
}
