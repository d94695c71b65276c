using System.Globalization;
using System.Text.Json;
using Mutt.Core.Events;

namespace Mutt.Core.Webhooks;

/// <summary>
/// A <see cref="WebhookMapping"/> compiled for use: its paths parsed once. <see cref="Map"/> turns one
/// item of a body into a <see cref="WebhookEvent"/> or names every field that does not map. Pure; the
/// Ingestor and the Dashboard's mapping tester both call it.
/// </summary>
public sealed class MappedSource
{
    /// <summary>The original item is kept under this name in the event (nothing the sender said is lost).</summary>
    public const string PayloadField = "payload";

    private readonly JsonPath _hostname;
    private readonly JsonPath _message;
    private readonly JsonPath? _severity;
    private readonly JsonPath? _timestamp;
    private readonly JsonPath? _trapOid;
    private readonly JsonPath? _stableKey;
    private readonly JsonPath? _labels;
    private readonly JsonPath? _status;
    private readonly HashSet<string> _resolved;
    private readonly Dictionary<string, int> _severityExact;
    private readonly Dictionary<string, int> _severityIgnoreCase;

    /// <exception cref="ArgumentException">The mapping is invalid (<see cref="WebhookMappingValidator"/>).</exception>
    public MappedSource(WebhookMapping mapping)
    {
        if (WebhookMappingValidator.Validate(mapping) is { Count: > 0 } errors)
        {
            throw new ArgumentException($"Mapping '{mapping.Name}' is invalid: {string.Join(" ", errors.SelectMany(e => e.Value))}", nameof(mapping));
        }
        Mapping = mapping;
        _hostname = Parse(mapping.HostnamePath)!;
        _message = Parse(mapping.MessagePath)!;
        _severity = Parse(mapping.SeverityPath);
        _timestamp = Parse(mapping.TimestampPath);
        _trapOid = Parse(mapping.TrapOidPath);
        _stableKey = Parse(mapping.StableKeyPath);
        _labels = Parse(mapping.LabelsPath);
        _status = Parse(mapping.StatusPath);
        _resolved = new HashSet<string>(mapping.ResolvedValues.Select(v => v.Trim()), StringComparer.OrdinalIgnoreCase);
        _severityExact = new Dictionary<string, int>(mapping.SeverityMap, StringComparer.Ordinal);
        _severityIgnoreCase = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        foreach (var (value, severity) in mapping.SeverityMap)
        {
            _severityIgnoreCase.TryAdd(value, severity);
        }
    }

    public WebhookMapping Mapping { get; }
    public string Name => Mapping.Name;

    private static JsonPath? Parse(string? text) =>
        string.IsNullOrWhiteSpace(text) ? null : JsonPath.TryParse(text, out var path, out _) ? path : null;

    /// <summary>
    /// The event for one item, or null with the reasons in <paramref name="errors"/>, keyed by the MUTT
    /// field (<paramref name="prefix"/> + <c>hostname</c>, e.g. <c>[3].hostname</c>) and naming the path.
    /// </summary>
    /// <param name="receivedText">The envelope's received_at: the event time when the mapping has no timestamp path.</param>
    public WebhookEvent? Map(JsonElement item, string prefix, string receivedText, IDictionary<string, string[]> errors)
    {
        var before = errors.Count;
        void Error(string field, string message) => errors[prefix + field] = [message];

        if (item.ValueKind != JsonValueKind.Object)
        {
            errors[prefix.Length == 0 ? "$" : prefix.TrimEnd('.')] = ["must be a JSON object"];
            return null;
        }
        var hostname = RequiredText(item, _hostname, "hostname", Error);
        var message = RequiredText(item, _message, "message", Error);

        int? severity = null;
        if (_severity is not null && _severity.TryResolve(item, out var rawSeverity))
        {
            severity = Severity(rawSeverity);
            if (severity is null)
            {
                Error("syslog_severity", $"the value {Show(rawSeverity)} at '{_severity}' is not in the severity map, nor 0-7, nor a known severity word");
            }
        }

        var timestamp = receivedText;
        if (_timestamp is not null && _timestamp.TryResolve(item, out var rawTimestamp) && !WebhookValues.TryTimestamp(rawTimestamp, out timestamp))
        {
            Error("timestamp", $"the value {Show(rawTimestamp)} at '{_timestamp}' is neither an ISO 8601 date-time nor Unix seconds or milliseconds");
        }

        string? trapOid = null;
        if (_trapOid is not null && _trapOid.TryResolve(item, out var rawOid))
        {
            trapOid = Scalar(rawOid);
            if (trapOid is null || trapOid.Length == 0 || trapOid.AsSpan().TrimStart('.').IndexOfAnyExcept("0123456789.") >= 0)
            {
                Error("trap_oid", $"the value {Show(rawOid)} at '{_trapOid}' is not an OID (digits and dots)");
            }
        }

        string? stableKey = null;
        if (_stableKey is not null && _stableKey.TryResolve(item, out var rawKey))
        {
            stableKey = Scalar(rawKey) is { Length: > 0 } key ? $"{Name}:{key}" : null;
            if (stableKey is null)
            {
                Error("stable_key", $"the value at '{_stableKey}' must be a non-empty string or number");
            }
        }

        JsonElement? labels = null;
        if (_labels is not null && _labels.TryResolve(item, out var rawLabels))
        {
            if (rawLabels.ValueKind != JsonValueKind.Object)
            {
                Error("labels", $"the value at '{_labels}' must be a JSON object");
            }
            labels = rawLabels;
        }

        string? status = null;
        if (_status is not null)
        {
            // A missing status is firing: a source that says nothing about resolution raised something.
            if (!_status.TryResolve(item, out var rawStatus))
            {
                status = EnvelopeFields.Firing;
            }
            else if ((rawStatus.ValueKind is JsonValueKind.True or JsonValueKind.False ? rawStatus.GetRawText() : Scalar(rawStatus)) is { } statusText)
            {
                status = _resolved.Contains(statusText.Trim()) ? EnvelopeFields.Resolved : EnvelopeFields.Firing;
            }
            else
            {
                Error("alert_status", $"the value {Show(rawStatus)} at '{_status}' must be a string, number or boolean");
            }
        }

        if (errors.Count != before)
        {
            return null;
        }
        var e = new WebhookEvent
        {
            Timestamp = timestamp,
            Message = message!,
            Hostname = hostname!,
            Source = Name,
            SyslogSeverity = severity,
            TrapOid = trapOid?.TrimStart('.'),
            StableKey = stableKey,
            Labels = labels,
            AlertStatus = status,
        };
        e.Extra.Add(new(PayloadField, item));
        return e;
    }

    private int? Severity(JsonElement value)
    {
        var text = Scalar(value);
        if (text is null)
        {
            return null;
        }
        if (_severityExact.TryGetValue(text, out var mapped) || _severityIgnoreCase.TryGetValue(text, out mapped))
        {
            return mapped;
        }
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number is >= 0 and <= 7)
        {
            return number;
        }
        return WebhookValues.SeverityNames.TryGetValue(text, out var named) ? named : null;
    }

    private static string? RequiredText(JsonElement item, JsonPath path, string field, Action<string, string> error)
    {
        if (!path.TryResolve(item, out var value))
        {
            error(field, $"no value at '{path}' (the mapping's {field}_path)");
            return null;
        }
        var text = Scalar(value);
        if (text is null)
        {
            error(field, $"the value at '{path}' must be a string or a number, not {value.ValueKind.ToString().ToLowerInvariant()}");
        }
        else if (string.IsNullOrWhiteSpace(text))
        {
            error(field, $"the value at '{path}' is empty");
        }
        return text;
    }

    /// <summary>A string's text or a number's JSON text; null for objects, arrays and booleans.</summary>
    private static string? Scalar(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString(),
        JsonValueKind.Number => value.GetRawText(),
        _ => null,
    };

    private static string Show(JsonElement value)
    {
        var raw = value.GetRawText();
        return raw.Length <= 60 ? raw : raw[..57] + "...";
    }
}
