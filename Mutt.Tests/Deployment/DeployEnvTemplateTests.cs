namespace Mutt.Tests.Deployment;

/// <summary>deploy/env/mutt.env.template: every spec 004 variable with its spec default, secrets never filled in.</summary>
[Trait("Category", "Unit")]
public sealed class DeployEnvTemplateTests
{
    // Spec 004 "Environment Variables", verbatim ("" = no default in the spec). POD_NAME is set per unit.
    private static readonly Dictionary<string, string> SpecDefaults = new()
    {
        ["LOG_LEVEL"] = "INFO", ["LOG_JSON_ENABLED"] = "false", ["OTEL_ENABLED"] = "false",
        ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "", ["DYNAMIC_CONFIG_ENABLED"] = "false",
        ["REDIS_HOST"] = "localhost", ["REDIS_PORT"] = "6379", ["REDIS_TLS_ENABLED"] = "true",
        ["REDIS_CA_CERT_PATH"] = "", ["REDIS_MAX_CONNECTIONS"] = "20",
        ["DB_HOST"] = "localhost", ["DB_PORT"] = "5432", ["DB_NAME"] = "mutt_db", ["DB_USER"] = "mutt_user",
        ["DB_TLS_ENABLED"] = "true", ["DB_TLS_CA_CERT_PATH"] = "", ["DB_POOL_MIN_CONN"] = "2", ["DB_POOL_MAX_CONN"] = "10",
        ["VAULT_ADDR"] = "", ["VAULT_ROLE_ID"] = "", ["VAULT_SECRET_ID_FILE"] = "/etc/mutt/secrets/vault_secret_id",
        ["VAULT_SECRETS_PATH"] = "secret/mutt", ["VAULT_TOKEN_RENEW_THRESHOLD"] = "3600", ["VAULT_RENEW_CHECK_INTERVAL"] = "300",
        ["SERVER_PORT_INGESTOR"] = "8080", ["MAX_INGEST_QUEUE_SIZE"] = "1000000", ["INGEST_QUEUE_NAME"] = "mutt:ingest_queue",
        ["REQUIRED_MESSAGE_FIELDS"] = "timestamp,message,hostname",
        ["METRICS_PORT_ALERTER"] = "8081", ["HEALTH_PORT_ALERTER"] = "8082", ["ALERT_QUEUE_NAME"] = "mutt:alert_queue",
        ["ALERTER_PROCESSING_LIST_PREFIX"] = "mutt:processing:alerter", ["ALERTER_HEARTBEAT_PREFIX"] = "mutt:heartbeat:alerter",
        ["ALERTER_HEARTBEAT_INTERVAL"] = "10", ["ALERTER_JANITOR_TIMEOUT"] = "30", ["ALERTER_DLQ_NAME"] = "mutt:dlq:alerter",
        ["ALERTER_MAX_RETRIES"] = "3", ["BRPOPLPUSH_TIMEOUT"] = "5", ["CACHE_RELOAD_INTERVAL"] = "300",
        ["UNHANDLED_PREFIX"] = "mutt:unhandled", ["UNHANDLED_THRESHOLD"] = "100", ["UNHANDLED_EXPIRY_SECONDS"] = "86400",
        ["UNHANDLED_DEFAULT_TEAM"] = "NETO",
        ["METRICS_PORT_MOOG"] = "8083", ["HEALTH_PORT_MOOG"] = "8084", ["MOOG_PROCESSING_LIST_PREFIX"] = "mutt:processing:moog",
        ["MOOG_HEARTBEAT_PREFIX"] = "mutt:heartbeat:moog", ["MOOG_HEARTBEAT_INTERVAL"] = "10", ["MOOG_JANITOR_TIMEOUT"] = "30",
        ["MOOG_DLQ_NAME"] = "mutt:dlq:moog", ["MOOG_WEBHOOK_URL"] = "", ["MOOG_WEBHOOK_TIMEOUT"] = "10",
        ["MOOG_RATE_LIMIT"] = "50", ["MOOG_RATE_PERIOD"] = "1", ["MOOG_RATE_LIMIT_KEY"] = "mutt:rate_limit:moog",
        ["MOOG_MAX_RETRIES"] = "5", ["MOOG_RETRY_BASE_DELAY"] = "1.0", ["MOOG_RETRY_MAX_DELAY"] = "60.0",
        ["SERVER_PORT_WEBUI"] = "8090", ["METRICS_CACHE_TTL"] = "5", ["AUDIT_LOG_PAGE_SIZE"] = "50",
        ["PROMETHEUS_URL"] = "http://localhost:9090",
        ["METRICS_PORT_REMEDIATION"] = "8086", ["HEALTH_PORT_REMEDIATION"] = "8087", ["REMEDIATION_SCAN_INTERVAL"] = "60",
        ["REMEDIATION_MAX_RETRIES"] = "3", ["REMEDIATION_BACKOFF_BASE"] = "60",
    };

    private static readonly string[] Secrets =
        ["INGEST_API_KEY", "WEBUI_API_KEY", "MOOG_API_KEY", "REDIS_PASS_CURRENT", "REDIS_PASS_NEXT", "DB_PASS_CURRENT", "DB_PASS_NEXT"];

    private static string[] Lines() => File.ReadAllLines(DeployTestSupport.PathIn("deploy", "env", "mutt.env.template"));

    /// <summary>Active KEY=value lines, as systemd's EnvironmentFile= reads them (surrounding quotes removed).</summary>
    private static Dictionary<string, string> Active()
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in Lines().Where(l => l.Length > 0 && !l.StartsWith('#')))
        {
            var parts = line.Split('=', 2);
            Assert.True(parts.Length == 2 && parts[0].All(c => char.IsAsciiLetterOrDigit(c) || c == '_'), $"not an env line: {line}");
            Assert.False(values.ContainsKey(parts[0]), $"{parts[0]} is set twice");
            values[parts[0]] = parts[1].Trim('"');
        }
        return values;
    }

    [Fact]
    public void Every_spec_variable_is_present_with_the_spec_default()
    {
        var active = Active();
        var missing = SpecDefaults.Keys.Where(k => !active.ContainsKey(k)).ToList();
        Assert.True(missing.Count == 0, "missing: " + string.Join(", ", missing));
        foreach (var (key, specDefault) in SpecDefaults.Where(d => d.Value.Length > 0))
        {
            Assert.True(active[key] == specDefault, $"{key}: template {active[key]}, spec {specDefault}");
        }
        // POD_NAME must come from the unit (one per process), never from the shared file.
        Assert.DoesNotContain("POD_NAME", active.Keys);
    }

    [Fact]
    public void Secrets_are_only_commented_placeholders()
    {
        var active = Active();
        foreach (var secret in Secrets)
        {
            Assert.DoesNotContain(secret, active.Keys);
            var line = Assert.Single(Lines(), l => l.StartsWith($"#{secret}=", StringComparison.Ordinal));
            var value = line.Split('=', 2)[1];
            Assert.True(value is "" or "CHANGE_ME", $"{secret} has a value in the template");
        }
        Assert.DoesNotContain("password=", active["ConnectionStrings__redis"], StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("password", active["ConnectionStrings__muttdb"], StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Connection_strings_agree_with_the_spec_variables()
    {
        var active = Active();
        Assert.StartsWith($"{active["REDIS_HOST"]}:{active["REDIS_PORT"]},", active["ConnectionStrings__redis"]);
        Assert.Contains("ssl=true", active["ConnectionStrings__redis"]);
        // Parsed by the real clients, so a typo in a keyword fails here rather than at 3 a.m.
        var redis = StackExchange.Redis.ConfigurationOptions.Parse(active["ConnectionStrings__redis"]);
        Assert.True(redis.Ssl);
        var db = new Npgsql.NpgsqlConnectionStringBuilder(active["ConnectionStrings__muttdb"]);
        Assert.Equal(active["DB_HOST"], db.Host);
        Assert.Equal(int.Parse(active["DB_PORT"]), db.Port);
        Assert.Equal(active["DB_NAME"], db.Database);
        Assert.Equal(active["DB_USER"], db.Username);
        Assert.Equal(Npgsql.SslMode.VerifyFull, db.SslMode);
        Assert.Equal(active["DB_TLS_CA_CERT_PATH"], db.RootCertificate);
        Assert.Equal(int.Parse(active["DB_POOL_MIN_CONN"]), db.MinPoolSize);
        Assert.Equal(int.Parse(active["DB_POOL_MAX_CONN"]), db.MaxPoolSize);
    }
}
