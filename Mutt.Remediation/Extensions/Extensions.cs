using Mutt.Core.DeadLetters;
using Mutt.Remediation.Maintenance;
using Mutt.Remediation.Services;
using StackExchange.Redis;

namespace Mutt.Remediation.Extensions;

public static class Extensions
{
    public static void AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddMuttRedisClient();
        builder.AddMuttNpgsqlDataSource();
        builder.Services.AddOptions<RemediationOptions>().BindConfiguration("")
            .Validate(o => o.ScanIntervalSeconds > 0 && o.MaxRetries >= 0 && o.BackoffBaseSeconds >= 0, "Remediation intervals must be positive.")
            .ValidateOnStart();
        builder.Services.AddSingleton<DeadLetterOperations>();
        builder.Services.AddSingleton<RemediationMetrics>();
        builder.Services.AddSingleton<DlqScanner>();
        builder.Services.AddSingleton<AuditArchiveStorage>();
        builder.Services.AddSingleton<AuditArchiver>();
        builder.Services.AddSingleton<PartitionMaintenance>();
        builder.Services.AddHostedService<RemediationWorker>();
        builder.Services.AddHostedService<MaintenanceWorker>();
    }
}
