using System.Globalization;
using System.Net;

namespace Mutt.Core.Redis;

/// <summary>
/// Where the Sentinels are and which master they watch. Parsed from a connection string of the form
/// <c>sentinel=127.0.0.1:26379,127.0.0.1:26380;serviceName=mymaster;password=secret</c>
/// (segments separated by <c>;</c>, keys case-insensitive; see docs/reliability.md).
/// </summary>
public sealed class SentinelOptions
{
    public const string DefaultServiceName = "mymaster";

    /// <summary>Sentinel endpoints (host:port). At least one; three or more in production.</summary>
    public List<EndPoint> Sentinels { get; } = [];

    /// <summary>The name the Sentinels monitor (<c>sentinel monitor NAME ...</c>).</summary>
    public string ServiceName { get; set; } = DefaultServiceName;

    /// <summary>Password of the Redis master/replicas (requirepass). Never logged.</summary>
    public string? Password { get; set; }

    /// <summary>Password of the Sentinels themselves (sentinel requirepass), when they have one.</summary>
    public string? SentinelPassword { get; set; }

    /// <summary>
    /// Extra StackExchange.Redis options for the data connection, in its own syntax
    /// (e.g. <c>ssl=true,sslHost=redis.local</c>); endpoints in it are ignored.
    /// </summary>
    public string? RedisOptions { get; set; }

    /// <summary>How often the master is re-checked even without a +switch-master message.</summary>
    public TimeSpan RecheckInterval { get; set; } = TimeSpan.FromSeconds(5);

    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>True when <paramref name="connectionString"/> names sentinels (has a <c>sentinel=</c> segment).</summary>
    public static bool IsSentinelConnectionString(string? connectionString) =>
        connectionString is not null && connectionString.Split(';')
            .Any(s => s.TrimStart().StartsWith("sentinel=", StringComparison.OrdinalIgnoreCase));

    public static SentinelOptions Parse(string connectionString)
    {
        ArgumentNullException.ThrowIfNull(connectionString);
        var options = new SentinelOptions();
        foreach (var raw in connectionString.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = raw.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                // Do not echo the segment: it could be a mistyped password.
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
                        options.Sentinels.Add(ParseEndPoint(endpoint));
                    }
                    break;
                case "servicename":
                    options.ServiceName = value;
                    break;
                case "password":
                    options.Password = value.Length == 0 ? null : value;
                    break;
                case "sentinelpassword":
                    options.SentinelPassword = value.Length == 0 ? null : value;
                    break;
                case "options":
                    options.RedisOptions = value;
                    break;
                case "recheckseconds":
                    options.RecheckInterval = TimeSpan.FromSeconds(double.Parse(value, CultureInfo.InvariantCulture));
                    break;
                case "connecttimeout":
                    options.ConnectTimeout = TimeSpan.FromMilliseconds(int.Parse(value, CultureInfo.InvariantCulture));
                    break;
                default:
                    throw new FormatException($"Unknown key '{key}' in sentinel connection string.");
            }
        }
        if (options.Sentinels.Count == 0)
        {
            throw new FormatException("Sentinel connection string names no sentinel (sentinel=host:port,...).");
        }
        if (string.IsNullOrWhiteSpace(options.ServiceName))
        {
            throw new FormatException("Sentinel connection string has an empty serviceName.");
        }
        return options;
    }

    /// <summary>The connection string back, with passwords masked: safe for logs.</summary>
    public override string ToString() =>
        $"sentinel={string.Join(',', Sentinels.Select(Format))};serviceName={ServiceName}" +
        (Password is null ? "" : ";password=***") + (SentinelPassword is null ? "" : ";sentinelPassword=***");

    internal static string Format(EndPoint endpoint) => endpoint switch
    {
        IPEndPoint ip => $"{ip.Address}:{ip.Port}",
        DnsEndPoint dns => $"{dns.Host}:{dns.Port}",
        _ => endpoint.ToString() ?? "",
    };

    private static EndPoint ParseEndPoint(string text)
    {
        var colon = text.LastIndexOf(':');
        var host = colon > 0 ? text[..colon] : text;
        var port = colon > 0 ? int.Parse(text[(colon + 1)..], CultureInfo.InvariantCulture) : 26379;
        host = host.Trim('[', ']');
        return IPAddress.TryParse(host, out var address) ? new IPEndPoint(address, port) : new DnsEndPoint(host, port);
    }
}
