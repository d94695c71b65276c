using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Mutt.Core.Redis;
using Mutt.Core.Secrets;
using StackExchange.Redis;

namespace Mutt.Core.Clients;

/// <summary>Redis TLS settings: REDIS_TLS_ENABLED, REDIS_CA_CERT_PATH, REDIS_CLIENT_CERT_PATH / REDIS_CLIENT_KEY_PATH (mutual TLS), REDIS_TLS_HOST (name to verify; default the endpoint host).</summary>
public sealed record RedisTlsSettings(bool Enabled, string? CaCertPath = null, string? ClientCertPath = null, string? ClientKeyPath = null, string? Host = null)
{
    public static RedisTlsSettings FromConfiguration(IConfiguration configuration, string connectionString) =>
        FromConfiguration(configuration, ConfigurationOptions.Parse(RedisConnectionStrings.ToStackExchange(connectionString)));

    public static RedisTlsSettings FromConfiguration(IConfiguration configuration, ConfigurationOptions options)
    {
        var host = options.EndPoints.FirstOrDefault() switch
        {
            DnsEndPoint dns => dns.Host,
            IPEndPoint ip => ip.Address.ToString(),
            _ => "localhost",
        };
        return new RedisTlsSettings(
            ClientSettings.TlsEnabled(configuration["REDIS_TLS_ENABLED"], host) || options.Ssl,
            ClientSettings.Value(configuration["REDIS_CA_CERT_PATH"]),
            ClientSettings.Value(configuration["REDIS_CLIENT_CERT_PATH"]),
            ClientSettings.Value(configuration["REDIS_CLIENT_KEY_PATH"]),
            ClientSettings.Value(configuration["REDIS_TLS_HOST"]) ?? (string.IsNullOrEmpty(options.SslHost) ? host : options.SslHost));
    }
}

/// <summary>
/// MUTT's rules for every Redis connection, applied to the <see cref="ConfigurationOptions"/> that
/// Aspire's client integration builds from <c>ConnectionStrings:redis</c>: ACL user (REDIS_USER),
/// password (REDIS_PASS_CURRENT, else REDIS_PASS_NEXT, else the connection string's), TLS with a
/// custom CA and client certificates, and timeouts that ride out a failover. The same options serve
/// a standalone server and Sentinel (the library uses them for the Sentinels and for the master).
/// <para>
/// Password rotation: StackExchange.Redis keeps a reference to the options it was given and reads
/// <see cref="ConfigurationOptions.Password"/> again on every reconnect. When a (re)connect is refused
/// for authentication, the other candidate is put in place, so the next attempt succeeds; when the
/// secret store changes, the active candidate's new value is put in place.
/// </para>
/// </summary>
public sealed class RedisConnectionRules : IDisposable
{
    private readonly IConfiguration _configuration;
    private readonly ISecretStore _secrets;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly List<IDisposable> _subscriptions = [];
    private X509Certificate2? _ca;
    private X509Certificate2? _clientCertificate;
    // The connection string's own password: options.Password holds a candidate's after Apply.
    private string? _fallbackPassword;

    public RedisConnectionRules(IConfiguration configuration, ISecretStore secrets, ILogger<RedisConnectionRules> logger)
    {
        _configuration = configuration;
        _secrets = secrets;
        _logger = logger;
    }

    /// <summary>How many times a refused authentication made MUTT switch password (tests, operators).</summary>
    public int PasswordSwitches { get; private set; }

    /// <summary>The candidate in use by the last options touched: "current", "next" or "connection-string".</summary>
    public string ActivePassword { get; private set; } = "connection-string";

    /// <summary>The options the shared multiplexer was built from (the last ones <see cref="Apply"/> saw).</summary>
    public ConfigurationOptions? SharedOptions { get; private set; }

    /// <summary>Applies MUTT's settings to options parsed from the connection string.</summary>
    public void Apply(ConfigurationOptions options)
    {
        SharedOptions = options;
        options.AbortOnConnectFail = false;
        options.ConnectRetry = Math.Max(options.ConnectRetry, 5);
        options.ConnectTimeout = Math.Max(options.ConnectTimeout, 5000);
        options.SyncTimeout = Math.Max(options.SyncTimeout, 5000);
        options.AsyncTimeout = Math.Max(options.AsyncTimeout, 5000);
        if (ClientSettings.Value(_configuration["REDIS_USER"]) is { } user)
        {
            options.User = user;
        }
        lock (_gate)
        {
            _fallbackPassword ??= options.Password;
        }
        var candidates = Candidates();
        options.Password = candidates[0].Password;
        ActivePassword = candidates[0].Name;

        var tls = RedisTlsSettings.FromConfiguration(_configuration, options);
        if (!tls.Enabled)
        {
            return;
        }
        lock (_gate)
        {
            if (tls.CaCertPath is not null)
            {
                _ca ??= CertificateTrust.LoadCertificate(tls.CaCertPath);
            }
            if (tls.ClientCertPath is not null)
            {
                _clientCertificate ??= CertificateTrust.LoadCertificateWithKey(tls.ClientCertPath,
                    tls.ClientKeyPath ?? throw new InvalidOperationException("REDIS_CLIENT_KEY_PATH is required with REDIS_CLIENT_CERT_PATH."));
            }
        }
        options.Ssl = true;
        options.SslHost = tls.Host;
        var ca = _ca;
        var caPath = tls.CaCertPath;
        options.CertificateValidation += (_, certificate, _, errors) => ValidateServerCertificate(certificate, errors, ca, caPath);
        if (_clientCertificate is { } client)
        {
            options.CertificateSelection += (_, _, _, _, _) => client;
        }
    }

    /// <summary>
    /// Follows password rotation for <paramref name="multiplexer"/>, created from <paramref name="options"/>
    /// (and, where a failover can move the primary, keeps its primary true: <see cref="RedisPrimaryGuard"/>).
    /// StackExchange.Redis reports only the first failure of a broken connection (usually "socket
    /// closed"), not each refused AUTH of its reconnect attempts; so while the multiplexer stays
    /// disconnected for over a second, a side connection tries the candidates and, when another one
    /// works, it becomes the password of the next reconnect. A secret change takes effect at once.
    /// </summary>
    public void Attach(ConfigurationOptions options, IConnectionMultiplexer multiplexer)
    {
        var watch = new PasswordWatch(this, options, multiplexer);
        var secrets = ChangeToken.OnChange(_secrets.GetChangeToken, () => Switch(options, null));
        lock (_gate)
        {
            _subscriptions.Add(watch);
            _subscriptions.Add(secrets);
            if (RedisPrimaryGuard.IsNeeded(options))
            {
                _subscriptions.Add(new RedisPrimaryGuard(multiplexer, _logger));
            }
        }
    }

    private sealed class PasswordWatch : IDisposable
    {
        private readonly RedisConnectionRules _rules;
        private readonly ConfigurationOptions _options;
        private readonly IConnectionMultiplexer _multiplexer;
        private readonly Timer _timer;
        private long _disconnectedSince = long.MaxValue;
        private int _probing;

        public PasswordWatch(RedisConnectionRules rules, ConfigurationOptions options, IConnectionMultiplexer multiplexer)
        {
            _rules = rules;
            _options = options;
            _multiplexer = multiplexer;
            _timer = new Timer(_ => _ = CheckAsync(), null, TimeSpan.FromMilliseconds(500), TimeSpan.FromMilliseconds(500));
        }

        private async Task CheckAsync()
        {
            if (_multiplexer.IsConnected)
            {
                Volatile.Write(ref _disconnectedSince, long.MaxValue);
                return;
            }
            var now = Environment.TickCount64;
            if (Interlocked.CompareExchange(ref _disconnectedSince, now, long.MaxValue) == long.MaxValue
                || now - Volatile.Read(ref _disconnectedSince) < 1000 || Interlocked.Exchange(ref _probing, 1) == 1)
            {
                return;
            }
            try
            {
                foreach (var (name, password) in _rules.Candidates())
                {
                    var probe = _options.Clone();
                    probe.Password = password;
                    probe.AbortOnConnectFail = true;
                    probe.ConnectRetry = 1;
                    probe.ConnectTimeout = 2000;
                    probe.ClientName = "mutt-auth-probe";
                    try
                    {
                        await using var side = await ConnectionMultiplexer.ConnectAsync(probe).ConfigureAwait(false);
                        await side.GetDatabase().PingAsync().ConfigureAwait(false);
                    }
                    catch (RedisException ex) when (IsPasswordRefused(ex))
                    {
                        continue;
                    }
                    catch (Exception ex) when (RedisFaults.IsTransient(ex))
                    {
                        return; // server down or TLS refused: not a password matter; the multiplexer keeps retrying
                    }
                    _rules.Switch(_options, (name, password));
                    return;
                }
                _rules._logger.LogError("Redis refused every configured password (REDIS_PASS_CURRENT/REDIS_PASS_NEXT)");
            }
            finally
            {
                Volatile.Write(ref _probing, 0);
            }
        }

        public void Dispose() => _timer.Dispose();
    }

    /// <summary>The passwords to try, in order: CURRENT, NEXT (secret store), else the connection string's.</summary>
    private List<(string Name, string? Password)> Candidates()
    {
        var list = new List<(string Name, string? Password)>();
        var current = _secrets.Get(SecretNames.RedisPassCurrent);
        var next = _secrets.Get(SecretNames.RedisPassNext);
        if (current is not null)
        {
            list.Add(("current", current));
        }
        if (next is not null && next != current)
        {
            list.Add(("next", next));
        }
        if (list.Count == 0)
        {
            list.Add(("connection-string", _fallbackPassword));
        }
        return list;
    }

    /// <summary>Puts <paramref name="working"/> in place (a probe proved it), or after a secret change the active candidate's new value.</summary>
    private void Switch(ConfigurationOptions options, (string Name, string? Password)? working)
    {
        lock (_gate)
        {
            var candidates = Candidates();
            var active = candidates.FindIndex(c => c.Name == ActivePassword);
            var chosen = working ?? (active >= 0 ? candidates[active] : candidates[0]);
            if (chosen.Password != options.Password)
            {
                options.Password = chosen.Password;
                ActivePassword = chosen.Name;
                if (working is not null)
                {
                    PasswordSwitches++;
                }
                _logger.LogWarning("Redis client: next reconnect authenticates with the {Candidate} password ({Reason})",
                    chosen.Name, working is not null ? "the active one was refused" : "secrets changed");
            }
        }
    }

    private bool ValidateServerCertificate(X509Certificate? certificate, SslPolicyErrors errors, X509Certificate2? ca, string? caPath)
    {
        if (certificate is null)
        {
            _logger.LogError("Redis TLS: the server sent no certificate; connection refused");
            return false;
        }
        if (ca is null)
        {
            if (errors == SslPolicyErrors.None)
            {
                return true;
            }
            _logger.LogError("Redis TLS: server certificate refused by the system trust store ({Errors}); set REDIS_CA_CERT_PATH to the CA that signed it", errors);
            return false;
        }
        using var leaf = new X509Certificate2(certificate);
        if (CertificateTrust.ChainsTo(leaf, ca, errors & ~SslPolicyErrors.RemoteCertificateChainErrors, out var reason))
        {
            return true;
        }
        _logger.LogError("Redis TLS: server certificate REFUSED: {Reason} (REDIS_CA_CERT_PATH={CaPath})", reason, caPath);
        return false;
    }

    /// <summary>Redis refused the password (WRONGPASS, NOAUTH, invalid password), as opposed to a TLS handshake failure.</summary>
    public static bool IsPasswordRefused(Exception exception)
    {
        for (var ex = exception; ex is not null; ex = ex.InnerException)
        {
            if (ex is System.Security.Authentication.AuthenticationException)
            {
                return false; // TLS handshake, not AUTH
            }
        }
        for (var ex = exception; ex is not null; ex = ex.InnerException)
        {
            var message = ex.Message;
            if (message.Contains("NOAUTH", StringComparison.Ordinal) || message.Contains("WRONGPASS", StringComparison.Ordinal)
                || message.Contains("invalid password", StringComparison.OrdinalIgnoreCase)
                || message.Contains("invalid username-password", StringComparison.OrdinalIgnoreCase)
                || message.Contains("Verify if the Redis password provided is correct", StringComparison.Ordinal))
            {
                return true;
            }
        }
        return false;
    }

    public void Dispose()
    {
        lock (_gate)
        {
            foreach (var subscription in _subscriptions)
            {
                subscription.Dispose();
            }
            _subscriptions.Clear();
        }
    }
}

/// <summary>
/// More multiplexers to the same Redis as the shared one (same TLS, user, passwords, Sentinel
/// following), for a path that must not share its connection: <c>WAIT</c> blocks the connection it
/// is sent on. Owns what it creates and closes it with the container.
/// </summary>
public sealed class RedisConnectionFactory(IConnectionMultiplexer shared, RedisConnectionRules rules) : IAsyncDisposable
{
    private readonly List<ConnectionMultiplexer> _owned = [];

    /// <summary>A multiplexer of its own named <paramref name="clientName"/>, whose command timeouts are at least <paramref name="minimumTimeout"/>.</summary>
    public IConnectionMultiplexer CreateDedicated(string clientName, TimeSpan minimumTimeout)
    {
        _ = shared; // built first, so its options are known
        var options = (rules.SharedOptions ?? throw new InvalidOperationException("The shared Redis options were never configured.")).Clone();
        var timeout = Math.Max(5000, (int)Math.Ceiling(minimumTimeout.TotalMilliseconds));
        options.ClientName = clientName;
        options.SyncTimeout = Math.Max(options.SyncTimeout, timeout);
        options.AsyncTimeout = Math.Max(options.AsyncTimeout, timeout);
        var multiplexer = ConnectionMultiplexer.Connect(options);
        rules.Attach(options, multiplexer);
        lock (_owned)
        {
            _owned.Add(multiplexer);
        }
        return multiplexer;
    }

    public async ValueTask DisposeAsync()
    {
        ConnectionMultiplexer[] owned;
        lock (_owned)
        {
            owned = [.. _owned];
            _owned.Clear();
        }
        foreach (var multiplexer in owned)
        {
            await multiplexer.DisposeAsync().ConfigureAwait(false);
        }
    }
}

/// <summary>Attaches <see cref="RedisConnectionRules"/> to the shared multiplexer at start.</summary>
internal sealed class RedisRulesActivator(IConnectionMultiplexer multiplexer, RedisConnectionRules rules) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        rules.Attach(rules.SharedOptions ?? throw new InvalidOperationException("The shared Redis options were never configured."), multiplexer);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>Which server is the primary now (<c>redis_master</c> in /health): operators and tests check it after a failover.</summary>
internal sealed class RedisTopologyHealthCheck(IConnectionMultiplexer multiplexer) : IHealthCheck
{
    public const string InfoTag = Mutt.Core.Hosting.MuttHealthResponse.InfoTag;

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        // The server the library routes a write to now (no round trip). Reading IsReplica off the server
        // list instead could name a restarted old master whose role the library has not re-read yet.
        var primary = multiplexer.GetDatabase().IdentifyEndpoint(flags: CommandFlags.DemandMaster);
        var data = new Dictionary<string, object>();
        if (primary is not null && multiplexer.GetServer(primary) is { IsConnected: true, IsReplica: false })
        {
            data["redis_master"] = Format(primary);
        }
        return Task.FromResult(HealthCheckResult.Healthy(data: data));
    }

    internal static string Format(EndPoint endpoint) => endpoint switch
    {
        IPEndPoint ip => $"{ip.Address}:{ip.Port}",
        DnsEndPoint dns => $"{dns.Host}:{dns.Port}",
        _ => endpoint.ToString() ?? "",
    };
}

/// <summary>Shared parsing helpers of the client settings.</summary>
public static class ClientSettings
{
    /// <summary>TLS is used when the variable says so; unset means on (spec default) except for loopback hosts, where local runs have no certificates.</summary>
    public static bool TlsEnabled(string? value, string host) =>
        bool.TryParse(value, out var enabled) ? enabled : !IsLoopback(host);

    public static bool IsLoopback(string host) =>
        host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || (IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip));

    public static string? Value(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
