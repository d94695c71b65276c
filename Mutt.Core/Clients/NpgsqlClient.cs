using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Mutt.Core.Secrets;
using Npgsql;

namespace Mutt.Core.Clients;

/// <summary>PostgreSQL TLS settings: DB_TLS_ENABLED, DB_TLS_CA_CERT_PATH (verify-full against it), DB_TLS_CLIENT_CERT_PATH / DB_TLS_CLIENT_KEY_PATH (optional).</summary>
public sealed record PostgresTlsSettings(bool Enabled, string? CaCertPath = null, string? ClientCertPath = null, string? ClientKeyPath = null)
{
    public static PostgresTlsSettings FromConfiguration(IConfiguration configuration, string connectionString)
    {
        var host = new NpgsqlConnectionStringBuilder(connectionString).Host ?? "localhost";
        return new PostgresTlsSettings(
            ClientSettings.TlsEnabled(configuration["DB_TLS_ENABLED"], host.Split(',')[0]),
            ClientSettings.Value(configuration["DB_TLS_CA_CERT_PATH"]),
            ClientSettings.Value(configuration["DB_TLS_CLIENT_CERT_PATH"]),
            ClientSettings.Value(configuration["DB_TLS_CLIENT_KEY_PATH"]));
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
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        Configure(builder, tls, secrets, loggerFactory);
        return builder.Build();
    }

    /// <summary>Applies TLS and the CURRENT/NEXT password provider to a data source builder (Aspire.Npgsql's configuration callback).</summary>
    public static void Configure(NpgsqlDataSourceBuilder builder, PostgresTlsSettings tls, ISecretStore? secrets, ILoggerFactory? loggerFactory = null)
    {
        var logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("Mutt.Npgsql");
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
            return;
        }
        if (tls.Enabled)
        {
            logger.LogInformation("PostgreSQL client: TLS verify-full, root certificate {CaPath}", tls.CaCertPath ?? "(system trust store)");
        }
        builder.ConnectionStringBuilder.Password = null;
        var probeBase = new NpgsqlConnectionStringBuilder(builder.ConnectionStringBuilder.ConnectionString) { Pooling = false, Timeout = 15 };
        var chooser = new PasswordChooser(probeBase, secrets, fallbackPassword, logger);
        builder.UsePasswordProvider(_ => chooser.ChooseAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult(), (_, ct) => chooser.ChooseAsync(ct));
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
