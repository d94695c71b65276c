using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace Mutt.Core.Hosting;

/// <summary>
/// The body of every MUTT service's <c>/health</c>, in spec 004's "Health Check Response Format":
/// one field per dependency (<c>redis</c>, <c>postgres</c>: connected / degraded / disconnected),
/// the data checks report (<c>queue_depth</c>, <c>redis_master</c>), <c>version</c> and <c>service</c>.
/// ServiceDefaults maps the endpoint; <see cref="MuttDefaultsExtensions.AddMuttDefaults{TBuilder}"/> hands it this writer.
/// </summary>
public static class MuttHealthResponse
{
    /// <summary>Checks with this tag only add data (e.g. <c>redis_master</c>) to /health, no dependency field.</summary>
    public const string InfoTag = "info";

    /// <summary>Spec 004 names the dependencies <c>redis</c> and <c>postgres</c>; Aspire's client integrations name their checks after the library.</summary>
    public static string SpecName(string check) => check switch
    {
        "StackExchange.Redis" => "redis",
        "PostgreSql" => "postgres",
        _ => check,
    };

    public static Task WriteAsync(HttpContext context, HealthReport report)
    {
        var service = context.RequestServices.GetRequiredService<IHostEnvironment>().ServiceName();
        context.Response.ContentType = "application/json; charset=utf-8";
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            json.WriteString("status", report.Status == HealthStatus.Unhealthy ? "unhealthy" : report.Status == HealthStatus.Degraded ? "degraded" : "healthy");
            foreach (var (name, entry) in report.Entries)
            {
                if (!entry.Tags.Contains(InfoTag))
                {
                    json.WriteString(SpecName(name), entry.Status == HealthStatus.Healthy ? "connected" : entry.Status == HealthStatus.Degraded ? "degraded" : "disconnected");
                }
            }
            json.WriteString("timestamp", DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture));
            foreach (var (name, entry) in report.Entries)
            {
                foreach (var (key, value) in entry.Data)
                {
                    json.WritePropertyName(key);
                    JsonSerializer.Serialize(json, value, value?.GetType() ?? typeof(object));
                }
                if (entry.Status != HealthStatus.Healthy && (entry.Description ?? entry.Exception?.GetType().Name) is { } description)
                {
                    json.WriteString(SpecName(name) + "_error", description);
                }
            }
            json.WriteString("version", "2.5");
            json.WriteString("service", service);
            json.WriteEndObject();
        }
        return context.Response.Body.WriteAsync(stream.ToArray()).AsTask();
    }
}
