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

    public static readonly IReadOnlyList<string> All =
        [IngestApiKey, WebUiApiKey, MoogApiKey, RedisPassCurrent, RedisPassNext, DbPassCurrent, DbPassNext];
}
