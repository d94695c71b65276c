using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Mutt.Core.Secrets;
using Mutt.Tests.Integration;

namespace Mutt.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class SecretStoreTests
{
    [Fact]
    public void Without_VAULT_ADDR_secrets_come_from_configuration_with_exactly_one_warning()
    {
        var logs = new CapturingLoggerProvider();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["INGEST_API_KEY"] = "config-ingest-key",
            ["REDIS_PASS_CURRENT"] = "config-redis-pass",
        }).Build();
        var services = new ServiceCollection().AddLogging(b => b.AddProvider(logs)).AddMuttSecrets(configuration);
        services.AddMuttSecrets(configuration); // idempotent
        using var provider = services.BuildServiceProvider();

        var store = provider.GetRequiredService<ISecretStore>();
        Assert.IsType<ConfigurationSecretStore>(store);
        Assert.Equal("config-ingest-key", store.Get(SecretNames.IngestApiKey));
        Assert.Equal("config-redis-pass", store.Get(SecretNames.RedisPassCurrent));
        Assert.Null(store.Get(SecretNames.RedisPassNext));
        _ = provider.GetRequiredService<ISecretStore>();
        var warnings = logs.Lines.Where(l => l.StartsWith("Warning", StringComparison.Ordinal)).ToList();
        Assert.Single(warnings);
        Assert.Contains("VAULT_ADDR", warnings[0]);
        Assert.DoesNotContain("config-ingest-key", string.Join("\n", logs.Lines));
    }

    [Fact]
    public void Configuration_reload_updates_values_and_fires_the_change_token()
    {
        var source = new Dictionary<string, string?> { ["WEBUI_API_KEY"] = "first-webui-key" };
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(source).Build();
        using var store = new ConfigurationSecretStore(configuration, new CapturingLoggerProvider().Logger<ConfigurationSecretStore>());
        var fired = false;
        store.GetChangeToken().RegisterChangeCallback(_ => fired = true, null);

        configuration["WEBUI_API_KEY"] = "second-webui-key";
        configuration.Reload();

        Assert.Equal("second-webui-key", store.Get(SecretNames.WebUiApiKey));
        Assert.True(fired);
    }

    [Fact]
    public void Vault_options_follow_spec_defaults_and_split_the_kv_path()
    {
        var options = VaultOptions.FromConfiguration(new ConfigurationBuilder().Build());
        Assert.False(options.Enabled);
        Assert.Equal("/etc/mutt/secrets/vault_secret_id", options.SecretIdFile);
        Assert.Equal(TimeSpan.FromSeconds(3600), options.RenewThreshold);
        Assert.Equal(TimeSpan.FromSeconds(300), options.RenewCheckInterval);
        Assert.Equal("secret", options.KvMount);
        Assert.Equal("mutt", options.KvPath);

        var custom = VaultOptions.FromConfiguration(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["VAULT_ADDR"] = "https://vault.example:8200",
            ["VAULT_SECRETS_PATH"] = "kv/teams/mutt/prod",
            ["VAULT_TOKEN_RENEW_THRESHOLD"] = "120",
        }).Build());
        Assert.True(custom.Enabled);
        Assert.Equal("kv", custom.KvMount);
        Assert.Equal("teams/mutt/prod", custom.KvPath);
        Assert.Equal(TimeSpan.FromSeconds(120), custom.RenewThreshold);
    }
}
