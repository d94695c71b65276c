using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Mutt.Core.Events;
using Mutt.Core.Webhooks;
using Mutt.Ingestor.Ingest;

namespace Mutt.Ingestor.Webhooks;

/// <summary>
/// What differs between the Prometheus-style alert webhooks: Alertmanager's (payload version 4) and
/// Grafana unified alerting's (version 1, Alertmanager's shape plus a few fields). Field maps:
/// docs/ingestor.md "Webhook sources".
/// </summary>
public sealed record AlertWebhookFormat(string Source, string Version, string CorrelationPrefix,
    IReadOnlyList<(string Json, string Mutt)> NotificationFields, IReadOnlyList<(string Json, string Mutt)> AlertFields)
{
    public static readonly AlertWebhookFormat Alertmanager = new("alertmanager", "4", "am-",
        [("receiver", "receiver"), ("groupKey", "group_key"), ("externalURL", "external_url")],
        [("fingerprint", "fingerprint"), ("endsAt", "ends_at"), ("generatorURL", "generator_url")]);

    public static readonly AlertWebhookFormat Grafana = new("grafana", "1", "grafana-",
        [("receiver", "receiver"), ("groupKey", "group_key"), ("externalURL", "external_url"), ("orgId", "org_id")],
        [("fingerprint", "fingerprint"), ("endsAt", "ends_at"), ("generatorURL", "generator_url"), ("silenceURL", "silence_url"), ("dashboardURL", "dashboard_url"),
         ("panelURL", "panel_url"), ("values", "values"), ("valueString", "value_string")]);
}

/// <summary>
/// Turns an Alertmanager or Grafana notification into one MUTT event per alert. Pure. The whole
/// notification is refused (400 naming each bad field, e.g. <c>alerts[2].startsAt</c>) if any alert
/// does not map, so the sender's retry carries all of it again.
/// <list type="bullet">
/// <item>hostname: the first of the configured labels present (default instance, host, hostname), port stripped; else the source's name;</item>
/// <item>message: <c>alertname: summary</c> (or the description annotation, or alertname alone);</item>
/// <item>syslog_severity: the <c>severity</c> label by <see cref="WebhookValues.SeverityNames"/> (or a digit 0–7); absent when unknown;</item>
/// <item>timestamp: <c>startsAt</c>; stable_key: source + fingerprint (one Moogsoft signature for repeats and the clear);</item>
/// <item>alert_status: <c>firing</c> | <c>resolved</c>; labels and annotations kept as sent;</item>
/// <item>correlation_id: derived from fingerprint, startsAt and status, so a notification the sender
/// retries (or repeats) maps to the same audit row instead of a second one.</item>
/// </list>
/// </summary>
public static class AlertWebhookParser
{
    public static ParsedBatch Parse(IngestBody body, AlertWebhookFormat format, IReadOnlyList<string> hostnameLabels)
    {
        using var document = WebhookBatchBuilder.ParseDocument(body, out var refused);
        if (document is null)
        {
            return refused!;
        }
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            return WebhookBatchBuilder.Refuse("$", $"must be a JSON object (a {format.Source} webhook notification)");
        }
        if (!root.TryGetProperty("version", out var version) || version.ValueKind != JsonValueKind.String || version.GetString() != format.Version)
        {
            return WebhookBatchBuilder.Refuse("version", $"must be \"{format.Version}\": MUTT reads {format.Source} webhook payload version {format.Version}");
        }
        if (!root.TryGetProperty("alerts", out var alerts) || alerts.ValueKind != JsonValueKind.Array)
        {
            return WebhookBatchBuilder.Refuse("alerts", "is required: an array of alerts");
        }
        var count = alerts.GetArrayLength();
        if (count == 0)
        {
            return WebhookBatchBuilder.Refuse("alerts", "is empty");
        }
        if (count > body.Limits.MaxBatchSize)
        {
            return WebhookBatchBuilder.TooMany(count, body.Limits.MaxBatchSize);
        }

        var notificationFields = new List<KeyValuePair<string, JsonElement>>(format.NotificationFields.Count);
        foreach (var (json, mutt) in format.NotificationFields)
        {
            if (root.TryGetProperty(json, out var value) && value.ValueKind != JsonValueKind.Null)
            {
                notificationFields.Add(new(mutt, value));
            }
        }

        using var builder = new WebhookBatchBuilder(body);
        var index = 0;
        var timestamps = new TimestampCache();
        foreach (var alert in alerts.EnumerateArray())
        {
            if (Map(alert, index, format, hostnameLabels, builder, ref timestamps) is { } e)
            {
                e.Extra.AddRange(notificationFields);
                builder.Add(e, "alerts", index);
            }
            index++;
        }
        return builder.Finish(format.Source);
    }

    /// <summary>
    /// The last startsAt seen and its normalised form: the alerts of one notification often share it
    /// (Prometheus stamps every alert of a rule evaluation alike), and parsing it is a good part of an alert's cost.
    /// </summary>
    private struct TimestampCache
    {
        private string? _raw;
        private string _normalized;

        public bool TryNormalize(string raw, out string normalized)
        {
            if (raw == _raw)
            {
                normalized = _normalized;
                return true;
            }
            if (!WebhookValues.TryNormalizeTimestamp(raw, out normalized, out _))
            {
                return false;
            }
            (_raw, _normalized) = (raw, normalized);
            return true;
        }
    }

    private static WebhookEvent? Map(JsonElement alert, int index, AlertWebhookFormat format, IReadOnlyList<string> hostnameLabels, WebhookBatchBuilder builder,
        ref TimestampCache timestamps)
    {
        // Built only when something is wrong: the field names of the 400 (a local function: no allocation otherwise).
        string At(string field) => $"alerts[{index}]{field}";
        if (alert.ValueKind != JsonValueKind.Object)
        {
            builder.Error(At(""), "must be a JSON object");
            return null;
        }
        var errors = builder.Errors.Count;
        string? status = null;
        if (!alert.TryGetProperty("status", out var statusValue) || statusValue.ValueKind != JsonValueKind.String
            || (status = statusValue.GetString()) is not (EnvelopeFields.Firing or EnvelopeFields.Resolved))
        {
            builder.Error(At(".status"), "must be \"firing\" or \"resolved\"");
        }
        if (!alert.TryGetProperty("labels", out var labels) || labels.ValueKind != JsonValueKind.Object)
        {
            builder.Error(At(".labels"), "is required: an object of label names to values");
            return null;
        }
        JsonElement? annotations = alert.TryGetProperty("annotations", out var a) && a.ValueKind == JsonValueKind.Object ? a : null;
        if (a.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Null or JsonValueKind.Object))
        {
            builder.Error(At(".annotations"), "must be an object of annotation names to values");
        }

        string? startsRaw = null;
        var timestamp = "";
        if (!alert.TryGetProperty("startsAt", out var starts) || starts.ValueKind != JsonValueKind.String
            || !timestamps.TryNormalize(startsRaw = starts.GetString()!, out timestamp))
        {
            builder.Error(At(".startsAt"), "is required: an RFC 3339 date-time");
        }
        string? fingerprint = null;
        if (!alert.TryGetProperty("fingerprint", out var fp) || fp.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(fingerprint = fp.GetString()))
        {
            builder.Error(At(".fingerprint"), $"is required: {format.Source}'s identity of the alert (the stable Moogsoft signature)");
        }

        var alertname = LabelText(labels, "alertname");
        var detail = annotations is { } ann ? LabelText(ann, "summary") ?? LabelText(ann, "description") : null;
        var message = alertname is null ? detail : detail is null ? alertname : $"{alertname}: {detail}";
        if (message is null)
        {
            builder.Error(At(".labels.alertname"), "is required (or a summary or description annotation): it is the event's message");
        }
        if (builder.Errors.Count != errors)
        {
            return null;
        }

        var e = new WebhookEvent
        {
            Timestamp = timestamp,
            Message = message!,
            Hostname = Hostname(labels, hostnameLabels) ?? format.Source,
            Source = format.Source,
            SyslogSeverity = Severity(LabelText(labels, "severity")),
            StableKey = $"{format.Source}:{fingerprint}",
            AlertStatus = status,
            Labels = labels,
            Annotations = annotations,
            CorrelationId = CorrelationId(format.CorrelationPrefix, fingerprint!, startsRaw!, status!),
        };
        foreach (var (json, mutt) in format.AlertFields)
        {
            if (alert.TryGetProperty(json, out var value) && value.ValueKind != JsonValueKind.Null)
            {
                e.Extra.Add(new(mutt, value));
            }
        }
        return e;
    }

    private static string? LabelText(JsonElement labels, string name) =>
        labels.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } text ? text : null;

    private static string? Hostname(JsonElement labels, IReadOnlyList<string> hostnameLabels)
    {
        foreach (var name in hostnameLabels)
        {
            if (LabelText(labels, name) is { } value && WebhookValues.StripPort(value) is { Length: > 0 } host)
            {
                return host;
            }
        }
        return null;
    }

    public static int? Severity(string? label) =>
        label is null ? null
        : label.Length == 1 && label[0] is >= '0' and <= '7' ? label[0] - '0'
        : WebhookValues.SeverityNames.TryGetValue(label, out var severity) ? severity : null;

    /// <summary>Prefix + 32 hex digits of SHA-256(fingerprint | startsAt | status): a resend or repeat of one alert state maps to one audit row.</summary>
    public static string CorrelationId(string prefix, string fingerprint, string startsAt, string status)
    {
        var length = Encoding.UTF8.GetMaxByteCount(fingerprint.Length + startsAt.Length + status.Length + 2);
        var rented = length <= 512 ? null : new byte[length];
        Span<byte> text = rented ?? stackalloc byte[512];
        var at = Encoding.UTF8.GetBytes(fingerprint, text);
        text[at++] = (byte)'|';
        at += Encoding.UTF8.GetBytes(startsAt, text[at..]);
        text[at++] = (byte)'|';
        at += Encoding.UTF8.GetBytes(status, text[at..]);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(text[..at], hash);
        return string.Concat(prefix, Convert.ToHexStringLower(hash[..16]));
    }
}
