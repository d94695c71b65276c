namespace Mutt.Core.Secrets;

/// <summary>The secret names of spec 004 ("Vault Secrets"): keys inside the KV v2 secret and, without Vault, configuration keys.</summary>
public static class SecretNames
{
    public const string IngestApiKey = "INGEST_API_KEY";
    public const string WebUiApiKey = "WEBUI_API_KEY";
    public const string MoogApiKey = "MOOG_API_KEY";
    public const string RedisPassCurrent = "REDIS_PASS_CURRENT";
    public const string RedisPassNext = "REDIS_PASS_NEXT";
    public const string DbPassCurrent = "DB_PASS_CURRENT";
    public const string DbPassNext = "DB_PASS_NEXT";
    /// <summary>Issue 17: the first admin's password, read by the DbManager only (with BOOTSTRAP_ADMIN_USER).</summary>
    public const string BootstrapAdminPassword = "BOOTSTRAP_ADMIN_PASSWORD";

    public static readonly IReadOnlyList<string> All =
        [IngestApiKey, WebUiApiKey, MoogApiKey, RedisPassCurrent, RedisPassNext, DbPassCurrent, DbPassNext, BootstrapAdminPassword];
}
