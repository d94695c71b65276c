using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Mutt.Ingestor.Ingest;
using Mutt.Ingestor.Webhooks;

namespace Mutt.Ingestor.Apis;

/// <summary>
/// Webhooks as their senders send them: Prometheus Alertmanager, Grafana unified alerting, and any
/// JSON source through a named mapping. Same key check (X-API-KEY, Bearer or Basic), backpressure,
/// limits and all-or-nothing 202 as <c>/api/v2/ingest</c> (<see cref="IngestPipeline"/>).
/// </summary>
public static class WebhookApi
{
    public static IEndpointRouteBuilder MapWebhookApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v2/ingest").WithTags("Webhooks");
        group.MapPost("/alertmanager", AlertmanagerAsync).WithName("IngestAlertmanager")
            .WithSummary("Accept a Prometheus Alertmanager webhook notification (payload version 4): one event per alert");
        group.MapPost("/grafana", GrafanaAsync).WithName("IngestGrafana")
            .WithSummary("Accept a Grafana unified alerting webhook notification: one event per alert");
        group.MapPost("/mapped/{source}", MappedAsync).WithName("IngestMapped")
            .WithSummary("Accept a JSON body (an object or an array) through the named webhook mapping");
        return app;
    }

    public static Task<Results<Accepted<IngestAccepted>, ValidationProblem, ProblemHttpResult>> AlertmanagerAsync(
        HttpContext context, IngestPipeline pipeline, IOptions<WebhookOptions> options) =>
        pipeline.AcceptAsync(context, AlertWebhookFormat.Alertmanager.Source,
            body => AlertWebhookParser.Parse(body, AlertWebhookFormat.Alertmanager, options.Value.HostnameLabels()));

    public static Task<Results<Accepted<IngestAccepted>, ValidationProblem, ProblemHttpResult>> GrafanaAsync(
        HttpContext context, IngestPipeline pipeline, IOptions<WebhookOptions> options) =>
        pipeline.AcceptAsync(context, AlertWebhookFormat.Grafana.Source,
            body => AlertWebhookParser.Parse(body, AlertWebhookFormat.Grafana, options.Value.HostnameLabels()));

    /// <summary>The mapping is looked up only after the key check: an unauthenticated caller learns nothing about which exist.</summary>
    public static Task<Results<Accepted<IngestAccepted>, ValidationProblem, ProblemHttpResult>> MappedAsync(
        string source, HttpContext context, IngestPipeline pipeline, WebhookMappingCache mappings) =>
        pipeline.AcceptAsync(context, "mapped", body =>
            !mappings.Loaded ? new ParsedBatch { Outcome = BatchOutcome.Unavailable, Detail = mappings.NotLoadedReason }
            : mappings.TryGet(source, out var mapping) ? MappedSourceParser.Parse(body, mapping)
            : new ParsedBatch { Outcome = BatchOutcome.UnknownSource, Detail = $"No active webhook mapping is named '{source}'; operators create mappings in the Dashboard (Webhook mappings)." });
}
