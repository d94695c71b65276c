using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Mutt.Core.Secrets;

public static class SecretsServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="ISecretStore"/>: Vault (with <see cref="VaultRenewalService"/>) when
    /// VAULT_ADDR is set, else configuration with one warning at start. Safe to call more than once.
    /// </summary>
    public static IServiceCollection AddMuttSecrets(this IServiceCollection services, IConfiguration configuration)
    {
        if (services.Any(d => d.ServiceType == typeof(ISecretStore)))
        {
            return services;
        }
        var options = VaultOptions.FromConfiguration(configuration);
        if (!options.Enabled)
        {
            services.AddSingleton<ISecretStore>(sp => new ConfigurationSecretStore(configuration, sp.GetRequiredService<ILogger<ConfigurationSecretStore>>()));
            return services;
        }
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(options);
        services.AddSingleton(sp => new VaultClient(CreateHttpClient(options), options, sp.GetRequiredService<ILogger<VaultClient>>()));
        services.AddSingleton<VaultSecretStore>();
        services.AddSingleton<ISecretStore>(sp =>
        {
            var store = sp.GetRequiredService<VaultSecretStore>();
            store.EnsureLoaded();
            return store;
        });
        services.AddHostedService(sp => new VaultRenewalService(sp.GetRequiredService<VaultSecretStore>(), options,
            sp.GetRequiredService<ILogger<VaultRenewalService>>(), sp.GetRequiredService<TimeProvider>()));
        return services;
    }

    /// <summary>An HttpClient for Vault; with VAULT_CACERT the server certificate must chain to that CA.</summary>
    public static HttpClient CreateHttpClient(VaultOptions options)
    {
        var handler = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) };
        if (options.CaCertPath is not null)
        {
            var ca = CertificateTrust.LoadCertificate(options.CaCertPath);
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                certificate is not null && CertificateTrust.ChainsTo(new X509Certificate2(certificate), ca, errors & ~SslPolicyErrors.RemoteCertificateChainErrors, out _);
        }
        return new HttpClient(handler) { BaseAddress = options.Address, Timeout = TimeSpan.FromSeconds(30) };
    }
}
