using Mutt.Core.Redis;
using Microsoft.Extensions.Options;
using Mutt.Core.Clients;
using StackExchange.Redis;

namespace Mutt.Ingestor.Ingest;

public enum PushOutcome
{
    Pushed,
    /// <summary>The events are in Redis, but not confirmed on enough replicas in time (or not provably: the connection changed).</summary>
    ReplicaTimeout,
}

/// <summary>
/// The REST write path: one variadic LPUSH per request and, with INGEST_WAIT_REPLICAS &gt; 0,
/// a Redis <c>WAIT n timeout</c> after it (docs/reliability.md, "durability decision").
/// <para>
/// WAIT only covers the writes of the connection it is sent on, so a 202 is honest only when the
/// LPUSH and its WAIT went over one connection to one server. The four commands
/// <c>CLIENT ID</c>, <c>LPUSH</c>, <c>WAIT</c>, <c>CLIENT ID</c> are pipelined to the primary's
/// <see cref="IServer"/> (one endpoint, one interactive connection); if that connection breaks
/// in between, the later commands fail or the two ids differ, and the request is not confirmed.
/// A failover moves the primary: the old endpoint refuses the LPUSH (READONLY) or cannot reach
/// its replicas (WAIT gives 0): again no 202.
/// </para>
/// WAIT blocks the connection it is sent on, so with waiting on the pushes use a multiplexer of
/// their own: health checks, depth samples and counters on the shared one never queue behind it.
/// </summary>
public sealed class IngestWriter
{
    private readonly IConnectionMultiplexer _shared;
    private readonly Lazy<IConnectionMultiplexer>? _own;
    private readonly RedisKey _queue;
    private readonly int _replicas;
    private readonly TimeSpan _timeout;

    /// <summary>The list events are pushed onto (INGEST_QUEUE_NAME, through <see cref="QueueNames"/>).</summary>
    public string Queue => _queue!;

    public IngestWriter(IConnectionMultiplexer shared, RedisConnectionFactory connections, QueueNames names, IOptions<IngestOptions> options)
    {
        _shared = shared;
        var settings = options.Value;
        _queue = names.IngestQueue;
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
        return await DurablePushAsync(_own.Value, _queue, values, _replicas, _timeout).ConfigureAwait(false);
    }

    /// <summary>
    /// LPUSH without WAIT, on the shared multiplexer: for listener paths that give their sender no
    /// acknowledgement (plain TCP/UDP syslog, SNMP traps), where a WAIT would only slow the pusher.
    /// </summary>
    public async Task<PushOutcome> PushUnconfirmedAsync(RedisValue[] values)
    {
        await _shared.GetDatabase().ListLeftPushAsync(_queue, values).ConfigureAwait(false);
        return PushOutcome.Pushed;
    }

    /// <summary>LPUSH then WAIT over one connection to the primary; <see cref="PushOutcome.Pushed"/> only when provably so.</summary>
    public static async Task<PushOutcome> DurablePushAsync(IConnectionMultiplexer multiplexer, RedisKey queue, RedisValue[] values, int replicas, TimeSpan timeout)
    {
        var primary = multiplexer.GetServers().FirstOrDefault(s => s.IsConnected && !s.IsReplica)
            ?? throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, "No connected Redis primary.");
        var args = new object[values.Length + 1];
        args[0] = queue;
        for (var i = 0; i < values.Length; i++)
        {
            args[i + 1] = values[i];
        }
        // Pipelined: written together to the endpoint's one interactive connection, answered in order.
        var before = primary.ExecuteAsync("CLIENT", "ID");
        var push = primary.ExecuteAsync("LPUSH", args);
        var wait = primary.ExecuteAsync("WAIT", replicas, (long)timeout.TotalMilliseconds);
        var after = primary.ExecuteAsync("CLIENT", "ID");
        await Task.WhenAll(before, push, wait, after).ConfigureAwait(false);
        var sameConnection = (long)before.Result == (long)after.Result;
        return sameConnection && (long)wait.Result >= replicas ? PushOutcome.Pushed : PushOutcome.ReplicaTimeout;
    }
}
