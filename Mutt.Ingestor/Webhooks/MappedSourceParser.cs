using System.Text.Json;
using Mutt.Core.Webhooks;
using Mutt.Ingestor.Ingest;

namespace Mutt.Ingestor.Webhooks;

/// <summary>
/// A mapped source's body (one JSON object, or an array of them) through its <see cref="MappedSource"/>:
/// one event per object, all-or-nothing, each unmappable field named (<c>hostname</c>, or <c>[3].hostname</c> in an array).
/// </summary>
public static class MappedSourceParser
{
    public static ParsedBatch Parse(IngestBody body, MappedSource source)
    {
        using var document = WebhookBatchBuilder.ParseDocument(body, out var refused);
        if (document is null)
        {
            return refused!;
        }
        var root = document.RootElement;
        using var builder = new WebhookBatchBuilder(body);
        if (root.ValueKind == JsonValueKind.Array)
        {
            var count = root.GetArrayLength();
            if (count == 0)
            {
                return WebhookBatchBuilder.Refuse("$", "the batch is empty");
            }
            if (count > body.Limits.MaxBatchSize)
            {
                return WebhookBatchBuilder.TooMany(count, body.Limits.MaxBatchSize);
            }
            var index = 0;
            foreach (var item in root.EnumerateArray())
            {
                Add(builder, source.Map(item, $"[{index}].", builder.ReceivedText, builder.Errors), "", index);
                index++;
            }
        }
        else
        {
            Add(builder, source.Map(root, "", builder.ReceivedText, builder.Errors), null, 0);
        }
        return builder.Finish($"'{source.Name}'");
    }

    private static void Add(WebhookBatchBuilder builder, WebhookEvent? e, string? array, int index)
    {
        if (e is not null)
        {
            builder.Add(e, array, index);
        }
    }
}
