using System.Globalization;

namespace Mutt.Core.Clients;

/// <summary>
/// MUTT's Redis connection strings. Two forms are accepted:
/// StackExchange.Redis's own (<c>host:6379,password=…</c>, or Sentinels with
/// <c>s1:26379,s2:26379,serviceName=mymaster</c>), and the Sentinel form of MUTT's runbooks
/// (<c>sentinel=s1:26379,s2:26379;serviceName=mymaster;password=…</c>), which is translated to the
/// first so that the library itself discovers the master and follows failovers (docs/reliability.md).
/// </summary>
public static class RedisConnectionStrings
{
    public const string DefaultServiceName = "mymaster";

    /// <summary>True when the string uses MUTT's <c>sentinel=…;…</c> form.</summary>
    public static bool IsSentinelForm(string? connectionString) =>
        connectionString is not null && connectionString.Split(';')
            .Any(s => s.TrimStart().StartsWith("sentinel=", StringComparison.OrdinalIgnoreCase));

    /// <summary>The StackExchange.Redis form of <paramref name="connectionString"/>; any other string is returned as it is.</summary>
    /// <exception cref="FormatException">A malformed Sentinel string. The message never echoes a value (it could be a password).</exception>
    public static string ToStackExchange(string connectionString)
    {
        ArgumentNullException.ThrowIfNull(connectionString);
        if (!IsSentinelForm(connectionString))
        {
            return connectionString;
        }
        var sentinels = new List<string>();
        string serviceName = DefaultServiceName;
        string? password = null;
        string? sentinelPassword = null;
        string? extra = null;
        string? connectTimeout = null;
        foreach (var raw in connectionString.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = raw.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new FormatException("A sentinel connection string segment is not key=value.");
            }
            var key = raw[..eq].Trim();
            var value = raw[(eq + 1)..].Trim();
            switch (key.ToLowerInvariant())
            {
                case "sentinel":
                case "sentinels":
                    foreach (var endpoint in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                    {
                        sentinels.Add(endpoint.Contains(':', StringComparison.Ordinal) && !endpoint.EndsWith(']') ? endpoint : endpoint + ":26379");
                    }
                    break;
                case "servicename":
                    serviceName = value;
                    break;
                case "password":
                    password = value.Length == 0 ? null : value;
                    break;
                case "sentinelpassword":
                    sentinelPassword = value.Length == 0 ? null : value;
                    break;
                case "options":
                    extra = value;
                    break;
                case "connecttimeout":
                    connectTimeout = int.Parse(value, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture);
                    break;
                case "recheckseconds":
                    throw new FormatException("recheckSeconds is no longer used (StackExchange.Redis follows the master itself): remove it.");
                default:
                    // A typo must not silently drop a password or a TLS setting.
                    throw new FormatException($"Unknown key '{key}' in sentinel connection string.");
            }
        }
        if (sentinels.Count == 0)
        {
            throw new FormatException("Sentinel connection string names no sentinel (sentinel=host:port,...).");
        }
        if (string.IsNullOrWhiteSpace(serviceName))
        {
            throw new FormatException("Sentinel connection string has an empty serviceName.");
        }
        if (sentinelPassword is not null && password is not null && sentinelPassword != password)
        {
            // StackExchange.Redis authenticates to the Sentinels and to the data nodes with one password.
            throw new FormatException("sentinelPassword differs from password: give the Sentinels (requirepass) the data nodes' password.");
        }
        password ??= sentinelPassword;
        var parts = new List<string>(sentinels) { "serviceName=" + serviceName };
        if (password is not null)
        {
            parts.Add("password=" + password);
        }
        if (connectTimeout is not null)
        {
            parts.Add("connectTimeout=" + connectTimeout);
        }
        if (!string.IsNullOrWhiteSpace(extra))
        {
            parts.Add(extra);
        }
        return string.Join(',', parts);
    }
}
