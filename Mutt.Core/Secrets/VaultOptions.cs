using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace Mutt.Core.Secrets;

/// <summary>Vault connection settings, spec 004 "Vault Connection" names and defaults.</summary>
public sealed class VaultOptions
{
    public const string DefaultKubernetesJwtPath = "/var/run/secrets/kubernetes.io/serviceaccount/token";

    /// <summary>VAULT_ADDR, e.g. https://vault.example:8200. Null: Vault is not used.</summary>
    public Uri? Address { get; set; }

    /// <summary>VAULT_AUTH_METHOD: "approle" (default) or "kubernetes".</summary>
    public string AuthMethod { get; set; } = "approle";

    /// <summary>VAULT_ROLE_ID (AppRole).</summary>
    public string? RoleId { get; set; }

    /// <summary>VAULT_SECRET_ID_FILE (AppRole): the file holding the secret id; read at each login.</summary>
    public string SecretIdFile { get; set; } = "/etc/mutt/secrets/vault_secret_id";

    /// <summary>VAULT_APPROLE_MOUNT (default "approle").</summary>
    public string AppRoleMount { get; set; } = "approle";

    /// <summary>VAULT_K8S_ROLE (Kubernetes auth).</summary>
    public string? KubernetesRole { get; set; }

    /// <summary>VAULT_K8S_JWT_PATH: the service-account token file.</summary>
    public string KubernetesJwtPath { get; set; } = DefaultKubernetesJwtPath;

    /// <summary>VAULT_K8S_MOUNT (default "kubernetes").</summary>
    public string KubernetesMount { get; set; } = "kubernetes";

    /// <summary>VAULT_SECRETS_PATH: "mount/path" of the KV v2 secret, default secret/mutt.</summary>
    public string SecretsPath { get; set; } = "secret/mutt";

    /// <summary>VAULT_TOKEN_RENEW_THRESHOLD: renew when the token TTL is below this.</summary>
    public TimeSpan RenewThreshold { get; set; } = TimeSpan.FromSeconds(3600);

    /// <summary>VAULT_RENEW_CHECK_INTERVAL: how often the token TTL is checked.</summary>
    public TimeSpan RenewCheckInterval { get; set; } = TimeSpan.FromSeconds(300);

    /// <summary>VAULT_SECRETS_REFRESH_INTERVAL: how often the KV secret is re-read (picks up rotations).</summary>
    public TimeSpan SecretsRefreshInterval { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>VAULT_NAMESPACE (Vault Enterprise), sent as X-Vault-Namespace.</summary>
    public string? Namespace { get; set; }

    /// <summary>VAULT_CACERT: CA certificate (PEM) Vault's TLS certificate must chain to.</summary>
    public string? CaCertPath { get; set; }

    public bool Enabled => Address is not null;

    /// <summary>KV v2 mount: the first segment of <see cref="SecretsPath"/>.</summary>
    public string KvMount => SplitPath().Mount;

    /// <summary>Path inside the KV v2 mount.</summary>
    public string KvPath => SplitPath().Path;

    private (string Mount, string Path) SplitPath()
    {
        var trimmed = SecretsPath.Trim('/');
        var slash = trimmed.IndexOf('/', StringComparison.Ordinal);
        return slash < 0 ? (trimmed, "") : (trimmed[..slash], trimmed[(slash + 1)..]);
    }

    public static VaultOptions FromConfiguration(IConfiguration configuration)
    {
        var options = new VaultOptions();
        var address = configuration["VAULT_ADDR"];
        if (!string.IsNullOrWhiteSpace(address))
        {
            options.Address = new Uri(address.TrimEnd('/') + "/");
        }
        options.AuthMethod = Value(configuration, "VAULT_AUTH_METHOD") ?? options.AuthMethod;
        options.RoleId = Value(configuration, "VAULT_ROLE_ID");
        options.SecretIdFile = Value(configuration, "VAULT_SECRET_ID_FILE") ?? options.SecretIdFile;
        options.AppRoleMount = Value(configuration, "VAULT_APPROLE_MOUNT") ?? options.AppRoleMount;
        options.KubernetesRole = Value(configuration, "VAULT_K8S_ROLE");
        options.KubernetesJwtPath = Value(configuration, "VAULT_K8S_JWT_PATH") ?? options.KubernetesJwtPath;
        options.KubernetesMount = Value(configuration, "VAULT_K8S_MOUNT") ?? options.KubernetesMount;
        options.SecretsPath = Value(configuration, "VAULT_SECRETS_PATH") ?? options.SecretsPath;
        options.RenewThreshold = Seconds(configuration, "VAULT_TOKEN_RENEW_THRESHOLD") ?? options.RenewThreshold;
        options.RenewCheckInterval = Seconds(configuration, "VAULT_RENEW_CHECK_INTERVAL") ?? options.RenewCheckInterval;
        options.SecretsRefreshInterval = Seconds(configuration, "VAULT_SECRETS_REFRESH_INTERVAL") ?? options.SecretsRefreshInterval;
        options.Namespace = Value(configuration, "VAULT_NAMESPACE");
        options.CaCertPath = Value(configuration, "VAULT_CACERT");
        return options;
    }

    private static string? Value(IConfiguration configuration, string key) =>
        string.IsNullOrWhiteSpace(configuration[key]) ? null : configuration[key]!.Trim();

    private static TimeSpan? Seconds(IConfiguration configuration, string key) =>
        Value(configuration, key) is { } text
            ? TimeSpan.FromSeconds(double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture))
            : null;
}
