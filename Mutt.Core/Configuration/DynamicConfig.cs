using System.Collections.Concurrent;
using System.Globalization;
using Mutt.Core.Redis;
using StackExchange.Redis;

namespace Mutt.Core.Configuration;

/// <summary>
/// Reads dynamic configuration from Redis (<c>mutt:config:{key}</c>) with a short local cache,
/// invalidated at once by a message on <c>mutt:config:updates</c> (the payload is the key name,
/// or <c>*</c> for all). Readers never block on Redis for a cached key; a Redis error falls back
/// to the last value seen, then to the default given by the caller.
/// </summary>
public sealed class DynamicConfig
{
    private readonly IConnectionMultiplexer _redis;
    private readonly TimeSpan _ttl;
    private readonly ConcurrentDictionary<string, (string? Value, DateTime FetchedAt)> _cache = new();
    private readonly List<Action<string>> _callbacks = [];

    public DynamicConfig(IConnectionMultiplexer redis, TimeSpan? cacheTtl = null)
    {
        _redis = redis;
        _ttl = cacheTtl ?? TimeSpan.FromSeconds(5);
        // Fire-and-forget: registered now, sent when Redis is reachable and renewed on every reconnect;
        // a start while Redis is down must not block or fail here.
        _redis.GetSubscriber().Subscribe(RedisChannel.Literal(MuttKeys.ConfigUpdatesChannel), (channel, message) =>
        {
            var key = (string?)message ?? "*";
            if (key == "*")
            {
                _cache.Clear();
            }
            else
            {
                _cache.TryRemove(key, out _);
            }
            Action<string>[] callbacks;
            lock (_callbacks)
            {
                callbacks = [.. _callbacks];
            }
            foreach (var callback in callbacks)
            {
                callback(key);
            }
        }, CommandFlags.FireAndForget);
    }

    /// <summary>Registers a callback run (on a Redis thread) with the key name whenever a change is published.</summary>
    public void OnChange(Action<string> callback)
    {
        lock (_callbacks)
        {
            _callbacks.Add(callback);
        }
    }

    public async ValueTask<string?> GetStringAsync(string key)
    {
        if (_cache.TryGetValue(key, out var cached) && DateTime.UtcNow - cached.FetchedAt < _ttl)
        {
            return cached.Value;
        }
        try
        {
            var value = (string?)await _redis.GetDatabase().StringGetAsync(MuttKeys.Config(key)).ConfigureAwait(false);
            _cache[key] = (value, DateTime.UtcNow);
            return value;
        }
        catch (Exception ex) when (RedisFaults.IsTransient(ex))
        {
            return cached.Value;
        }
    }

    public async ValueTask<long> GetInt64Async(string key, long fallback)
    {
        var raw = await GetStringAsync(key).ConfigureAwait(false);
        return long.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : fallback;
    }

    public async ValueTask<double> GetDoubleAsync(string key, double fallback)
    {
        var raw = await GetStringAsync(key).ConfigureAwait(false);
        return double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : fallback;
    }

    /// <summary>Sets a key and publishes the change so every service drops its cached value.</summary>
    public async Task SetAsync(string key, string value)
    {
        var db = _redis.GetDatabase();
        await db.StringSetAsync(MuttKeys.Config(key), value).ConfigureAwait(false);
        _cache.TryRemove(key, out _);
        await db.PublishAsync(RedisChannel.Literal(MuttKeys.ConfigUpdatesChannel), key).ConfigureAwait(false);
    }

    public async Task DeleteAsync(string key)
    {
        var db = _redis.GetDatabase();
        await db.KeyDeleteAsync(MuttKeys.Config(key)).ConfigureAwait(false);
        _cache.TryRemove(key, out _);
        await db.PublishAsync(RedisChannel.Literal(MuttKeys.ConfigUpdatesChannel), key).ConfigureAwait(false);
    }
}
