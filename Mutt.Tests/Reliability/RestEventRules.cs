using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Mutt.Tests.Reliability;

/// <summary>
/// An independent statement of the ingest rules (spec 004 "Event Message" + the Ingestor issue), used to
/// prove each generated REST case is what its category says. Not the Ingestor's code: a second opinion.
/// </summary>
public static class RestEventRules
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    private static readonly string[] Required = ["timestamp", "message", "hostname"];
    private static readonly string[] OptionalStrings = ["source", "trap_oid", "correlation_id"];

    /// <summary>202, 400 or 413 for <paramref name="body"/> sent with <paramref name="contentType"/>.</summary>
    public static int ExpectedStatus(byte[] body, string? contentType, BadInputOptions options) =>
        Check(body, contentType, options).Status;

    public static (int Status, string Reason) Check(byte[] body, string? contentType, BadInputOptions options)
    {
        if (body.Length > options.RestMaxBodyBytes)
        {
            return (413, "body over limit");
        }
        try
        {
            StrictUtf8.GetString(body);
        }
        catch (DecoderFallbackException)
        {
            return (400, "invalid UTF-8");
        }
        var documentOptions = new JsonDocumentOptions { MaxDepth = options.MaxJsonDepth };
        try
        {
            if (contentType is not null && contentType.StartsWith("application/x-ndjson", StringComparison.Ordinal))
            {
                var lines = Encoding.UTF8.GetString(body).Split('\n').Where(l => l.Trim().Length > 0).ToList();
                if (lines.Count == 0)
                {
                    return (400, "empty");
                }
                foreach (var line in lines)
                {
                    using var doc = JsonDocument.Parse(line, documentOptions);
                    if (EventProblem(doc.RootElement) is { } problem)
                    {
                        return (400, problem);
                    }
                }
                return (202, "ok");
            }
            using var document = JsonDocument.Parse(body, documentOptions);
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Array)
            {
                if (root.GetArrayLength() == 0)
                {
                    return (400, "empty batch");
                }
                foreach (var item in root.EnumerateArray())
                {
                    if (EventProblem(item) is { } problem)
                    {
                        return (400, problem);
                    }
                }
                return (202, "ok");
            }
            return EventProblem(root) is { } single ? (400, single) : (202, "ok");
        }
        catch (JsonException ex)
        {
            return (400, "malformed JSON: " + ex.Message);
        }
    }

    /// <summary>Why <paramref name="e"/> is not a valid event, or null when it is.</summary>
    public static string? EventProblem(JsonElement e)
    {
        if (e.ValueKind != JsonValueKind.Object)
        {
            return $"not an object ({e.ValueKind})";
        }
        foreach (var name in Required)
        {
            if (!e.TryGetProperty(name, out var value) || value.ValueKind != JsonValueKind.String)
            {
                return $"{name} missing or not a string";
            }
        }
        if (!IsIso8601(e.GetProperty("timestamp").GetString()!, out var time))
        {
            return "timestamp not ISO 8601";
        }
        // The limits on input (issue 15): what a monthly partition, the hostname index and a sane row can take.
        if (time < DateTimeOffset.UtcNow.AddDays(-2557) || time > DateTimeOffset.UtcNow.AddDays(31))
        {
            return "timestamp outside 7 years back .. 31 days ahead";
        }
        if (e.GetProperty("hostname").GetString()!.Length > 253)
        {
            return "hostname over 253 characters";
        }
        if (Encoding.UTF8.GetByteCount(e.GetProperty("message").GetString()!) > 65536)
        {
            return "message over 65536 bytes";
        }
        foreach (var name in OptionalStrings)
        {
            if (e.TryGetProperty(name, out var value) && value.ValueKind is not (JsonValueKind.String or JsonValueKind.Null))
            {
                return $"{name} not a string";
            }
        }
        if (e.TryGetProperty("syslog_severity", out var severity) && severity.ValueKind != JsonValueKind.Null)
        {
            if (severity.ValueKind != JsonValueKind.Number || !severity.TryGetInt32(out var s) || s is < 0 or > 7)
            {
                return "syslog_severity not an integer 0-7";
            }
        }
        return null;
    }

    public static bool IsIso8601(string text) => IsIso8601(text, out _);

    public static bool IsIso8601(string text, out DateTimeOffset time)
    {
        time = default;
        return text.Length >= 10 && char.IsAsciiDigit(text[0]) && text[4] == '-' &&
            DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out time);
    }
}
