using Microsoft.Extensions.Logging;

namespace Mutt.Core.Secrets;

/// <summary>
/// Secrets read from Vault KV v2. The first read happens on first use (services need their
/// passwords before they connect); <see cref="VaultRenewalService"/> keeps the token alive and
/// re-reads the secret periodically, firing the change token when a value changed.
/// </summary>
public sealed class VaultSecretStore(VaultClient client, ILogger<VaultSecretStore> logger) : SecretStoreBase
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private volatile bool _loaded;

    public VaultClient Client => client;

    /// <summary>Logs in and reads the secrets once, blocking; called before the first connection is made.</summary>
    public void EnsureLoaded()
    {
        if (!_loaded)
        {
            Task.Run(() => RefreshAsync()).GetAwaiter().GetResult();
        }
    }

    public override async Task RefreshAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!client.HasToken)
            {
                await client.LoginAsync(cancellationToken).ConfigureAwait(false);
            }
            IReadOnlyDictionary<string, string> values;
            try
            {
                values = await client.ReadSecretsAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (VaultException ex) when (ex.IsPermissionDenied)
            {
                // the token may have expired between checks: one fresh login, then one more read
                await client.LoginAsync(cancellationToken).ConfigureAwait(false);
                values = await client.ReadSecretsAsync(cancellationToken).ConfigureAwait(false);
            }
            var changed = Replace(values);
            _loaded = true;
            if (changed.Count > 0)
            {
                // names only, never values
                logger.LogInformation("Vault secrets loaded; changed: {SecretNames}", string.Join(", ", changed));
            }
        }
        finally
        {
            _gate.Release();
        }
    }
}
