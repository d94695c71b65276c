using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using Mutt.Core.DeadLetters;
using Mutt.Core.Events;
using Mutt.Dashboard.DeadLetters;
using static Mutt.Dashboard.Apis.ApiResults;

using Mutt.Dashboard.Auth;

namespace Mutt.Dashboard.Apis;

public sealed record DeadLetterPage(
    [property: JsonPropertyName("queue")] string Queue,
    [property: JsonPropertyName("total")] long Total,
    [property: JsonPropertyName("items")] IReadOnlyList<DeadLetterItem> Items);

public sealed record ReplayResult([property: JsonPropertyName("replayed")] int Replayed);

/// <summary>The dead-letter queues by operator name (alerter, moog, poison): list, inspect, replay, delete.</summary>
public static class DeadLettersApi
{
    public static IEndpointRouteBuilder MapDeadLettersApi(this IEndpointRouteBuilder app)
    {
        app.MapVersioned("Dead letters", (g, v2) =>
        {
            g.MapGet("/dlq", Queues).Named(v2, "DlqQueues").WithSummary("The dead-letter queues and their depths");
            g.MapGet("/dlq/{queue}", ListDlq).Named(v2, "ListDlq").WithSummary("Entries of a dead-letter queue, oldest first");
            g.MapGet("/dlq/{queue}/{id}", GetDlq).Named(v2, "GetDlq").WithSummary("One dead letter with its replay history");
            g.MapPost("/dlq/{queue}/{id}/replay", ReplayDlq).Named(v2, "ReplayDlq").WithSummary("Replay one dead letter to its source queue").RequireOperator();
            g.MapPost("/dlq/{queue}/replay", ReplayAllDlq).Named(v2, "ReplayAllDlq").WithSummary("Replay every entry of a dead-letter queue").RequireOperator();
            g.MapDelete("/dlq/{queue}/{id}", DeleteDlq).Named(v2, "DeleteDlq").WithSummary("Delete one dead letter").RequireOperator();
        });
        return app;
    }

    public static async Task<Ok<IReadOnlyList<DeadLetterQueueInfo>>> Queues(DeadLetterOperations d) => TypedResults.Ok(await d.InfoAsync());

    public static async Task<Results<Ok<DeadLetterPage>, NotFound>> ListDlq(string queue, DeadLetterOperations d, int? offset, int? count)
    {
        if (!d.TryResolve(queue, out var key))
        {
            return TypedResults.NotFound();
        }
        var (total, items) = await d.PageAsync(key, Math.Max(0, offset ?? 0), Math.Clamp(count ?? 50, 1, 500));
        return TypedResults.Ok(new DeadLetterPage(queue, total, items));
    }

    /// <summary>The entry as stored, plus <c>replay_history</c>: every replay of its payload so far (kept across DLQ round trips).</summary>
    public static async Task<Results<Ok<JsonObject>, NotFound>> GetDlq(string queue, string id, DeadLetterOperations d)
    {
        if (!d.TryResolve(queue, out var key) || await d.FindAsync(key, id) is not { } entry)
        {
            return TypedResults.NotFound();
        }
        var json = JsonSerializer.SerializeToNode(entry.Letter, MuttJsonContext.Default.DeadLetter)!.AsObject();
        json["replay_history"] = JsonSerializer.SerializeToNode(await d.HistoryAsync(entry.Letter.Payload));
        return TypedResults.Ok(json);
    }

    public static async Task<Results<Ok<ReplayResult>, NotFound, ProblemHttpResult>> ReplayDlq(
        string queue, string id, HttpContext context, DeadLetterOperations d, ILogger<DeadLetterOperations> logger)
    {
        if (!d.TryResolve(queue, out var key))
        {
            return TypedResults.NotFound();
        }
        var outcome = await d.ReplayAsync(key, id, Change(context).ChangedBy);
        logger.LogInformation("Manual replay of dead letter {Id} from {Queue}: {Outcome}", id, key, outcome);
        return outcome switch
        {
            ReplayOutcome.Replayed => TypedResults.Ok(new ReplayResult(1)),
            ReplayOutcome.CircuitOpen => CircuitOpen(d, 0),
            _ => TypedResults.NotFound(),
        };
    }

    public static async Task<Results<Ok<ReplayResult>, NotFound, ProblemHttpResult>> ReplayAllDlq(
        string queue, HttpContext context, DeadLetterOperations d, ILogger<DeadLetterOperations> logger)
    {
        if (!d.TryResolve(queue, out var key))
        {
            return TypedResults.NotFound();
        }
        var replayed = await d.ReplayAllAsync(key, Change(context).ChangedBy);
        logger.LogInformation("Manual replay of all of {Queue}: {Replayed} entries replayed", key, replayed);
        return await d.CountAsync(key) > 0 && await d.IsMoogCircuitOpenAsync() ? CircuitOpen(d, replayed) : TypedResults.Ok(new ReplayResult(replayed));
    }

    public static async Task<Results<NoContent, NotFound>> DeleteDlq(
        string queue, string id, HttpContext context, DeadLetterOperations d, ILogger<DeadLetterOperations> logger)
    {
        if (!d.TryResolve(queue, out var key) || !await d.DeleteAsync(key, id))
        {
            return TypedResults.NotFound();
        }
        logger.LogWarning("Deleted dead letter {Id} from {Queue} by {ChangedBy}", id, key, Change(context).ChangedBy);
        return TypedResults.NoContent();
    }

    private static ProblemHttpResult CircuitOpen(DeadLetterOperations d, int replayed) =>
        TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: DeadLetterQueues.CircuitOpenTitle, detail: d.CircuitOpenDetail(),
            extensions: new Dictionary<string, object?> { ["replayed"] = replayed });
}
