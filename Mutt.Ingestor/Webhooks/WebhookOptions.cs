namespace Mutt.Ingestor.Webhooks;

/// <summary>Webhook adapter settings (flat keys, like the other Ingestor options).</summary>
public sealed class WebhookOptions
{
    /// <summary>Alertmanager and Grafana labels tried in order for the event's hostname (port stripped).</summary>
    public string WEBHOOK_HOSTNAME_LABELS { get; set; } = "instance,host,hostname";

    private string[]? _labels;

    public IReadOnlyList<string> HostnameLabels() =>
        _labels ??= WEBHOOK_HOSTNAME_LABELS.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
