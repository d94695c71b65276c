using Mutt.Core.Configuration;
using Mutt.Core.DeadLetters;
using Mutt.Dashboard.Apis;
using Mutt.Dashboard.Auth;
using Mutt.Dashboard.Data;
using Mutt.Dashboard.Metrics;
using Mutt.Dashboard.Services;
using Radzen;
using StackExchange.Redis;

namespace Mutt.Dashboard;

public static class Extensions
{
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddMuttRedisClient();
        builder.AddMuttNpgsqlDataSource();

        // Hosting's "Request starting" line prints the full URL, query string included, and the
        // spec's ?api_key= would land in the log. Requests are measured by DashboardMetrics instead.
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.Warning);

        builder.Services.AddOptions<DashboardOptions>().BindConfiguration("")
            .Validate<Mutt.Core.Secrets.ISecretStore>((o, secrets) => !string.IsNullOrEmpty(o.WEBUI_API_KEY)
                || !string.IsNullOrEmpty(secrets.Get(Mutt.Core.Secrets.SecretNames.WebUiApiKey)), "WEBUI_API_KEY must be set (configuration or Vault).")
            .Validate(o => o.AUDIT_LOG_PAGE_SIZE is > 0 and <= 1000, "AUDIT_LOG_PAGE_SIZE must be 1-1000.")
            .Validate(o => o.DASHBOARD_SESSION_IDLE_MINUTES is > 0 and <= 1440, "DASHBOARD_SESSION_IDLE_MINUTES must be 1-1440.")
            .ValidateOnStart();

        builder.AddDashboardAuth();

        builder.Services.AddRazorComponents().AddInteractiveServerComponents();
        builder.Services.AddRadzenComponents();
        builder.Services.AddHttpClient();
        builder.Services.AddDashboardOpenApi();

        builder.Services.AddSingleton<DashboardMetrics>();
        builder.Services.AddSingleton(sp => new DynamicConfig(sp.GetRequiredService<IConnectionMultiplexer>()));
        builder.Services.AddSingleton<AlertRuleStore>();
        builder.Services.AddSingleton<HostStore>();
        builder.Services.AddSingleton<EventAuditStore>();
        builder.Services.AddSingleton<ConfigAuditStore>();
        builder.Services.AddSingleton<AuditedTransactions>();
        builder.Services.AddSingleton<ManagementService>();
        builder.Services.AddSingleton<MaintenanceWindowStore>();
        builder.Services.AddSingleton<CorrelationRuleStore>();
        builder.Services.AddSingleton<RuleTester>();
        builder.Services.AddSingleton<MappingStore>();
        builder.Services.AddSingleton<MappingService>();
        builder.Services.AddSingleton<IFlowMetrics, RedisFlowMetrics>();
        builder.Services.AddSingleton<SloService>();
        builder.Services.AddSingleton<DeadLetterOperations>();
        return builder;
    }
}
