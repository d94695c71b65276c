using System.Text.Json.Serialization;

namespace Mutt.MoogSink.Sink;

/// <summary>One event the sink accepted, as sent (raw JSON) plus when and in which request it arrived.</summary>
public sealed record RecordedEvent(long RequestId, DateTimeOffset ReceivedAt, string Signature, string RawJson);

/// <summary>One request the sink answered.</summary>
public sealed record RecordedRequest(
    [property: JsonPropertyName("id")] long Id,
    [property: JsonPropertyName("received_at")] DateTimeOffset ReceivedAt,
    [property: JsonPropertyName("status")] int Status,
    [property: JsonPropertyName("events")] int Events);

/// <summary>How the sink answers: normal (200), a fixed status (optionally with Retry-After), slowly, or by dropping the connection.</summary>
public sealed record SinkMode(int Status = 200, int? RetryAfter = null, int DelayMs = 0, bool Drop = false);

/// <summary>
/// The sink's memory. One lock guards everything: the hot path holds it only to append a
/// request's already-parsed events, so contention stays low even at tens of thousands of events/s.
/// </summary>
public sealed class SinkStore
{
    private readonly Lock _lock = new();
    private readonly List<RecordedEvent> _events = [];
    private readonly List<RecordedRequest> _requests = [];
    private readonly HashSet<string> _signatures = new(StringComparer.Ordinal);
    private readonly Dictionary<int, long> _byStatus = [];
    private long _nextRequestId;
    private long _inFlight;
    private long _peakInFlight;

    public volatile SinkMode Mode = new();

    public long NextRequestId() => Interlocked.Increment(ref _nextRequestId);

    /// <summary>A request arrived: counts it in flight (and the peak) until <see cref="RequestEnded"/>.</summary>
    public void RequestStarted()
    {
        var now = Interlocked.Increment(ref _inFlight);
        long peak;
        while (now > (peak = Interlocked.Read(ref _peakInFlight)) && Interlocked.CompareExchange(ref _peakInFlight, now, peak) != peak)
        {
        }
    }

    public void RequestEnded() => Interlocked.Decrement(ref _inFlight);

    public void RecordRequest(long id, int status, List<RecordedEvent>? accepted)
    {
        var now = DateTimeOffset.UtcNow;
        lock (_lock)
        {
            _requests.Add(new RecordedRequest(id, now, status, accepted?.Count ?? 0));
            _byStatus[status] = _byStatus.GetValueOrDefault(status) + 1;
            if (accepted is not null)
            {
                _events.AddRange(accepted);
                foreach (var e in accepted)
                {
                    _signatures.Add(e.Signature);
                }
            }
        }
    }

    public RecordedEvent[] Events(string? signature)
    {
        lock (_lock)
        {
            return signature is null ? [.. _events] : [.. _events.Where(e => e.Signature == signature)];
        }
    }

    public RecordedRequest[] Requests()
    {
        lock (_lock)
        {
            return [.. _requests];
        }
    }

    public SinkStats Stats()
    {
        lock (_lock)
        {
            return new SinkStats(_requests.Count, _events.Count, _signatures.Count,
                _byStatus.ToDictionary(kv => kv.Key.ToString(System.Globalization.CultureInfo.InvariantCulture), kv => kv.Value),
                Interlocked.Read(ref _peakInFlight));
        }
    }

    public void Reset()
    {
        lock (_lock)
        {
            _events.Clear();
            _requests.Clear();
            _signatures.Clear();
            _byStatus.Clear();
        }
        Interlocked.Exchange(ref _peakInFlight, Interlocked.Read(ref _inFlight));
    }
}

public sealed record SinkStats(
    [property: JsonPropertyName("requests")] long Requests,
    [property: JsonPropertyName("events")] long Events,
    [property: JsonPropertyName("distinct_signatures")] long DistinctSignatures,
    [property: JsonPropertyName("by_status")] Dictionary<string, long> ByStatus,
    [property: JsonPropertyName("peak_in_flight")] long PeakInFlight);
