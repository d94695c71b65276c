using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;

namespace Mutt.Core.Secrets;

/// <summary>
/// Secrets from configuration (environment variables with the spec 004 names), for local runs
/// without Vault. Follows configuration reloads. Logs one warning when created.
/// </summary>
public sealed class ConfigurationSecretStore : SecretStoreBase, IDisposable
{
    private readonly IConfiguration _configuration;
    private readonly IDisposable? _reloadRegistration;

    public ConfigurationSecretStore(IConfiguration configuration, ILogger<ConfigurationSecretStore> logger)
    {
        _configuration = configuration;
        logger.LogWarning("VAULT_ADDR is not set: secrets are read from configuration/environment variables, not from Vault. Use this for local runs only.");
        Load();
        _reloadRegistration = ChangeToken.OnChange(configuration.GetReloadToken, Load);
    }

    public override Task RefreshAsync(CancellationToken cancellationToken = default)
    {
        Load();
        return Task.CompletedTask;
    }

    private void Load()
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in SecretNames.All)
        {
            var value = _configuration[name];
            if (!string.IsNullOrEmpty(value))
            {
                values[name] = value;
            }
        }
        Replace(values);
    }

    public void Dispose() => _reloadRegistration?.Dispose();
}
