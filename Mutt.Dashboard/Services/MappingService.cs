using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Mutt.Core.Events;
using Mutt.Core.Webhooks;
using Mutt.Dashboard.Data;

namespace Mutt.Dashboard.Services;

/// <summary>What the mapping tester shows: the queue items a sample body becomes (as the Ingestor writes them), or the 400's field errors; and what the rules would do.</summary>
public sealed record MappingTestResult(
    [property: JsonPropertyName("accepted")] bool Accepted,
    [property: JsonPropertyName("events")] IReadOnlyList<JsonObject> Events,
    [property: JsonPropertyName("errors")] IReadOnlyDictionary<string, string[]> Errors,
    [property: JsonPropertyName("rules")] IReadOnlyList<RuleTestResult> Rules);

/// <summary>
/// Webhook mappings: created, changed and deleted with a config_audit_log row in the same transaction,
/// then published on <c>mutt:config:updates</c> as <c>webhook_mappings</c> so every Ingestor reloads.
/// The tester runs Mutt.Core's <see cref="MappedSource"/> and <see cref="WebhookEventWriter"/>, the
/// Ingestor's own code, and the rules through the Alerter's matcher.
/// </summary>
public sealed class MappingService(ManagementService management, RuleTester rules)
{
    /// <summary>The message the Ingestors' mapping caches reload on (WebhookMappingCacheWorker.ChannelMessage).</summary>
    public const string ChannelMessage = "webhook_mappings";
    public const string Table = "webhook_mappings";

    public Task<ChangeResult<WebhookMapping>> CreateAsync(WebhookMapping mapping, ChangeContext change, CancellationToken ct = default) =>
        management.WriteAsync("mapping_create", ChannelMessage, change, async conn =>
        {
            mapping = Normalize(mapping);
            if (WebhookMappingValidator.Validate(mapping) is { Count: > 0 } errors)
            {
                return new ChangeResult<WebhookMapping>(ChangeStatus.Invalid, Errors: errors);
            }
            if (await MappingStore.GetAsync(conn, mapping.Name, ct) is not null)
            {
                return new(ChangeStatus.Conflict);
            }
            var created = await MappingStore.InsertAsync(conn, mapping, ct);
            await ConfigAuditStore.WriteAsync(conn, change, "CREATE", Table, created.Name, null, created, ct);
            return new(ChangeStatus.Ok, created);
        }, ct);

    public Task<ChangeResult<WebhookMapping>> UpdateAsync(string name, WebhookMapping mapping, ChangeContext change, CancellationToken ct = default) =>
        management.WriteAsync("mapping_update", ChannelMessage, change, async conn =>
        {
            mapping = Normalize(mapping with { Name = name });
            if (WebhookMappingValidator.Validate(mapping) is { Count: > 0 } errors)
            {
                return new ChangeResult<WebhookMapping>(ChangeStatus.Invalid, Errors: errors);
            }
            var old = await MappingStore.GetAsync(conn, name, ct);
            if (old is null)
            {
                return new(ChangeStatus.NotFound);
            }
            var updated = await MappingStore.UpdateAsync(conn, mapping, ct);
            await ConfigAuditStore.WriteAsync(conn, change, "UPDATE", Table, name, old, updated, ct);
            return new(ChangeStatus.Ok, updated);
        }, ct);

    public Task<ChangeResult<WebhookMapping>> DeleteAsync(string name, ChangeContext change, CancellationToken ct = default) =>
        management.WriteAsync("mapping_delete", ChannelMessage, change, async conn =>
        {
            var old = await MappingStore.GetAsync(conn, name, ct);
            if (old is null || !await MappingStore.DeleteAsync(conn, name, ct))
            {
                return new ChangeResult<WebhookMapping>(ChangeStatus.NotFound);
            }
            await ConfigAuditStore.WriteAsync(conn, change, "DELETE", Table, name, old, null, ct);
            return new(ChangeStatus.Ok, old);
        }, ct);

    /// <summary>
    /// The events <paramref name="sampleJson"/> (an object or an array) becomes under <paramref name="mapping"/>, as
    /// the Ingestor would enqueue them (correlation ids and received_at are this test's), or the errors it would answer 400 with.
    /// </summary>
    public async Task<ChangeResult<MappingTestResult>> TestAsync(WebhookMapping mapping, string? sampleJson, CancellationToken ct = default)
    {
        mapping = Normalize(mapping);
        if (WebhookMappingValidator.Validate(mapping) is { Count: > 0 } invalid)
        {
            return new(ChangeStatus.Invalid, Errors: invalid);
        }
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(sampleJson ?? "", new JsonDocumentOptions { MaxDepth = 32 });
        }
        catch (JsonException ex)
        {
            return ChangeResult<MappingTestResult>.Invalid("sample", "The sample is not JSON: " + ex.Message);
        }
        using (document)
        {
            var source = new MappedSource(mapping);
            var received = Mutt.Core.Events.EnvelopeWriter.FormatReceivedAt(DateTimeOffset.UtcNow);
            var errors = new Dictionary<string, string[]>();
            var mapped = new List<WebhookEvent>();
            var root = document.RootElement;
            var items = root.ValueKind == JsonValueKind.Array ? root.EnumerateArray().ToList() : [root];
            for (var i = 0; i < items.Count; i++)
            {
                if (source.Map(items[i], root.ValueKind == JsonValueKind.Array ? $"[{i}]." : "", received, errors) is { } e)
                {
                    mapped.Add(e);
                }
            }
            if (errors.Count > 0 || mapped.Count == 0)
            {
                return new(ChangeStatus.Ok, new MappingTestResult(false, [], errors.Count > 0 ? errors : new() { ["$"] = ["the batch is empty"] }, []));
            }
            var output = new ArrayBufferWriter<byte>();
            using var writer = new Utf8JsonWriter(output);
            var events = new List<JsonObject>();
            var outcomes = new List<RuleTestResult>();
            foreach (var e in mapped)
            {
                var bytes = WebhookEventWriter.Write(e, "test-" + Guid.NewGuid().ToString("N")[..12], received, null, output, writer);
                events.Add(JsonNode.Parse(bytes)!.AsObject());
                outcomes.Add(await rules.TestAsync(JsonSerializer.Deserialize(bytes, MuttJsonContext.Default.MuttEvent)!, ct));
            }
            return new(ChangeStatus.Ok, new MappingTestResult(true, events, errors, outcomes));
        }
    }

    private static WebhookMapping Normalize(WebhookMapping m) => m with
    {
        Name = (m.Name ?? "").Trim(),
        Description = Blank(m.Description),
        HostnamePath = (m.HostnamePath ?? "").Trim(),
        MessagePath = (m.MessagePath ?? "").Trim(),
        SeverityPath = Blank(m.SeverityPath),
        TimestampPath = Blank(m.TimestampPath),
        TrapOidPath = Blank(m.TrapOidPath),
        StableKeyPath = Blank(m.StableKeyPath),
        LabelsPath = Blank(m.LabelsPath),
        StatusPath = Blank(m.StatusPath),
        ResolvedValues = (m.ResolvedValues ?? []).Select(v => v.Trim()).ToList(),
        SeverityMap = m.SeverityMap ?? [],
    };

    private static string? Blank(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();
}
