using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using Mutt.Core.Webhooks;
using Mutt.Dashboard.Auth;
using Mutt.Dashboard.Data;
using Mutt.Dashboard.Services;
using static Mutt.Dashboard.Apis.ApiResults;

namespace Mutt.Dashboard.Apis;

/// <summary>A mapping as the API takes it, with the change's reason.</summary>
public sealed record MappingRequest
{
    [JsonPropertyName("name")] public string? Name { get; init; }
    [JsonPropertyName("description")] public string? Description { get; init; }
    [JsonPropertyName("hostname_path")] public string? HostnamePath { get; init; }
    [JsonPropertyName("message_path")] public string? MessagePath { get; init; }
    [JsonPropertyName("severity_path")] public string? SeverityPath { get; init; }
    [JsonPropertyName("severity_map")] public Dictionary<string, int>? SeverityMap { get; init; }
    [JsonPropertyName("timestamp_path")] public string? TimestampPath { get; init; }
    [JsonPropertyName("trap_oid_path")] public string? TrapOidPath { get; init; }
    [JsonPropertyName("stable_key_path")] public string? StableKeyPath { get; init; }
    [JsonPropertyName("labels_path")] public string? LabelsPath { get; init; }
    [JsonPropertyName("status_path")] public string? StatusPath { get; init; }
    [JsonPropertyName("resolved_values")] public List<string>? ResolvedValues { get; init; }
    [JsonPropertyName("is_active")] public bool? IsActive { get; init; }
    [JsonPropertyName("reason")] public string? Reason { get; init; }

    public WebhookMapping ToMapping() => new()
    {
        Name = Name ?? "",
        Description = Description,
        HostnamePath = HostnamePath ?? "",
        MessagePath = MessagePath ?? "",
        SeverityPath = SeverityPath,
        SeverityMap = SeverityMap ?? [],
        TimestampPath = TimestampPath,
        TrapOidPath = TrapOidPath,
        StableKeyPath = StableKeyPath,
        LabelsPath = LabelsPath,
        StatusPath = StatusPath,
        ResolvedValues = ResolvedValues ?? [],
        IsActive = IsActive ?? true,
    };
}

/// <summary>The tester's input: a mapping (saved or not) and a sample body as the source would post it.</summary>
public sealed record MappingTestRequest(
    [property: JsonPropertyName("mapping")] MappingRequest? Mapping,
    [property: JsonPropertyName("sample")] System.Text.Json.JsonElement? Sample);

/// <summary>Webhook mappings for <c>POST /api/v2/ingest/mapped/{name}</c> on the Ingestor: CRUD (audited) and a tester.</summary>
public static class MappingsApi
{
    public static IEndpointRouteBuilder MapMappingsApi(this IEndpointRouteBuilder app)
    {
        app.MapVersioned("Webhook mappings", (g, v2) =>
        {
            g.MapGet("/webhook-mappings", ListMappings).Named(v2, "ListMappings").WithSummary("List the webhook mappings");
            g.MapGet("/webhook-mappings/{name}", GetMapping).Named(v2, "GetMapping").WithSummary("Get a webhook mapping");
            g.MapPost("/webhook-mappings", CreateMapping).Named(v2, "CreateMapping").WithSummary("Create a webhook mapping (audited; Ingestors reload at once)").RequireOperator();
            g.MapPut("/webhook-mappings/{name}", UpdateMapping).Named(v2, "UpdateMapping").WithSummary("Update a webhook mapping (audited)").RequireOperator();
            g.MapDelete("/webhook-mappings/{name}", DeleteMapping).Named(v2, "DeleteMapping").WithSummary("Delete a webhook mapping (audited)").RequireOperator();
            g.MapPost("/webhook-mappings/test", TestMapping).Named(v2, "TestMapping")
                .WithSummary("Show the MUTT events a sample body becomes under a mapping, or the fields that do not map");
        });
        return app;
    }

    // The tester changes nothing (like the rule tester), so the viewer floor is enough.
    public static async Task<Ok<List<WebhookMapping>>> ListMappings(MappingStore store, CancellationToken ct) => TypedResults.Ok(await store.ListAsync(ct));

    public static async Task<Results<Ok<WebhookMapping>, NotFound>> GetMapping(string name, MappingStore store, CancellationToken ct) =>
        await store.GetAsync(name, ct) is { } mapping ? TypedResults.Ok(mapping) : TypedResults.NotFound();

    public static async Task<Results<Created<WebhookMapping>, NotFound, ProblemHttpResult, ValidationProblem>> CreateMapping(
        MappingRequest body, HttpContext context, MappingService mappings, CancellationToken ct) =>
        ToResult(await mappings.CreateAsync(body.ToMapping(), Change(context, body.Reason), ct),
            m => TypedResults.Created($"{Prefix(context)}/webhook-mappings/{Uri.EscapeDataString(m.Name)}", m));

    public static async Task<Results<Ok<WebhookMapping>, NotFound, ProblemHttpResult, ValidationProblem>> UpdateMapping(
        string name, MappingRequest body, HttpContext context, MappingService mappings, CancellationToken ct) =>
        ToResult(await mappings.UpdateAsync(name, body.ToMapping(), Change(context, body.Reason), ct), TypedResults.Ok);

    public static async Task<Results<NoContent, NotFound, ProblemHttpResult, ValidationProblem>> DeleteMapping(
        string name, HttpContext context, MappingService mappings, CancellationToken ct) =>
        ToResult(await mappings.DeleteAsync(name, Change(context), ct), _ => TypedResults.NoContent());

    public static async Task<Results<Ok<MappingTestResult>, NotFound, ProblemHttpResult, ValidationProblem>> TestMapping(
        MappingTestRequest body, MappingService mappings, CancellationToken ct) =>
        ToResult(await mappings.TestAsync((body.Mapping ?? new MappingRequest()).ToMapping(), body.Sample?.GetRawText(), ct), TypedResults.Ok);
}
