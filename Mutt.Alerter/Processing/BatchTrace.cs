using System.Diagnostics;
using Mutt.Core.Events;
using Mutt.Core.Telemetry;

namespace Mutt.Alerter.Processing;

/// <summary>
/// The spans of one Alerter batch. A batch mixes events of many traces, so the batch span is a
/// root that links to each of them, and each event gets a span of its own in its trace (child of
/// its envelope's traceparent, linked back to the batch) with an audit child; the alert it
/// forwards carries that event span's context, so the Forwarder continues the same trace.
/// <see cref="Start"/> returns null when nothing listens to Mutt.Alerter (tracing off): the
/// planner then only copies each event's traceparent string into its alert, allocating nothing.
/// </summary>
public sealed class BatchTrace
{
    private readonly ActivityLink[] _toBatch;

    private BatchTrace(Activity batch)
    {
        Batch = batch;
        _toBatch = [new ActivityLink(batch.Context)];
    }

    public Activity Batch { get; }

    public static BatchTrace? Start(string queue, int count)
    {
        if (!MuttTracing.Alerter.HasListeners())
        {
            return null;
        }
        var current = Activity.Current;
        Activity.Current = null; // a root: the batch belongs to no single event's trace
        var batch = MuttTracing.Alerter.StartActivity(MuttTracing.Spans.AlerterBatch, ActivityKind.Consumer);
        Activity.Current = current;
        if (batch is null)
        {
            return null;
        }
        batch.SetTag(MuttTracing.Tags.MessagingSystem, "redis")
            .SetTag(MuttTracing.Tags.MessagingDestination, queue)
            .SetTag(MuttTracing.Tags.MessagingBatchCount, count);
        return new BatchTrace(batch);
    }

    /// <summary>The event's span, from the batch's take to its ack; null when its envelope has no sampled traceparent.</summary>
    public Activity? StartEvent(MuttEvent evt)
    {
        if (!MuttTracing.TryGetSampledContext(evt.TraceParent, out var parent))
        {
            return null;
        }
        Batch.AddLink(new ActivityLink(parent));
        var activity = MuttTracing.StartDetached(MuttTracing.Alerter, MuttTracing.Spans.AlerterEvent, ActivityKind.Consumer, parent,
            _toBatch, Batch.StartTimeUtc);
        activity?.SetTag(MuttTracing.Tags.CorrelationId, evt.CorrelationId);
        return activity;
    }

    /// <summary>Ends an event span at once (its item failed before the batch completed).</summary>
    public static void EndEvent(Activity activity, string outcome, string? error)
    {
        activity.SetTag(MuttTracing.Tags.Outcome, outcome);
        activity.SetStatus(ActivityStatusCode.Error, error);
        MuttTracing.StopDetached(activity);
    }

    /// <summary>An audit span under each event whose row the batch's COPY wrote (the COPY's own Npgsql span is under the batch).</summary>
    public void Audited(BatchPlan plan, DateTimeOffset started, DateTimeOffset ended)
    {
        foreach (var item in plan.Items)
        {
            if (item.Activity is not { } parent || item.Audit is null)
            {
                continue;
            }
            var audit = MuttTracing.StartDetached(MuttTracing.Alerter, MuttTracing.Spans.AlerterAudit, ActivityKind.Internal, parent.Context,
                _toBatch, started);
            if (audit is null)
            {
                continue;
            }
            audit.SetTag("db.system.name", "postgresql").SetTag("db.collection.name", "event_audit_log");
            audit.SetEndTime(ended.UtcDateTime);
            MuttTracing.StopDetached(audit);
        }
    }

    /// <summary>
    /// Runs a batch's completion under its batch span (the audit COPY and the Redis transaction
    /// become its children), ending its spans whatever happens. Without a trace it just runs.
    /// </summary>
    public static async Task RunAsync(BatchTrace? trace, BatchPlan? plan, Func<Task> complete, Func<bool> committed)
    {
        if (trace is null)
        {
            await complete();
            return;
        }
        Activity.Current = trace.Batch; // local to this async method: the caller's own is untouched
        Exception? error = null;
        try
        {
            await complete();
        }
        catch (Exception ex)
        {
            error = ex;
            throw;
        }
        finally
        {
            trace.End(plan, committed(), error);
        }
    }

    /// <summary>Ends every event span with its outcome, then the batch span.</summary>
    public void End(BatchPlan? plan, bool committed, Exception? error)
    {
        foreach (var item in plan?.Items ?? [])
        {
            if (item.Activity is not { } activity)
            {
                continue;
            }
            activity.SetTag(MuttTracing.Tags.Outcome, !committed ? "returned"
                : item.Audit is null ? "failed"
                : item.AlertJson is not null ? "alert"
                : item.UnhandledHost is not null ? "unhandled" : "handled");
            if (!committed || item.Audit is null)
            {
                activity.SetStatus(ActivityStatusCode.Error, error?.GetType().Name);
            }
            MuttTracing.StopDetached(activity);
        }
        if (error is not null)
        {
            Batch.SetStatus(ActivityStatusCode.Error, error.GetType().Name);
        }
        MuttTracing.StopDetached(Batch);
    }
}
