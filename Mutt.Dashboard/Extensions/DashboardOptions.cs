namespace Mutt.Dashboard;

/// <summary>Spec 004 Web UI environment variables, bound from flat configuration keys.</summary>
public sealed class DashboardOptions
{
#pragma warning disable CA1707 // names are the spec's environment variables
    public string WEBUI_API_KEY { get; set; } = "";
    public int AUDIT_LOG_PAGE_SIZE { get; set; } = 50;
    public string? PROMETHEUS_URL { get; set; }
    /// <summary>A session (cookie and open page) ends after this many minutes without a request or an interaction.</summary>
    public int DASHBOARD_SESSION_IDLE_MINUTES { get; set; } = 30;
#pragma warning restore CA1707
}
