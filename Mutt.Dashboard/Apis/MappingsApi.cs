using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using Mutt.Core.Webhooks;
using Mutt.Dashboard.Data;
using Mutt.Dashboard.Services;

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
            g.MapPost("/webhook-mappings", CreateMapping).Named(v2, "CreateMapping").WithSummary("Create a webhook mapping (audited; Ingestors reload at once)");
            g.MapPut("/webhook-mappings/{name}", UpdateMapping).Named(v2, "UpdateMapping").WithSummary("Update a webhook mapping (audited)");
            g.MapDelete("/webhook-mappings/{name}", DeleteMapping).Named(v2, "DeleteMapping").WithSummary("Delete a webhook mapping (audited)");
            g.MapPost("/webhook-mappings/test", TestMapping).Named(v2, "TestMapping")
                .WithSummary("Show the MUTT events a sample body becomes under a mapping, or the fields that do not map");
        });
        return app;
    }

    private static async Task<Ok<List<WebhookMapping>>> ListMappings(MappingStore store, CancellationToken ct) => TypedResults.Ok(await store.ListAsync(ct));

    private static async Task<Results<Ok<WebhookMapping>, NotFound>> GetMapping(string name, MappingStore store, CancellationToken ct) =>
        await store.GetAsync(name, ct) is { } mapping ? TypedResults.Ok(mapping) : TypedResults.NotFound();

    private static async Task<IResult> CreateMapping(MappingRequest body, HttpContext context, MappingService mappings, CancellationToken ct) =>
        ManagementApi.ToResult(await mappings.CreateAsync(body.ToMapping(), ManagementApi.Change(context, body.Reason), ct),
            m => TypedResults.Created($"{ManagementApi.Prefix(context)}/webhook-mappings/{Uri.EscapeDataString(m.Name)}", m));

    private static async Task<IResult> UpdateMapping(string name, MappingRequest body, HttpContext context, MappingService mappings, CancellationToken ct) =>
        ManagementApi.ToResult(await mappings.UpdateAsync(name, body.ToMapping(), ManagementApi.Change(context, body.Reason), ct), TypedResults.Ok);

    private static async Task<IResult> DeleteMapping(string name, HttpContext context, MappingService mappings, CancellationToken ct) =>
        ManagementApi.ToResult(await mappings.DeleteAsync(name, ManagementApi.Change(context), ct), _ => TypedResults.NoContent());

    private static async Task<IResult> TestMapping(MappingTestRequest body, MappingService mappings, CancellationToken ct) =>
        ManagementApi.ToResult(await mappings.TestAsync((body.Mapping ?? new MappingRequest()).ToMapping(), body.Sample?.GetRawText(), ct), TypedResults.Ok);
}
