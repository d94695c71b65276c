using System.Globalization;
using System.Text.Json;
using Mutt.Alerter.Audit;
using Mutt.Core.Events;
using Mutt.Core.Noise;
using Mutt.Core.Redis;
using Mutt.Core.Rules;
using Mutt.Core.Telemetry;

namespace Mutt.Alerter.Processing;

/// <summary>What a batch asks Redis: the events to deduplicate and the flapping observations.</summary>
public sealed class NoiseRequests
{
    public List<PlannedItem> DedupItems { get; } = [];
    public List<DedupRequest> Dedup { get; } = [];
    public List<PlannedItem> FlapItems { get; } = [];
    public List<FlapRequest> Flaps { get; } = [];
    public bool IsEmpty => Dedup.Count == 0 && Flaps.Count == 0;
}

/// <summary>A flapping episode this batch started: its clear is stored with the batch's completion.</summary>
public sealed record FlappingClear(string StateKey, string StartedBy, string ClearJson);

/// <summary>
/// Deduplication and flapping decisions of a batch, without I/O: <see cref="Collect"/> says what to
/// ask Redis (one script call each, <see cref="NoiseScripts"/>), <see cref="Apply"/> turns the answers
/// into audit decisions and alerts. Order of precedence (the maintenance window was decided while
/// planning): a flapping transition is not deduplicated; a deduplicated repeat keeps its rule id.
/// </summary>
public static class NoisePlanner
{
    public static NoiseRequests Collect(BatchPlan plan, RuleSet rules)
    {
        var requests = new NoiseRequests();
        if (plan.NoiseCandidates == 0)
        {
            return requests;
        }
        foreach (var item in plan.Items)
        {
            if (item.Noise is not { } noise || item.Status == ItemStatus.Failed || item.Event is not { } evt)
            {
                continue;
            }
            if (noise.Flap is { } flap)
            {
                var state = NoiseKeys.FlappingState(flap.Rule.Id, item.Audit!.Hostname, flap.Interface);
                requests.FlapItems.Add(item);
                requests.Flaps.Add(new FlapRequest(state, evt.CorrelationId!, flap.Kind, flap.Rule.WindowSeconds, flap.Rule.Threshold));
            }
            else if (noise.DedupHash is { } hash)
            {
                requests.DedupItems.Add(item);
                requests.Dedup.Add(new DedupRequest(hash, evt.CorrelationId!, noise.DedupWindowSeconds));
            }
        }
        return requests;
    }

    /// <summary>Applies the scripts' answers (in request order) to the batch's audit rows and alerts.</summary>
    public static void Apply(BatchPlan plan, NoiseRequests requests, IReadOnlyList<DedupOutcome> dedup, IReadOnlyList<FlapOutcome> flaps, RuleSet rules)
    {
        for (var i = 0; i < requests.DedupItems.Count; i++)
        {
            var item = requests.DedupItems[i];
            var outcome = dedup[i];
            if (!outcome.IsFirst)
            {
                item.Audit = item.Audit! with
                {
                    HandlingDecision = Handling.Deduplicated,
                    ForwardedToMoog = false,
                    DecisionCount = (int)Math.Min(int.MaxValue, outcome.RepeatNumber),
                };
                item.Alert = null;
                item.AlertJson = null;
                plan.SetStatus(item, ItemStatus.Deduplicated);
                item.Activity?.SetTag(MuttTracing.Tags.Handling, Handling.Deduplicated);
            }
            else if (outcome.Carried > 0 && item.Alert is { } alert)
            {
                // "On the next forward": the first event of a new window reports the repeats of the last one.
                alert.RepeatCount = outcome.Carried;
                item.AlertJson = JsonSerializer.Serialize(alert, MuttJsonContext.Default.AlertMessage);
            }
        }
        for (var i = 0; i < requests.FlapItems.Count; i++)
        {
            var item = requests.FlapItems[i];
            var outcome = flaps[i];
            if (outcome.Code == FlapCode.NotFlapping)
            {
                continue;
            }
            var flap = item.Noise!.Flap!;
            var started = outcome.Code == FlapCode.StartedFlapping;
            if (started)
            {
                plan.FlappingClears.Add(new FlappingClear(requests.Flaps[i].StateKey, requests.Flaps[i].CorrelationId,
                    JsonSerializer.Serialize(FlappingAlert(item, flap, 0, rules, cleared: true), MuttJsonContext.Default.AlertMessage)));
            }
            item.Alert = started ? FlappingAlert(item, flap, outcome.Transitions, rules, cleared: false) : null;
            item.AlertJson = item.Alert is null ? null : JsonSerializer.Serialize(item.Alert, MuttJsonContext.Default.AlertMessage);
            item.Audit = item.Audit! with
            {
                HandlingDecision = Handling.Flapping,
                ForwardedToMoog = started,
                DecisionCount = (int)Math.Min(int.MaxValue, outcome.Transitions),
                CorrelationRuleId = flap.Rule.Id,
            };
            // Part of a flapping episode, not an unhandled event: the unhandled meta-alert does not count it.
            item.UnhandledHost = null;
            plan.SetStatus(item, ItemStatus.Flapping);
            item.Activity?.SetTag(MuttTracing.Tags.Handling, Handling.Flapping);
        }
    }

    /// <summary>
    /// The one alert of a flapping episode, or (<paramref name="cleared"/>) its clear. Both carry the same
    /// correlation id, host, team and no rule id, hence the same Moogsoft signature: the clear closes the alert.
    /// </summary>
    public static AlertMessage FlappingAlert(PlannedItem item, FlapObservation flap, long transitions, RuleSet rules, bool cleared)
    {
        var evt = item.Event!;
        var host = item.Audit!.Hostname;
        var rule = flap.Rule;
        var window = rule.WindowSeconds.ToString(CultureInfo.InvariantCulture);
        var subject = flap.Interface == FlappingRuleSet.NoInterface ? host : $"{flap.Interface} on {host}";
        return new AlertMessage
        {
            CorrelationId = NoiseKeys.FlappingCorrelationId(rule.Id, host, flap.Interface),
            Hostname = host,
            Message = cleared
                ? $"MUTT: {subject} stopped flapping (quiet for {window} s; correlation rule {rule.Id} '{rule.Name}')."
                : $"MUTT: {subject} is flapping: {transitions} transitions within {window} s (correlation rule {rule.Id} '{rule.Name}'); further transitions are audited as Flapping until it is quiet for {window} s.",
            Source = evt.Source,
            SyslogSeverity = cleared ? null : evt.SyslogSeverity,
            Team = rules.TeamOverride(host) ?? rule.TeamAssignment,
            Handling = rule.Handling,
            Environment = rules.IsDevelopmentHost(host) ? "dev" : "prod",
            EventTimestamp = new DateTimeOffset(item.Audit.EventTimestamp, TimeSpan.Zero),
            Flapping = cleared ? FlappingStates.Cleared : FlappingStates.Started,
            TransitionCount = cleared ? null : transitions,
            CorrelationRuleId = rule.Id,
            Interface = flap.Interface,
            TraceParent = cleared ? null : item.Alert?.TraceParent ?? evt.TraceParent,
        };
    }
}
