using System.Buffers;
using System.Diagnostics;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Mutt.Core.Events;
using Mutt.Core.Telemetry;
using Mutt.Ingestor.Ingest;
using StackExchange.Redis;

namespace Mutt.Ingestor.Apis;

public sealed record IngestAccepted(
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("count")] int Count,
    [property: JsonPropertyName("correlation_ids")] IReadOnlyList<string> CorrelationIds);

[JsonSerializable(typeof(IngestAccepted))]
public sealed partial class IngestApiJsonContext : JsonSerializerContext;

public static class IngestApi
{
    public static IEndpointRouteBuilder MapIngestApi(this IEndpointRouteBuilder app)
    {
        // One handler, three routes: /api/v1/ingest and /webhook are aliases kept for the seed's clients.
        foreach (var (route, name) in new[] { ("/api/v2/ingest", "IngestV2"), ("/api/v1/ingest", "IngestV1"), ("/webhook", "Webhook") })
        {
            app.MapPost(route, IngestAsync)
                .WithName(name)
                .WithSummary("Accept one event, a JSON array of events, or NDJSON onto the ingest queue")
                .WithTags("Ingest");
        }
        return app;
    }

    /// <summary>The REST body: one object, an array, or NDJSON of MUTT events.</summary>
    public static Task<Results<Accepted<IngestAccepted>, ValidationProblem, ProblemHttpResult>> IngestAsync(HttpContext context, IngestPipeline pipeline) =>
        pipeline.AcceptAsync(context, "rest", body => EventBatchParser.Parse(body.Body, body.IsNdjson, body.Limits, body.HeaderCorrelationId, body.ReceivedAt, body.TraceParent));
}
