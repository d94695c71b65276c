using System.Net;
using System.Net.Security;
using System.Reflection;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Mutt.Core.Redis;
using Mutt.Core.Secrets;
using Npgsql;
using StackExchange.Redis;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Client integrations with the names and configuration keys of Aspire's
/// (Aspire.StackExchange.Redis and Aspire.Npgsql are not available here): the connection
/// string comes from <c>ConnectionStrings:{name}</c>, exactly as an Aspire AppHost injects it.
/// On top: TLS (REDIS_TLS_*, DB_TLS_*), passwords from the <see cref="ISecretStore"/>
/// (REDIS_PASS_CURRENT/NEXT, DB_PASS_CURRENT/NEXT) with CURRENT-then-NEXT fallback. See docs/security.md.
/// A Redis connection string naming Sentinels (<c>sentinel=h:p,...;serviceName=...</c>) gets a
/// <see cref="SentinelMultiplexer"/> instead, which follows the master through failovers (docs/reliability.md).
/// </summary>
public static class ClientIntegrationExtensions
{
    public static IHostApplicationBuilder AddRedisClient(this IHostApplicationBuilder builder, string connectionName)
    {
        var connectionString = builder.Configuration.GetConnectionString(connectionName)
            ?? throw new InvalidOperationException($"ConnectionStrings:{connectionName} is not configured.");
        builder.Services.AddMuttSecrets(builder.Configuration);
        builder.Services.AddHealthChecks().AddCheck<RedisHealthCheck>("redis");
        var settings = builder.Configuration;
        builder.Services.AddSingleton(sp => new RedisConnectionFactory(connectionString, settings, sp.GetRequiredService<ISecretStore>(), sp.GetRequiredService<ILoggerFactory>()));
        if (SentinelOptions.IsSentinelConnectionString(connectionString))
        {
            // Parsed now so a malformed string stops the start with its reason (the message never echoes a password).
            var sentinel = SentinelOptions.Parse(connectionString);
            builder.Services.AddSingleton<IConnectionMultiplexer>(sp =>
            {
                // No password in the string: the master's requirepass may come from the secret store (Vault).
                sentinel.Password ??= sp.GetRequiredService<ISecretStore>().Get(SecretNames.RedisPassCurrent);
                return SentinelMultiplexer.Connect(sentinel, sp.GetRequiredService<ILogger<SentinelMultiplexer>>());
            });
            return builder;
        }
        var configuration = builder.Configuration;
        builder.Services.AddSingleton(sp => new RedisConnectionManager(connectionString, RedisTlsSettings.FromConfiguration(configuration, connectionString),
            sp.GetRequiredService<ISecretStore>(), sp.GetRequiredService<ILogger<RedisConnectionManager>>()));
        builder.Services.AddSingleton<IConnectionMultiplexer>(sp => sp.GetRequiredService<RedisConnectionManager>().Multiplexer);
        return builder;
    }

    /// <summary>Connects with the settings MUTT relies on: no abort on a failed first connect (it retries), and no in-order async completion (it costs ~30%). No TLS, no secret store: the connection string as given.</summary>
    public static ConnectionMultiplexer ConnectRedis(string connectionString)
    {
        var options = RedisConnectionManager.BaseOptions(connectionString);
        var multiplexer = ConnectionMultiplexer.Connect(options);
        multiplexer.PreserveAsyncOrder = false;
        return multiplexer;
    }

    public static IHostApplicationBuilder AddNpgsqlDataSource(this IHostApplicationBuilder builder, string connectionName)
    {
        var connectionString = builder.Configuration.GetConnectionString(connectionName)
            ?? throw new InvalidOperationException($"ConnectionStrings:{connectionName} is not configured.");
        builder.Services.AddMuttSecrets(builder.Configuration);
        var configuration = builder.Configuration;
        builder.Services.AddSingleton(sp => MuttNpgsql.CreateDataSource(connectionString, PostgresTlsSettings.FromConfiguration(configuration, connectionString),
            sp.GetRequiredService<ISecretStore>(), sp.GetRequiredService<ILoggerFactory>()));
        builder.Services.AddHealthChecks().AddCheck<PostgresHealthCheck>("postgres");
        return builder;
    }

    /// <summary>TLS is used when the variable says so; unset means on (spec default) except for loopback hosts, where local runs have no certificates.</summary>
    internal static bool TlsEnabled(string? value, string host) =>
        bool.TryParse(value, out var enabled) ? enabled : !IsLoopback(host);

    internal static bool IsLoopback(string host) =>
        host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || (IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip));

    private sealed class RedisHealthCheck(IConnectionMultiplexer redis) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                await redis.GetDatabase().PingAsync().WaitAsync(TimeSpan.FromSeconds(3), cancellationToken);
                // Under Sentinel: which master this process talks to now (tests and operators check it after a failover).
                return redis is SentinelMultiplexer sentinel
                    ? HealthCheckResult.Healthy(data: new Dictionary<string, object> { ["redis_master"] = sentinel.MasterAddress })
                    : HealthCheckResult.Healthy();
            }
            catch (Exception ex)
            {
                return HealthCheckResult.Unhealthy(ex.GetType().Name);
            }
        }
    }

    private sealed class PostgresHealthCheck(NpgsqlDataSource dataSource) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(TimeSpan.FromSeconds(3));
                await using var command = dataSource.CreateCommand("SELECT 1");
                await command.ExecuteScalarAsync(timeout.Token);
                return HealthCheckResult.Healthy();
            }
            catch (Exception ex)
            {
                return HealthCheckResult.Unhealthy(ex.GetType().Name);
            }
        }
    }
}

/// <summary>Redis TLS settings: REDIS_TLS_ENABLED, REDIS_CA_CERT_PATH, REDIS_CLIENT_CERT_PATH / REDIS_CLIENT_KEY_PATH (mutual TLS), REDIS_TLS_HOST (name to verify; default the endpoint host).</summary>
public sealed record RedisTlsSettings(bool Enabled, string? CaCertPath = null, string? ClientCertPath = null, string? ClientKeyPath = null, string? Host = null)
{
    public static RedisTlsSettings FromConfiguration(IConfiguration configuration, string connectionString)
    {
        var host = ConfigurationOptions.Parse(connectionString).EndPoints.FirstOrDefault() switch
        {
            DnsEndPoint dns => dns.Host,
            IPEndPoint ip => ip.Address.ToString(),
            _ => "localhost",
        };
        return new RedisTlsSettings(
            ClientIntegrationExtensions.TlsEnabled(configuration["REDIS_TLS_ENABLED"], host),
            Empty(configuration["REDIS_CA_CERT_PATH"]),
            Empty(configuration["REDIS_CLIENT_CERT_PATH"]),
            Empty(configuration["REDIS_CLIENT_KEY_PATH"]),
            Empty(configuration["REDIS_TLS_HOST"]) ?? host);
    }

    internal static string? Empty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}

/// <summary>PostgreSQL TLS settings: DB_TLS_ENABLED, DB_TLS_CA_CERT_PATH (verify-full against it), DB_TLS_CLIENT_CERT_PATH / DB_TLS_CLIENT_KEY_PATH (optional).</summary>
public sealed record PostgresTlsSettings(bool Enabled, string? CaCertPath = null, string? ClientCertPath = null, string? ClientKeyPath = null)
{
    public static PostgresTlsSettings FromConfiguration(IConfiguration configuration, string connectionString)
    {
        var host = new NpgsqlConnectionStringBuilder(connectionString).Host ?? "localhost";
        return new PostgresTlsSettings(
            ClientIntegrationExtensions.TlsEnabled(configuration["DB_TLS_ENABLED"], host.Split(',')[0]),
            RedisTlsSettings.Empty(configuration["DB_TLS_CA_CERT_PATH"]),
            RedisTlsSettings.Empty(configuration["DB_TLS_CLIENT_CERT_PATH"]),
            RedisTlsSettings.Empty(configuration["DB_TLS_CLIENT_KEY_PATH"]));
    }
}

/// <summary>
/// Owns the Redis multiplexer: connects with TLS when configured, tries REDIS_PASS_CURRENT then
/// REDIS_PASS_NEXT, and when a reconnect is refused for authentication (the password was
/// rotated) switches the multiplexer's password to the other candidate so the next reconnect
/// succeeds. The multiplexer instance never changes, so consumers keep their reference; commands
/// issued while disconnected wait (or fail and are retried by the caller) as on any reconnect.
/// </summary>
public sealed class RedisConnectionManager : IDisposable
{
    private static readonly PropertyInfo? RawConfigProperty =
        typeof(ConnectionMultiplexer).GetProperty("RawConfig", BindingFlags.Instance | BindingFlags.NonPublic);

    private readonly string _connectionString;
    private readonly RedisTlsSettings _tls;
    private readonly ISecretStore? _secrets;
    private readonly ILogger _logger;
    private readonly Lazy<ConnectionMultiplexer> _multiplexer;
    private readonly object _gate = new();
    private readonly X509Certificate2? _ca;
    private readonly X509Certificate2? _clientCertificate;
    private IDisposable? _secretWatch;
    private Timer? _watchdog;
    private int _watching;
    private DateTime _disconnectedSince = DateTime.MaxValue;

    public RedisConnectionManager(string connectionString, RedisTlsSettings tls, ISecretStore? secrets, ILogger<RedisConnectionManager>? logger = null)
    {
        _connectionString = connectionString;
        _tls = tls;
        _secrets = secrets;
        _logger = logger ?? NullLogger<RedisConnectionManager>.Instance;
        if (tls.Enabled && tls.CaCertPath is not null)
        {
            _ca = CertificateTrust.LoadCertificate(tls.CaCertPath);
        }
        if (tls.Enabled && tls.ClientCertPath is not null)
        {
            _clientCertificate = CertificateTrust.LoadCertificateWithKey(tls.ClientCertPath,
                tls.ClientKeyPath ?? throw new InvalidOperationException("REDIS_CLIENT_KEY_PATH is required with REDIS_CLIENT_CERT_PATH."));
        }
        _multiplexer = new Lazy<ConnectionMultiplexer>(Connect, LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>The multiplexer; connects on first use.</summary>
    public ConnectionMultiplexer Multiplexer => _multiplexer.Value;

    /// <summary>Which candidate the multiplexer currently authenticates with: "current", "next", or "connection-string".</summary>
    public string ActivePassword { get; private set; } = "connection-string";

    /// <summary>How many times a refused authentication made the manager switch password.</summary>
    public int PasswordSwitches { get; private set; }

    internal static ConfigurationOptions BaseOptions(string connectionString)
    {
        var options = ConfigurationOptions.Parse(connectionString);
        options.AbortOnConnectFail = false;
        options.ConnectRetry = Math.Max(options.ConnectRetry, 5);
        options.ConnectTimeout = Math.Max(options.ConnectTimeout, 5000);
        options.SyncTimeout = Math.Max(options.SyncTimeout, 5000);
        return options;
    }

    /// <summary>The passwords to try, in order: CURRENT, NEXT (from the secret store), else the connection string's own.</summary>
    private List<(string Name, string? Password)> Candidates()
    {
        var list = new List<(string, string?)>();
        var current = _secrets?.Get(SecretNames.RedisPassCurrent);
        var next = _secrets?.Get(SecretNames.RedisPassNext);
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
            list.Add(("connection-string", ConfigurationOptions.Parse(_connectionString).Password));
        }
        return list;
    }

    private ConfigurationOptions OptionsFor(string? password)
    {
        var options = BaseOptions(_connectionString);
        options.Password = password;
        if (_tls.Enabled)
        {
            options.Ssl = true;
            options.SslHost = _tls.Host;
            options.CertificateValidation += ValidateServerCertificate;
            if (_clientCertificate is not null)
            {
                options.CertificateSelection += (_, _, _, _, _) => _clientCertificate;
            }
        }
        return options;
    }

    private bool ValidateServerCertificate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null)
        {
            _logger.LogError("Redis TLS: the server sent no certificate; connection refused");
            return false;
        }
        if (_ca is null)
        {
            if (errors == SslPolicyErrors.None)
            {
                return true;
            }
            _logger.LogError("Redis TLS: server certificate refused by the system trust store ({Errors}); set REDIS_CA_CERT_PATH to the CA that signed it", errors);
            return false;
        }
        using var leaf = new X509Certificate2(certificate);
        if (CertificateTrust.ChainsTo(leaf, _ca, errors & ~SslPolicyErrors.RemoteCertificateChainErrors, out var reason))
        {
            return true;
        }
        _logger.LogError("Redis TLS: server certificate REFUSED: {Reason} (REDIS_CA_CERT_PATH={CaPath})", reason, _tls.CaCertPath);
        return false;
    }

    private ConnectionMultiplexer Connect()
    {
        var candidates = Candidates();
        var refused = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, password) in candidates)
        {
            var probe = OptionsFor(password);
            probe.AbortOnConnectFail = true;
            probe.ConnectRetry = 2;
            try
            {
                // 1.2.6 completes Connect even when AUTH was refused; a PING tells
                using var multiplexer = ConnectionMultiplexer.Connect(probe);
                multiplexer.GetDatabase().Ping();
                return Keep(name, password);
            }
            catch (Exception ex) when (ex is RedisException && IsPasswordRefused(ex))
            {
                refused.Add(name);
                _logger.LogWarning("Redis refused the {Candidate} password; trying the next one", name);
            }
            catch (Exception ex) when (ex is RedisException)
            {
                _logger.LogWarning("Redis did not answer with the {Candidate} password ({Error})", name, FirstLine(ex));
            }
        }
        // none proved itself (server not up yet, or busy): keep the first candidate not refused; SE.Redis
        // keeps reconnecting and the watchdog switches the password if it turns out to be wrong
        var (keptName, keptPassword) = candidates.FirstOrDefault(c => !refused.Contains(c.Name), candidates[0]);
        _logger.LogWarning("Redis not reachable yet; connecting in the background with the {Candidate} password", keptName);
        return Keep(keptName, keptPassword);
    }

    private ConnectionMultiplexer Keep(string name, string? password)
    {
        var multiplexer = ConnectionMultiplexer.Connect(OptionsFor(password));
        multiplexer.PreserveAsyncOrder = false;
        ActivePassword = name;
        multiplexer.ConnectionFailed += (_, e) =>
        {
            _logger.LogDebug("Redis connection failed: {FailureType} {Error}", e.FailureType, e.Exception is null ? "" : FirstLine(e.Exception));
            if (e.Exception is not null && IsPasswordRefused(e.Exception))
            {
                SwitchPassword(multiplexer, refused: true);
            }
        };
        _watchdog = new Timer(_ => _ = WatchAsync(multiplexer), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        if (_secrets is not null)
        {
            _secretWatch = Microsoft.Extensions.Primitives.ChangeToken.OnChange(_secrets.GetChangeToken, () => SwitchPassword(multiplexer, refused: false));
        }
        _logger.LogInformation("Redis client: TLS {Tls}, password {Candidate}", _tls.Enabled, name);
        return multiplexer;
    }

    /// <summary>
    /// StackExchange.Redis 1.2.6 does not report a refused AUTH on reconnect; it just keeps
    /// retrying with the password it has. So while the multiplexer has been disconnected for over
    /// a second, a side probe tries the candidates and, when another one works, the multiplexer's
    /// password is switched so its next reconnect attempt succeeds.
    /// </summary>
    private async Task WatchAsync(ConnectionMultiplexer multiplexer)
    {
        if (multiplexer.IsConnected)
        {
            _disconnectedSince = DateTime.MaxValue;
            return;
        }
        if (_disconnectedSince == DateTime.MaxValue)
        {
            _disconnectedSince = DateTime.UtcNow;
            return;
        }
        if (DateTime.UtcNow - _disconnectedSince < TimeSpan.FromSeconds(1) || Interlocked.Exchange(ref _watching, 1) == 1)
        {
            return;
        }
        try
        {
            if (RawConfigProperty?.GetValue(multiplexer) is not ConfigurationOptions raw)
            {
                return;
            }
            foreach (var (name, password) in Candidates())
            {
                var probe = OptionsFor(password);
                probe.AbortOnConnectFail = true;
                probe.ConnectRetry = 1;
                probe.ConnectTimeout = 2000;
                try
                {
                    using var side = await ConnectionMultiplexer.ConnectAsync(probe).ConfigureAwait(false);
                    await side.GetDatabase().PingAsync().ConfigureAwait(false);
                }
                catch (RedisException ex) when (IsPasswordRefused(ex))
                {
                    continue;
                }
                catch (RedisException)
                {
                    return; // server down or TLS refused: not a password matter; SE.Redis keeps retrying
                }
                lock (_gate)
                {
                    if (raw.Password != password)
                    {
                        raw.Password = password;
                        ActivePassword = name;
                        PasswordSwitches++;
                        _logger.LogWarning("Redis refused the active password on reconnect; reconnecting with the {Candidate} password", name);
                    }
                }
                return;
            }
            _logger.LogError("Redis refused every configured password (REDIS_PASS_CURRENT/REDIS_PASS_NEXT)");
        }
        finally
        {
            Volatile.Write(ref _watching, 0);
        }
    }

    /// <summary>
    /// After a refused AUTH: use the other candidate on the next reconnect. After a secret change:
    /// keep the active candidate's new value (a new CURRENT) so the next reconnect uses it.
    /// </summary>
    private void SwitchPassword(ConnectionMultiplexer multiplexer, bool refused)
    {
        lock (_gate)
        {
            if (RawConfigProperty?.GetValue(multiplexer) is not ConfigurationOptions raw)
            {
                _logger.LogError("Redis client: cannot switch password on this StackExchange.Redis version; restart to pick up a rotated password");
                return;
            }
            var candidates = Candidates();
            var index = candidates.FindIndex(c => c.Password == raw.Password);
            (string Name, string? Password) chosen;
            if (refused)
            {
                chosen = candidates[(index + 1) % candidates.Count];
                PasswordSwitches++;
            }
            else
            {
                chosen = index >= 0 ? candidates[index] : candidates[0];
            }
            if (chosen.Password != raw.Password)
            {
                raw.Password = chosen.Password;
                ActivePassword = chosen.Name;
                _logger.LogWarning("Redis client: next reconnect authenticates with the {Candidate} password ({Reason})", chosen.Name, refused ? "authentication refused" : "secrets changed");
            }
        }
    }

    /// <summary>Redis refused the password: an AuthenticationFailure, WRONGPASS, invalid password or NOAUTH anywhere in the chain, unless the chain holds a TLS AuthenticationException (then it was the handshake).</summary>
    internal static bool IsPasswordRefused(Exception exception)
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
            if (ex is RedisConnectionException { FailureType: ConnectionFailureType.AuthenticationFailure }
                || ex.Message.Contains("AuthenticationFailure", StringComparison.Ordinal))
            {
                return true;
            }
            var message = ex.Message;
            if (message.Contains("NOAUTH", StringComparison.Ordinal) || message.Contains("WRONGPASS", StringComparison.Ordinal)
                || message.Contains("invalid password", StringComparison.OrdinalIgnoreCase) || message.Contains("invalid username-password", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        return false;
    }

    private static string FirstLine(Exception ex) => ex.Message.Split('\n')[0];

    public void Dispose()
    {
        _secretWatch?.Dispose();
        _watchdog?.Dispose();
        if (_multiplexer.IsValueCreated)
        {
            _multiplexer.Value.Dispose();
        }
    }
}

/// <summary>
/// Extra multiplexers to the same Redis as <c>AddRedisClient</c>'s (same TLS, passwords, Sentinel following),
/// for a path that must not share the service's connection: <c>WAIT</c> blocks the connection it is sent on.
/// The factory owns what it creates and closes it when the container is disposed.
/// </summary>
public sealed class RedisConnectionFactory(string connectionString, IConfiguration configuration, ISecretStore secrets, ILoggerFactory loggers)
    : IAsyncDisposable, IDisposable
{
    private readonly List<IAsyncDisposable> _owned = [];

    /// <summary>True when the connection string names Sentinels.</summary>
    public bool IsSentinel => SentinelOptions.IsSentinelConnectionString(connectionString);

    /// <summary>A multiplexer of its own named <paramref name="clientName"/>, whose command timeouts are at least <paramref name="minimumTimeout"/>.</summary>
    public IConnectionMultiplexer CreateDedicated(string clientName, TimeSpan minimumTimeout)
    {
        var timeout = Math.Max(5000, (int)Math.Ceiling(minimumTimeout.TotalMilliseconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var extra = $"name={clientName},syncTimeout={timeout},responseTimeout={timeout}";
        if (IsSentinel)
        {
            var sentinel = SentinelOptions.Parse(connectionString);
            sentinel.Password ??= secrets.Get(SecretNames.RedisPassCurrent);
            sentinel.RedisOptions = string.IsNullOrWhiteSpace(sentinel.RedisOptions) ? extra : sentinel.RedisOptions + "," + extra;
            var multiplexer = SentinelMultiplexer.Connect(sentinel, loggers.CreateLogger<SentinelMultiplexer>());
            lock (_owned)
            {
                _owned.Add(multiplexer);
            }
            return multiplexer;
        }
        var manager = new RedisConnectionManager(connectionString + "," + extra, RedisTlsSettings.FromConfiguration(configuration, connectionString),
            secrets, loggers.CreateLogger<RedisConnectionManager>());
        lock (_owned)
        {
            _owned.Add(new DisposeAsAsync(manager));
        }
        return manager.Multiplexer;
    }

    public async ValueTask DisposeAsync()
    {
        List<IAsyncDisposable> owned;
        lock (_owned)
        {
            owned = [.. _owned];
            _owned.Clear();
        }
        foreach (var item in owned)
        {
            await item.DisposeAsync().ConfigureAwait(false);
        }
    }

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    private sealed class DisposeAsAsync(IDisposable inner) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            inner.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}

/// <summary>Npgsql data sources with TLS and CURRENT/NEXT password fallback.</summary>
public static class MuttNpgsql
{
    /// <summary>
    /// A data source whose password provider runs on every new physical connection: it checks the
    /// preferred password (DB_PASS_CURRENT, else DB_PASS_NEXT, else the connection string's) with a
    /// one-off unpooled connection and, on 28P01 (invalid password), falls back to the other one.
    /// Pooled connections are unaffected by a rotation; new ones pick the working password.
    /// </summary>
    public static NpgsqlDataSource CreateDataSource(string connectionString, PostgresTlsSettings tls, ISecretStore? secrets, ILoggerFactory? loggerFactory = null)
    {
        var logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("Mutt.Npgsql");
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        var fallbackPassword = builder.ConnectionStringBuilder.Password;
        if (tls.Enabled)
        {
            if (tls.CaCertPath is not null)
            {
                // verify-full against our CA, done by us so a refusal is logged plainly: the chain must
                // end at DB_TLS_CA_CERT_PATH and the certificate must name the host (SslStream's name check)
                var ca = CertificateTrust.LoadCertificate(tls.CaCertPath);
                builder.ConnectionStringBuilder.SslMode = SslMode.Require;
                builder.UseSslClientAuthenticationOptionsCallback(ssl => ssl.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                {
                    if (certificate is not null)
                    {
                        using var leaf = new X509Certificate2(certificate);
                        if (CertificateTrust.ChainsTo(leaf, ca, errors & ~SslPolicyErrors.RemoteCertificateChainErrors, out var reason))
                        {
                            return true;
                        }
                        logger.LogError("PostgreSQL TLS: server certificate REFUSED: {Reason} (DB_TLS_CA_CERT_PATH={CaPath})", reason, tls.CaCertPath);
                        return false;
                    }
                    logger.LogError("PostgreSQL TLS: the server sent no certificate; connection refused");
                    return false;
                });
            }
            else
            {
                builder.ConnectionStringBuilder.SslMode = SslMode.VerifyFull;
            }
            if (tls.ClientCertPath is not null)
            {
                builder.ConnectionStringBuilder.SslCertificate = tls.ClientCertPath;
                builder.ConnectionStringBuilder.SslKey = tls.ClientKeyPath;
            }
        }
        else if (builder.ConnectionStringBuilder.SslMode is SslMode.Prefer or SslMode.Allow)
        {
            builder.ConnectionStringBuilder.SslMode = SslMode.Disable;
        }
        var usesSecrets = secrets?.Get(SecretNames.DbPassCurrent) is not null || secrets?.Get(SecretNames.DbPassNext) is not null;
        if (!usesSecrets && !tls.Enabled)
        {
            return builder.Build();
        }
        if (tls.Enabled)
        {
            logger.LogInformation("PostgreSQL client: TLS verify-full, root certificate {CaPath}", tls.CaCertPath ?? "(system trust store)");
        }
        builder.ConnectionStringBuilder.Password = null;
        var probeBase = new NpgsqlConnectionStringBuilder(builder.ConnectionStringBuilder.ConnectionString) { Pooling = false, Timeout = 15 };
        var chooser = new PasswordChooser(probeBase, secrets, fallbackPassword, logger);
        builder.UsePasswordProvider(_ => chooser.ChooseAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult(), (_, ct) => chooser.ChooseAsync(ct));
        return builder.Build();
    }

    private sealed class PasswordChooser(NpgsqlConnectionStringBuilder probeBase, ISecretStore? secrets, string? fallback, ILogger logger)
    {
        private string? _preferred;

        public async ValueTask<string> ChooseAsync(CancellationToken cancellationToken)
        {
            var candidates = new List<(string Name, string Password)>();
            void Add(string name, string? value)
            {
                if (value is not null && candidates.All(c => c.Password != value))
                {
                    candidates.Add((name, value));
                }
            }
            Add("current", secrets?.Get(SecretNames.DbPassCurrent));
            Add("next", secrets?.Get(SecretNames.DbPassNext));
            Add("connection-string", fallback);
            // the one that worked last goes first
            candidates.Sort((a, b) => (b.Password == _preferred).CompareTo(a.Password == _preferred));
            foreach (var (name, password) in candidates)
            {
                var probe = new NpgsqlConnectionStringBuilder(probeBase.ConnectionString) { Password = password };
                try
                {
                    await using var connection = new NpgsqlConnection(probe.ConnectionString);
                    await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
                    if (_preferred != password)
                    {
                        logger.LogWarning("PostgreSQL client: authenticating with the {Candidate} password", name);
                        _preferred = password;
                    }
                    return password;
                }
                catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.InvalidPassword)
                {
                    logger.LogWarning("PostgreSQL refused the {Candidate} password (28P01); trying the next one", name);
                }
            }
            // none worked: hand back the first; the open fails with Postgres' own error
            return candidates.Count > 0 ? candidates[0].Password : "";
        }

    }
}
