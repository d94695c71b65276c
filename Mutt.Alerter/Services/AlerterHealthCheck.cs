using Microsoft.Extensions.Diagnostics.HealthChecks;
using Mutt.Alerter.Processing;
using Mutt.Alerter.Rules;

namespace Mutt.Alerter.Services;

/// <summary>The worker's own view for /health: queue depths, and whether it is consuming or paused (rules not loaded, PostgreSQL gone).</summary>
public sealed class AlerterHealthCheck(AlerterState state, AlerterMetrics metrics, RuleCache rules) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object>
        {
            ["queue_depth"] = metrics.IngestQueueDepth,
            ["alert_queue_depth"] = metrics.AlertQueueDepth,
            ["processing_list_depth"] = metrics.ProcessingListDepth,
            ["dlq_depth"] = metrics.DlqDepth,
            ["rules_count"] = metrics.RulesCount,
        };
        if (!rules.Loaded)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy("The rule cache has not loaded yet.", data: data));
        }
        if (!state.DatabaseAvailable)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy($"Paused: PostgreSQL unavailable ({state.LastDatabaseError}).", data: data));
        }
        return Task.FromResult(HealthCheckResult.Healthy(data: data));
    }
}

/// <summary>What /health reports about the worker.</summary>
public sealed class AlerterState
{
    public volatile bool DatabaseAvailable = true;
    public volatile bool Consuming;
    public string? LastDatabaseError { get; set; }
}
