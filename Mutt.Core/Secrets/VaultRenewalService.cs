using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Mutt.Core.Secrets;

/// <summary>
/// Keeps the Vault token alive (TTL check every VAULT_RENEW_CHECK_INTERVAL, renew below
/// VAULT_TOKEN_RENEW_THRESHOLD, log in again when renewal fails) and re-reads the secrets every
/// VAULT_SECRETS_REFRESH_INTERVAL so rotated values reach the service without a restart.
/// A failed step is logged and retried on the next tick; the last good secrets stay in use.
/// </summary>
public sealed class VaultRenewalService(VaultSecretStore store, VaultOptions options, ILogger<VaultRenewalService> logger, TimeProvider? time = null) : BackgroundService
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var tick = options.RenewCheckInterval < options.SecretsRefreshInterval ? options.RenewCheckInterval : options.SecretsRefreshInterval;
        var nextTokenCheck = _time.GetUtcNow();
        var nextRefresh = _time.GetUtcNow();
        using var timer = new PeriodicTimer(tick, _time);
        do
        {
            var now = _time.GetUtcNow();
            if (now >= nextTokenCheck)
            {
                nextTokenCheck = now + options.RenewCheckInterval;
                await StepAsync("token check", () => store.Client.EnsureTokenAsync(stoppingToken)).ConfigureAwait(false);
            }
            if (now >= nextRefresh)
            {
                nextRefresh = now + options.SecretsRefreshInterval;
                await StepAsync("secret refresh", () => store.RefreshAsync(stoppingToken)).ConfigureAwait(false);
            }
        }
        while (await WaitAsync(timer, stoppingToken).ConfigureAwait(false));
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private async Task StepAsync(string what, Func<Task> step)
    {
        try
        {
            await step().ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        catch (VaultException ex)
        {
            logger.LogError("Vault {Step} failed: {Error} (sealed: {Sealed}); keeping the last secrets and retrying", what, ex.Message, ex.IsSealed);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or InvalidOperationException)
        {
            logger.LogError("Vault {Step} failed: {ErrorType}: {Error}; keeping the last secrets and retrying", what, ex.GetType().Name, ex.Message);
        }
    }
}
