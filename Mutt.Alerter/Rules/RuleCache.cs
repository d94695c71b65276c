using System.Runtime.InteropServices;
using Microsoft.Extensions.Options;
using Mutt.Alerter.Processing;
using Mutt.Core.Configuration;
using Mutt.Core.Noise;
using Mutt.Core.Rules;

namespace Mutt.Alerter.Rules;

/// <summary>
/// The current compiled <see cref="RuleSet"/>, swapped atomically on every successful reload so
/// matching never locks. A failed reload keeps the previous set and is counted.
/// </summary>
public sealed class RuleCache(RuleStore store, IOptions<AlerterOptions> options, AlerterMetrics metrics, ILogger<RuleCache> logger)
{
    private readonly TaskCompletionSource _firstLoad = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile Snapshot _snapshot = new(RuleSet.Empty, NoiseRules.Empty);

    /// <summary>The alert rules and the noise rules of one load, swapped together.</summary>
    private sealed record Snapshot(RuleSet Rules, NoiseRules Noise);

    public RuleSet Current => _snapshot.Rules;
    /// <summary>Maintenance windows and flapping rules, loaded in the same snapshot as <see cref="Current"/>.</summary>
    public NoiseRules Noise => _snapshot.Noise;
    public bool Loaded => _firstLoad.Task.IsCompleted;
    public DateTimeOffset? LastLoadedAt { get; private set; }

    /// <summary>Completes once the first load succeeded: the worker does not match against an empty cache.</summary>
    public Task WhenLoadedAsync(CancellationToken cancellationToken) => _firstLoad.Task.WaitAsync(cancellationToken);

    public async Task<bool> ReloadAsync(string reason, CancellationToken cancellationToken)
    {
        try
        {
            var data = await store.LoadAsync(cancellationToken);
            var compiled = data.Compile(options.Value.RegexTimeout);
            var noise = data.CompileNoise(options.Value.RegexTimeout);
            foreach (var (rule, error) in compiled.InvalidRules)
            {
                logger.LogWarning("Rule {RuleId} has an invalid regex and never matches: {Error}", rule.Id, error);
            }
            foreach (var (rule, error) in noise.Flapping.InvalidRules)
            {
                logger.LogWarning("Correlation rule {RuleId} has an invalid regex and never matches: {Error}", rule.Id, error);
            }
            _snapshot = new Snapshot(compiled, noise);
            metrics.RulesCount = compiled.RuleCount;
            metrics.DevHostsCount = compiled.DevHostCount;
            metrics.TeamsCount = compiled.TeamCount;
            LastLoadedAt = DateTimeOffset.UtcNow;
            _firstLoad.TrySetResult();
            logger.LogInformation("Rule cache loaded ({Reason}): {Rules} rules, {DevHosts} dev hosts, {Teams} team overrides, {Windows} maintenance windows, {Flapping} flapping rules",
                reason, compiled.RuleCount, compiled.DevHostCount, compiled.TeamCount, noise.Maintenance.Count, noise.Flapping.Count);
            return true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            metrics.CacheReloadFailures.Add(1);
            logger.LogError(ex, "Rule cache reload ({Reason}) failed; keeping the previous cache", reason);
            return false;
        }
    }
}

/// <summary>
/// Reloads the rule cache at start, every cache_reload_interval (dynamic key, else
/// CACHE_RELOAD_INTERVAL), on SIGHUP, and at once when anything is published on
/// mutt:config:updates (rule edits in the Dashboard publish there).
/// </summary>
public sealed class RuleCacheWorker(RuleCache cache, DynamicConfig config, IOptions<AlerterOptions> options, ILogger<RuleCacheWorker> logger) : BackgroundService
{
    private readonly SemaphoreSlim _wake = new(0, 1);

    public void RequestReload()
    {
        try
        {
            _wake.Release();
        }
        catch (SemaphoreFullException)
        {
            // A reload is already pending; one is enough.
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
        {
            context.Cancel = true; // SIGHUP means "reload", not "terminate"
            logger.LogInformation("SIGHUP received: reloading the rule cache");
            RequestReload();
        });
        config.OnChange(_ => RequestReload());

        // Until the first load succeeds (PostgreSQL may still be starting) retry quickly.
        var retry = TimeSpan.FromMilliseconds(250);
        while (!stoppingToken.IsCancellationRequested && !await cache.ReloadAsync("start", stoppingToken))
        {
            await WaitAsync(retry, stoppingToken);
            retry = TimeSpan.FromTicks(Math.Min(retry.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            var seconds = await config.GetInt64Async(DynamicConfigKeys.CacheReloadInterval, (long)Math.Ceiling(options.Value.CacheReloadInterval));
            var woken = await WaitAsync(TimeSpan.FromSeconds(Math.Max(1, seconds)), stoppingToken);
            if (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            await cache.ReloadAsync(woken ? "requested" : "interval", stoppingToken);
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
