using System.ComponentModel.DataAnnotations;
using Mutt.Core.Events;

namespace Mutt.Ingestor.Ingest;

/// <summary>Ingestor settings, bound from flat configuration keys (spec 004 environment variables).</summary>
public sealed class IngestOptions
{
    public string? INGEST_API_KEY { get; set; }
    /// <summary>Development only: accept REST requests without a key. Without it an empty INGEST_API_KEY refuses every request (fail closed).</summary>
    public bool INGEST_AUTH_DISABLED { get; set; }
    /// <summary>Replicas that must confirm a request's LPUSH (Redis WAIT) before the 202; 0 = do not wait.</summary>
    [Range(0, 100)] public int INGEST_WAIT_REPLICAS { get; set; }
    [Range(1, 60_000)] public int INGEST_WAIT_TIMEOUT_MS { get; set; } = 1000;
    public string REQUIRED_MESSAGE_FIELDS { get; set; } = "timestamp,message,hostname";
    [Range(1, long.MaxValue)] public long MAX_INGEST_QUEUE_SIZE { get; set; } = 1_000_000;
    [Range(1, int.MaxValue)] public int INGEST_MAX_BODY_BYTES { get; set; } = 10 * 1024 * 1024;
    [Range(1, 1000)] public int INGEST_MAX_JSON_DEPTH { get; set; } = 32;
    [Range(1, 1_000_000)] public int INGEST_MAX_BATCH_SIZE { get; set; } = 10_000;
    [Range(1, 3600)] public int INGEST_RETRY_AFTER_SECONDS { get; set; } = 5;
    [Range(10, 60_000)] public int INGEST_QUEUE_DEPTH_SAMPLE_MS { get; set; } = 250;

    private BatchLimits? _limits;

    public string[] RequiredFields() =>
        REQUIRED_MESSAGE_FIELDS.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>Built once: options do not change after start, and this is on every request's path.</summary>
    public BatchLimits Limits(EventLimits? events = null) => _limits ??= new BatchLimits(RequiredFields(), INGEST_MAX_JSON_DEPTH, INGEST_MAX_BATCH_SIZE, events);
}
