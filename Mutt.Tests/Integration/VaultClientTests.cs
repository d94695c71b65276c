using System.Net;
using Microsoft.Extensions.Logging;
using Mutt.Core.Secrets;
using Mutt.Tests.Infrastructure;

namespace Mutt.Tests.Integration;

/// <summary>The Vault client against <see cref="VaultApiStandIn"/>, which follows Vault's documented HTTP API.</summary>
[Trait("Category", "Integration")]
public sealed class VaultClientTests : IAsyncLifetime
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "mutt-vault-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly CapturingLoggerProvider _logs = new();
    private VaultApiStandIn _vault = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_folder);
        _vault = await VaultApiStandIn.StartAsync();
        _vault.SetSecret(SecretNames.IngestApiKey, "ingest-key-" + Guid.NewGuid().ToString("N"));
        _vault.SetSecret(SecretNames.WebUiApiKey, "webui-key-" + Guid.NewGuid().ToString("N"));
        _vault.SetSecret(SecretNames.RedisPassCurrent, "redis-pass-" + Guid.NewGuid().ToString("N"));
    }

    public async Task DisposeAsync()
    {
        await _vault.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }

    private VaultOptions Options(Action<VaultOptions>? change = null)
    {
        var secretIdFile = Path.Combine(_folder, "vault_secret_id");
        File.WriteAllText(secretIdFile, _vault.SecretId + "\n");
        var options = new VaultOptions
        {
            Address = _vault.Address,
            RoleId = _vault.RoleId,
            SecretIdFile = secretIdFile,
            RenewThreshold = TimeSpan.FromMinutes(10),
        };
        change?.Invoke(options);
        return options;
    }

    private VaultClient Client(VaultOptions options) =>
        new(SecretsServiceCollectionExtensions.CreateHttpClient(options), options, _logs.Logger<VaultClient>());

    [Fact]
    public async Task AppRole_login_then_kv2_read_returns_the_secrets()
    {
        var client = Client(Options());
        await client.LoginAsync();
        var secrets = await client.ReadSecretsAsync();

        Assert.Equal(1, _vault.Logins);
        Assert.Equal(_vault.Secrets[SecretNames.IngestApiKey], secrets[SecretNames.IngestApiKey]);
        Assert.Equal(_vault.Secrets[SecretNames.RedisPassCurrent], secrets[SecretNames.RedisPassCurrent]);
    }

    [Fact]
    public async Task Wrong_secret_id_is_refused_with_vaults_error_text()
    {
        var options = Options();
        File.WriteAllText(options.SecretIdFile, "not-the-secret-id");
        var ex = await Assert.ThrowsAsync<VaultException>(() => Client(options).LoginAsync());
        Assert.Equal(HttpStatusCode.BadRequest, ex.Status);
        Assert.Contains("invalid role or secret ID", ex.Message);
        Assert.DoesNotContain("not-the-secret-id", ex.Message);
    }

    [Fact]
    public async Task Kubernetes_login_posts_role_and_service_account_jwt()
    {
        var jwtFile = Path.Combine(_folder, "token");
        File.WriteAllText(jwtFile, _vault.KubernetesJwt);
        var client = Client(Options(o =>
        {
            o.AuthMethod = "kubernetes";
            o.KubernetesRole = _vault.KubernetesRole;
            o.KubernetesJwtPath = jwtFile;
        }));
        await client.LoginAsync();
        var secrets = await client.ReadSecretsAsync();
        Assert.Equal(_vault.Secrets[SecretNames.WebUiApiKey], secrets[SecretNames.WebUiApiKey]);
    }

    [Fact]
    public async Task Token_with_ttl_above_threshold_is_not_renewed()
    {
        var client = Client(Options());
        await client.LoginAsync();
        await client.EnsureTokenAsync();
        Assert.Equal(1, _vault.Lookups);
        Assert.Equal(0, _vault.Renewals);
        Assert.Equal(1, _vault.Logins);
    }

    [Fact]
    public async Task Token_with_ttl_below_threshold_is_renewed_with_renew_self()
    {
        var client = Client(Options());
        await client.LoginAsync();
        _vault.Now += TimeSpan.FromMinutes(55); // 5 min left, threshold 10 min
        await client.EnsureTokenAsync();
        Assert.Equal(1, _vault.Renewals);
        Assert.Equal(1, _vault.Logins);
        await client.ReadSecretsAsync(); // the renewed token still works
    }

    [Fact]
    public async Task Expired_token_leads_to_a_new_login()
    {
        var client = Client(Options());
        await client.LoginAsync();
        _vault.Now += TimeSpan.FromHours(2); // past the 1 h TTL: lookup-self answers 403
        await client.EnsureTokenAsync();
        Assert.Equal(2, _vault.Logins);
        Assert.NotEmpty(await client.ReadSecretsAsync());
    }

    [Fact]
    public async Task Failed_renewal_leads_to_a_new_login()
    {
        var client = Client(Options());
        await client.LoginAsync();
        _vault.RefuseRenewals = true;
        _vault.Now += TimeSpan.FromMinutes(55);
        await client.EnsureTokenAsync();
        Assert.Equal(0, _vault.Renewals);
        Assert.Equal(2, _vault.Logins);
    }

    [Fact]
    public async Task Non_renewable_token_near_expiry_leads_to_a_new_login()
    {
        _vault.TokensRenewable = false;
        var client = Client(Options());
        await client.LoginAsync();
        _vault.Now += TimeSpan.FromMinutes(55);
        await client.EnsureTokenAsync();
        Assert.Equal(2, _vault.Logins);
    }

    [Fact]
    public async Task Permission_denied_on_read_is_a_403_vault_exception()
    {
        _vault.PolicyAllowsRead = false;
        var client = Client(Options());
        await client.LoginAsync();
        var ex = await Assert.ThrowsAsync<VaultException>(() => client.ReadSecretsAsync());
        Assert.True(ex.IsPermissionDenied);
        Assert.Contains("permission denied", ex.Message);
    }

    [Fact]
    public async Task Sealed_vault_answers_503_and_the_store_keeps_the_last_secrets()
    {
        var options = Options();
        var client = Client(options);
        var store = new VaultSecretStore(client, _logs.Logger<VaultSecretStore>());
        store.EnsureLoaded();
        var key = store.Get(SecretNames.IngestApiKey);

        _vault.Sealed = true;
        var ex = await Assert.ThrowsAsync<VaultException>(() => store.RefreshAsync());
        Assert.True(ex.IsSealed);
        Assert.Contains("Vault is sealed", ex.Message);
        Assert.Equal(key, store.Get(SecretNames.IngestApiKey));
    }

    [Fact]
    public async Task Renewal_service_picks_up_a_rotated_key_and_fires_the_change_token()
    {
        var options = Options(o =>
        {
            o.RenewCheckInterval = TimeSpan.FromMilliseconds(100);
            o.SecretsRefreshInterval = TimeSpan.FromMilliseconds(100);
        });
        var store = new VaultSecretStore(Client(options), _logs.Logger<VaultSecretStore>());
        store.EnsureLoaded();
        var changed = 0;
        store.GetChangeToken().RegisterChangeCallback(_ => Interlocked.Increment(ref changed), null);
        using var service = new VaultRenewalService(store, options, _logs.Logger<VaultRenewalService>());
        await service.StartAsync(CancellationToken.None);
        try
        {
            var rotated = "rotated-ingest-" + Guid.NewGuid().ToString("N");
            _vault.SetSecret(SecretNames.IngestApiKey, rotated);
            await Eventually.WaitForAsync(() => Task.FromResult(store.Get(SecretNames.IngestApiKey) == rotated), TimeSpan.FromSeconds(30), "rotated key in the store");
            Assert.Equal(1, Volatile.Read(ref changed));

            // the service also re-logs in after the token is revoked, without help
            _vault.RevokeAll();
            var logins = _vault.Logins;
            await Eventually.WaitForAsync(() => Task.FromResult(_vault.Logins > logins), TimeSpan.FromSeconds(30), "re-login after revocation");
        }
        finally
        {
            await service.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task Tokens_secret_ids_and_secret_values_never_appear_in_logs_or_exceptions()
    {
        var options = Options(o =>
        {
            o.RenewCheckInterval = TimeSpan.FromMilliseconds(50);
            o.SecretsRefreshInterval = TimeSpan.FromMilliseconds(50);
        });
        var store = new VaultSecretStore(Client(options), _logs.Logger<VaultSecretStore>());
        store.EnsureLoaded();
        using var service = new VaultRenewalService(store, options, _logs.Logger<VaultRenewalService>());
        await service.StartAsync(CancellationToken.None);
        var messages = new List<string>();
        try
        {
            _vault.Now += TimeSpan.FromMinutes(55); // renewals
            await Eventually.WaitForAsync(() => Task.FromResult(_vault.Renewals > 0), TimeSpan.FromSeconds(30), "a renewal");
            _vault.RevokeAll(); // re-logins
            _vault.SetSecret(SecretNames.MoogApiKey, "moog-key-" + Guid.NewGuid().ToString("N"));
            await Eventually.WaitForAsync(() => Task.FromResult(store.Get(SecretNames.MoogApiKey) is not null), TimeSpan.FromSeconds(30), "moog key");
            _vault.PolicyAllowsRead = false;
            messages.Add((await Assert.ThrowsAsync<VaultException>(() => store.RefreshAsync())).ToString());
            _vault.Sealed = true;
            messages.Add((await Assert.ThrowsAsync<VaultException>(() => store.RefreshAsync())).ToString());
            await Eventually.WaitForAsync(() => Task.FromResult(_logs.Lines.Any(l => l.Contains("sealed: True", StringComparison.Ordinal))), TimeSpan.FromSeconds(30), "sealed logged");
        }
        finally
        {
            await service.StopAsync(CancellationToken.None);
        }

        var secrets = new Dictionary<string, string> { ["secret_id"] = _vault.SecretId };
        foreach (var (name, value) in _vault.Secrets)
        {
            secrets[name] = value;
        }
        foreach (var token in _vault.IssuedTokens)
        {
            secrets["token " + token[..8]] = token;
        }
        Assert.True(_vault.IssuedTokens.Count >= 2);
        var scanner = new SecretScanner(secrets);
        Assert.NotEmpty(_logs.Lines);
        Assert.Empty(scanner.Scan(_logs.Lines, "log"));
        Assert.Empty(scanner.Scan(messages, "exception"));
    }
}
