using System.Diagnostics;
using Mutt.Alerter.Services;
using Mutt.Alerter.Audit;

namespace Mutt.Alerter.Processing;

/// <summary>
/// Writes a batch's audit rows before its completion transaction. An unreachable PostgreSQL is not
/// the events' fault: the batch waits in the processing list and the write is retried with backoff
/// until it works (or the worker stops). A row PostgreSQL refuses is retried alone so only its
/// event fails (retried or dead-lettered by the planner, in the same completion).
/// </summary>
public sealed class AuditBatchWriter(AuditWriter auditWriter, AlerterMetrics metrics, AlerterState state, int retryMaxMs, ILogger logger)
{
    private DateTime _lastDbErrorLog = DateTime.MinValue;

    /// <returns>False when stopping during a PostgreSQL outage: nothing was written.</returns>
    public async Task<bool> WriteAsync(BatchPlan plan, BatchPlanner planner, string processingKey, CancellationToken stoppingToken)
    {
        var delay = TimeSpan.FromMilliseconds(100);
        while (true)
        {
            try
            {
                var rows = plan.AuditRows.ToList();
                var started = Stopwatch.GetTimestamp();
                try
                {
                    await auditWriter.WriteAsync(rows);
                }
                catch (Exception ex) when (!AuditWriter.IsTransient(ex))
                {
                    logger.LogWarning(ex, "PostgreSQL refused the audit batch; writing its {Count} rows one by one", rows.Count);
                    await WriteRowsOneByOneAsync(plan, planner);
                }
                metrics.DbWriteLatency.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                if (!state.DatabaseAvailable)
                {
                    logger.LogInformation("PostgreSQL is reachable again; resuming consumption");
                }
                state.DatabaseAvailable = true;
                return true;
            }
            catch (Exception ex) when (AuditWriter.IsTransient(ex))
            {
                state.DatabaseAvailable = false;
                state.LastDatabaseError = ex.GetType().Name;
                if (DateTime.UtcNow - _lastDbErrorLog > TimeSpan.FromSeconds(10))
                {
                    _lastDbErrorLog = DateTime.UtcNow;
                    logger.LogError(ex, "PostgreSQL unavailable; consumption paused with {Count} items kept in {ProcessingList}", plan.Items.Count, processingKey);
                }
                try
                {
                    await Task.Delay(delay, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return false;
                }
                delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, retryMaxMs));
            }
        }
    }

    private async Task WriteRowsOneByOneAsync(BatchPlan plan, BatchPlanner planner)
    {
        foreach (var item in plan.Items)
        {
            if (item.Audit is null)
            {
                continue;
            }
            try
            {
                await auditWriter.WriteAsync([item.Audit]);
            }
            catch (Exception ex) when (!AuditWriter.IsTransient(ex))
            {
                logger.LogWarning("Audit row refused for correlation id {CorrelationId}: {Error}", item.Audit.CorrelationId, ex.Message);
                plan.Remove(item);
                item.Audit = null;
                item.AlertJson = null;
                item.Alert = null;
                item.UnhandledHost = null;
                planner.Fail(plan, item.Raw, item.Event, "audit write refused: " + ex.Message);
            }
        }
    }
}
