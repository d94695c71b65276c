using System.Collections.Frozen;
using Mutt.Core.Configuration;
using Mutt.Core.Webhooks;

namespace Mutt.Ingestor.Webhooks;

/// <summary>
/// The active webhook mappings, compiled, swapped atomically on every successful load so a request
/// never waits for PostgreSQL: intake keeps working on the last good set while the database is away.
/// </summary>
public sealed class WebhookMappingCache(ILogger<WebhookMappingCache> logger)
{
    /// <summary>null until the first load succeeded.</summary>
    private volatile FrozenDictionary<string, MappedSource>? _current;

    public bool Loaded => _current is not null;
    public int Count => _current?.Count ?? 0;

    /// <summary>Why <see cref="Loaded"/> is false, for the 503's detail.</summary>
    public string NotLoadedReason { get; set; } = "The webhook mappings have not been loaded from PostgreSQL yet; retry shortly.";

    public bool TryGet(string name, out MappedSource source)
    {
        source = null!;
        return _current is { } current && current.TryGetValue(name, out source!);
    }

    /// <summary>Compiles and swaps in a new set; a mapping that does not compile is skipped and logged, the rest still load.</summary>
    public void Replace(IEnumerable<WebhookMapping> mappings)
    {
        var compiled = new Dictionary<string, MappedSource>(StringComparer.Ordinal);
        foreach (var mapping in mappings)
        {
            try
            {
                compiled[mapping.Name] = new MappedSource(mapping);
            }
            catch (ArgumentException ex)
            {
                logger.LogWarning("Webhook mapping {Name} is invalid and is not used: {Error}", mapping.Name, ex.Message);
            }
        }
        _current = compiled.ToFrozenDictionary(StringComparer.Ordinal);
    }
}

/// <summary>
/// Loads the mappings at start (retrying until PostgreSQL answers), at once when the Dashboard
/// publishes <c>webhook_mappings</c> (or <c>*</c>) on <c>mutt:config:updates</c>, and every
/// <c>cache_reload_interval</c> seconds (dynamic key, default 300), as the Alerter does its rules.
/// </summary>
public sealed class WebhookMappingCacheWorker(WebhookMappingCache cache, WebhookMappingStore store, DynamicConfig config,
    ILogger<WebhookMappingCacheWorker> logger) : BackgroundService
{
    /// <summary>What the Dashboard publishes on mutt:config:updates after a mapping change.</summary>
    public const string ChannelMessage = "webhook_mappings";
    private const long DefaultReloadSeconds = 300;

    private readonly SemaphoreSlim _wake = new(0, 1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        config.OnChange(key =>
        {
            if (key is ChannelMessage or "*")
            {
                try
                {
                    _wake.Release();
                }
                catch (SemaphoreFullException)
                {
                    // a reload is already pending
                }
            }
        });
        var retry = TimeSpan.FromMilliseconds(250);
        while (!stoppingToken.IsCancellationRequested && !await ReloadAsync("start", stoppingToken))
        {
            await WaitAsync(retry, stoppingToken);
            retry = TimeSpan.FromTicks(Math.Min(retry.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
        }
        while (!stoppingToken.IsCancellationRequested)
        {
            var seconds = await config.GetInt64Async(DynamicConfigKeys.CacheReloadInterval, DefaultReloadSeconds);
            var woken = await WaitAsync(TimeSpan.FromSeconds(Math.Max(1, seconds)), stoppingToken);
            if (!stoppingToken.IsCancellationRequested)
            {
                await ReloadAsync(woken ? "requested" : "interval", stoppingToken);
            }
        }
    }

    private async Task<bool> ReloadAsync(string reason, CancellationToken stoppingToken)
    {
        try
        {
            var mappings = await store.LoadActiveAsync(stoppingToken);
            cache.Replace(mappings);
            logger.LogInformation("Webhook mappings loaded ({Reason}): {Count} active", reason, cache.Count);
            return true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
        {
            // The Ingestor does not wait for the DbManager (intake must not depend on PostgreSQL): at start the
            // database or its role may not be there yet, which is expected and retried, so only a warning.
            logger.Log(reason == "start" ? LogLevel.Warning : LogLevel.Error,
                "Webhook mapping reload ({Reason}) failed; keeping the previous set: {Error}", reason, ex.Message);
            return false;
        }
    }

    private async Task<bool> WaitAsync(TimeSpan delay, CancellationToken stoppingToken)
    {
        try
        {
            return await _wake.WaitAsync(delay, stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
