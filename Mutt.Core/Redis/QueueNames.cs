using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Mutt.Core.Redis;

/// <summary>
/// The Redis lists the services hand events through, and the prefixes of the per-pod lists and
/// heartbeats, as spec 004 names their environment variables. The ONE place these names are read
/// from configuration: the Ingestor, Alerter, Forwarder, Remediation and the Dashboard all take
/// them from here (<see cref="QueueNamesServiceCollectionExtensions.AddQueueNames"/>, part of
/// <c>AddMuttDefaults()</c>), so an override set once (the shared mutt.env or the mutt-config
/// ConfigMap) is honoured by every producer, consumer, janitor, replay and depth gauge alike.
/// The defaults are spec 004's names (<see cref="MuttKeys"/>). The poison queue has no variable.
/// </summary>
public sealed class QueueNames
{
    [ConfigurationKeyName("INGEST_QUEUE_NAME")] public string IngestQueue { get; set; } = MuttKeys.IngestQueue;
    [ConfigurationKeyName("ALERT_QUEUE_NAME")] public string AlertQueue { get; set; } = MuttKeys.AlertQueue;
    [ConfigurationKeyName("ALERTER_PROCESSING_LIST_PREFIX")] public string AlerterProcessingPrefix { get; set; } = MuttKeys.AlerterProcessingPrefix;
    [ConfigurationKeyName("ALERTER_HEARTBEAT_PREFIX")] public string AlerterHeartbeatPrefix { get; set; } = MuttKeys.AlerterHeartbeatPrefix;
    [ConfigurationKeyName("ALERTER_DLQ_NAME")] public string AlerterDlq { get; set; } = MuttKeys.AlerterDlq;
    [ConfigurationKeyName("MOOG_PROCESSING_LIST_PREFIX")] public string MoogProcessingPrefix { get; set; } = MuttKeys.MoogProcessingPrefix;
    [ConfigurationKeyName("MOOG_HEARTBEAT_PREFIX")] public string MoogHeartbeatPrefix { get; set; } = MuttKeys.MoogHeartbeatPrefix;
    [ConfigurationKeyName("MOOG_DLQ_NAME")] public string MoogDlq { get; set; } = MuttKeys.MoogDlq;

    /// <summary>Where Remediation parks what cannot be replayed (no variable: spec 004 fixes it).</summary>
    public string PoisonQueue => MuttKeys.PoisonPermanent;

    /// <summary>The dead-letter queues by their operator-facing names (Dashboard routes, Remediation's metric labels).</summary>
    public IReadOnlyDictionary<string, string> DeadLetterQueues => new Dictionary<string, string>
    {
        ["alerter"] = AlerterDlq,
        ["moog"] = MoogDlq,
        ["poison"] = PoisonQueue,
    };

    /// <summary>The queue a dead letter that does not name its source goes back to: the Alerter's DLQ feeds the ingest queue, the rest the alert queue.</summary>
    public string NaturalSourceOf(string dlq) => dlq == AlerterDlq ? IngestQueue : AlertQueue;

    /// <summary>
    /// Names that would mix two flows are refused at start: every list distinct, and no processing or
    /// heartbeat prefix under another (a janitor SCANs <c>{prefix}:*</c> and would reclaim the other
    /// service's in-flight items into its own source queue).
    /// </summary>
    public static IEnumerable<string> Validate(QueueNames o)
    {
        var named = new (string Variable, string Value)[]
        {
            ("INGEST_QUEUE_NAME", o.IngestQueue), ("ALERT_QUEUE_NAME", o.AlertQueue),
            ("ALERTER_PROCESSING_LIST_PREFIX", o.AlerterProcessingPrefix), ("ALERTER_HEARTBEAT_PREFIX", o.AlerterHeartbeatPrefix),
            ("ALERTER_DLQ_NAME", o.AlerterDlq), ("MOOG_PROCESSING_LIST_PREFIX", o.MoogProcessingPrefix),
            ("MOOG_HEARTBEAT_PREFIX", o.MoogHeartbeatPrefix), ("MOOG_DLQ_NAME", o.MoogDlq), ("(poison queue)", o.PoisonQueue),
        };
        foreach (var (variable, value) in named.Where(n => string.IsNullOrWhiteSpace(n.Value)))
        {
            yield return $"{variable} must not be empty.";
        }
        foreach (var group in named.Where(n => !string.IsNullOrWhiteSpace(n.Value)).GroupBy(n => n.Value, StringComparer.Ordinal).Where(g => g.Count() > 1))
        {
            yield return $"{string.Join(" and ", group.Select(n => n.Variable))} are both '{group.Key}'; each must name its own key.";
        }
        var prefixes = named.Where(n => n.Variable.EndsWith("_PREFIX", StringComparison.Ordinal) && !string.IsNullOrWhiteSpace(n.Value)).ToArray();
        foreach (var outer in prefixes)
        {
            foreach (var inner in prefixes.Where(p => p != outer && p.Value.StartsWith(outer.Value + ":", StringComparison.Ordinal)))
            {
                yield return $"{inner.Variable} ('{inner.Value}') lies under {outer.Variable} ('{outer.Value}'): a janitor scanning {outer.Value}:* would take its keys.";
            }
        }
    }
}

public static class QueueNamesServiceCollectionExtensions
{
    /// <summary>Binds <see cref="QueueNames"/> from the flat configuration (environment variables) once, validated at start. Safe to call more than once.</summary>
    public static IServiceCollection AddQueueNames(this IServiceCollection services)
    {
        if (services.Any(d => d.ServiceType == typeof(QueueNames)))
        {
            return services;
        }
        services.AddOptions<QueueNames>().BindConfiguration("").ValidateOnStart();
        services.AddSingleton<IValidateOptions<QueueNames>, QueueNamesValidator>();
        services.TryAddSingleton(sp => sp.GetRequiredService<IOptions<QueueNames>>().Value);
        return services;
    }

    private sealed class QueueNamesValidator : IValidateOptions<QueueNames>
    {
        public ValidateOptionsResult Validate(string? name, QueueNames options) =>
            QueueNames.Validate(options).ToList() is { Count: > 0 } failures ? ValidateOptionsResult.Fail(failures) : ValidateOptionsResult.Success;
    }
}
