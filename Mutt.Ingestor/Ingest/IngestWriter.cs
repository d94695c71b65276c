using Microsoft.Extensions.Options;
using Mutt.Core.Redis;
using StackExchange.Redis;

namespace Mutt.Ingestor.Ingest;

public enum PushOutcome
{
    Pushed,
    ReplicaTimeout,
}

/// <summary>
/// The REST write path: one variadic LPUSH per request and, with INGEST_WAIT_REPLICAS &gt; 0,
/// a Redis <c>WAIT n timeout</c> after it (docs/reliability.md, "durability decision").
/// WAIT blocks the connection it is sent on and covers every earlier write of that connection,
/// so with waiting on the pushes go through a multiplexer of their own: health checks, depth
/// samples and counters on the shared one are never queued behind a slow WAIT.
/// </summary>
public sealed class IngestWriter : IDisposable
{
    private readonly IConnectionMultiplexer _shared;
    private readonly Lazy<IConnectionMultiplexer>? _own;
    private readonly string _queue;
    private readonly int _replicas;
    private readonly TimeSpan _timeout;

    public IngestWriter(IConnectionMultiplexer shared, RedisConnectionFactory connections, IOptions<IngestOptions> options)
    {
        _shared = shared;
        var settings = options.Value;
        _queue = settings.INGEST_QUEUE_NAME;
        _replicas = settings.INGEST_WAIT_REPLICAS;
        _timeout = TimeSpan.FromMilliseconds(settings.INGEST_WAIT_TIMEOUT_MS);
        if (_replicas > 0)
        {
            // Same Redis, TLS, passwords and Sentinel following as the shared one; timeouts that outlast the WAIT timeout.
            _own = new Lazy<IConnectionMultiplexer>(() => connections.CreateDedicated("mutt-ingest-writer", _timeout + TimeSpan.FromSeconds(5)));
        }
    }

    public int Replicas => _replicas;

    public async Task<PushOutcome> PushAsync(RedisValue[] values)
    {
        if (_own is null)
        {
            await _shared.GetDatabase().ListLeftPushAsync(_queue, values).ConfigureAwait(false);
            return PushOutcome.Pushed;
        }
        var db = _own.Value.GetDatabase();
        await db.ListLeftPushAsync(_queue, values).ConfigureAwait(false);
        var confirmed = await SentinelConnectionManager.WaitForReplicasAsync(db, _replicas, _timeout).ConfigureAwait(false);
        return confirmed >= _replicas ? PushOutcome.Pushed : PushOutcome.ReplicaTimeout;
    }

    /// <summary>The dedicated multiplexer belongs to the <see cref="RedisConnectionFactory"/>, which closes it.</summary>
    public void Dispose()
    {
    }
}
