using System.Net;
using Mutt.Tests.Infrastructure;
using Mutt.Tests.Reliability;

namespace Mutt.Tests.EndToEnd;

// Shares PipelineTests' running system (one start instead of two); the checks live in Reliability/SecretLeakScan.cs.
public sealed partial class PipelineTests
{
    [Fact]
    public async Task Secrets_appear_in_no_log_line_and_no_health_or_metrics_body()
    {
        var secrets = SecretLeakScan.SecretsOf(App);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(15) };
        var made = await SecretLeakScan.DriveTrafficAsync(App, http);

        // Every good event of the drive is audited: the logs hold a full pass of every service's hot path.
        var marker = await IngestOneAsync(NewId("leak-marker"), "CRITICAL leak scan marker", "core-router-01");
        await AuditedAsync(marker);
        await Eventually.WaitForAsync(() => SystemTraffic.SinkEventsAsync(http, App.SinkUrl, marker), a => a.Count > 0, Deadline, "the marker at the sink");

        var findings = new List<string>();
        findings.AddRange(await SecretLeakScan.ScanEndpointsAsync(App, http, [.. secrets.ApiKeys, .. made]));
        findings.AddRange(SecretLeakScan.ScanLogs(App, [.. secrets.All, .. made]));
        Assert.True(findings.Count == 0, "secrets leaked:\n" + string.Join('\n', findings.Take(20)));
        Assert.True(SecretLeakScan.LinesScanned(App) > 0, "no log lines were scanned");
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri(App.IngestorUrl, "/health"))).StatusCode);
        // The two files allowed to hold them are readable by their owner only.
        foreach (var file in new[] { App.EndpointsFile, App.ParametersFile })
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        }
    }
}
