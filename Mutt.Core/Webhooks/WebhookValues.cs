using System.Collections.Frozen;
using System.Globalization;
using System.Text.Json;

namespace Mutt.Core.Webhooks;

/// <summary>How webhook sources' values become MUTT's: severities and timestamps. Pure.</summary>
public static class WebhookValues
{
    /// <summary>
    /// Severity words to syslog severities (RFC 5424: 0 emergency … 7 debug), case-insensitive. The
    /// Alertmanager and Grafana <c>severity</c> label is read with it, and a mapped source's value when
    /// its own severity map does not name it. docs/ingestor.md lists it.
    /// </summary>
    public static readonly FrozenDictionary<string, int> SeverityNames = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase)
    {
        ["emergency"] = 0, ["emerg"] = 0, ["fatal"] = 0,
        ["alert"] = 1,
        ["critical"] = 2, ["crit"] = 2, ["page"] = 2, ["high"] = 2, ["disaster"] = 2,
        ["error"] = 3, ["err"] = 3, ["major"] = 3,
        ["warning"] = 4, ["warn"] = 4, ["minor"] = 4, ["medium"] = 4, ["average"] = 4,
        ["notice"] = 5, ["low"] = 5,
        ["info"] = 6, ["informational"] = 6, ["information"] = 6, ["none"] = 6, ["ok"] = 6,
        ["debug"] = 7,
    }.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// An ISO 8601 date-time (any offset, any number of fractional digits: Go sends nanoseconds, .NET
    /// parses at most seven) as UTC <c>yyyy-MM-ddTHH:mm:ss.fffffffZ</c>.
    /// </summary>
    public static bool TryNormalizeTimestamp(string? text, out string normalized, out DateTimeOffset value)
    {
        normalized = "";
        value = default;
        if (string.IsNullOrEmpty(text) || text.Length < 10 || text[4] != '-' || text[7] != '-')
        {
            return false;
        }
        var candidate = text;
        var dot = text.IndexOf('.', 10);
        if (dot > 0)
        {
            var end = dot + 1;
            while (end < text.Length && char.IsAsciiDigit(text[end]))
            {
                end++;
            }
            if (end - dot - 1 > 7)
            {
                candidate = string.Concat(text.AsSpan(0, dot + 8), text.AsSpan(end));
            }
        }
        if (!DateTimeOffset.TryParse(candidate, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out value))
        {
            return false;
        }
        normalized = value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);
        return true;
    }

    /// <summary>A timestamp from a JSON value: an ISO 8601 string, or a number of Unix seconds (or milliseconds, when above 10^11).</summary>
    public static bool TryTimestamp(JsonElement value, out string normalized)
    {
        normalized = "";
        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                var text = value.GetString()!;
                if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var fromText))
                {
                    return TryEpoch(fromText, out normalized);
                }
                return TryNormalizeTimestamp(text, out normalized, out _);
            case JsonValueKind.Number:
                return TryEpoch(value.GetDouble(), out normalized);
            default:
                return false;
        }
    }

    private static bool TryEpoch(double number, out string normalized)
    {
        normalized = "";
        var milliseconds = number > 1e11 ? number : number * 1000;
        if (double.IsNaN(milliseconds) || milliseconds < 0 || milliseconds > 253402300799999)
        {
            return false;
        }
        normalized = DateTimeOffset.FromUnixTimeMilliseconds((long)milliseconds).UtcDateTime
            .ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);
        return true;
    }

    /// <summary>A host name from a label value: <c>host:port</c> and <c>[v6]:port</c> lose the port; a URL keeps only its host.</summary>
    public static string StripPort(string value)
    {
        var text = value.Trim();
        if (text.Contains("://", StringComparison.Ordinal) && Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Host.Length > 0)
        {
            return uri.Host.Trim('[', ']');
        }
        if (text.StartsWith('['))
        {
            var close = text.IndexOf(']');
            return close > 1 ? text[1..close] : text;
        }
        var colon = text.LastIndexOf(':');
        // One colon followed by digits only is a port; more colons is a bare IPv6 address.
        return colon > 0 && text.IndexOf(':') == colon && colon < text.Length - 1 && text.AsSpan(colon + 1).IndexOfAnyExceptInRange('0', '9') < 0
            ? text[..colon]
            : text;
    }
}
