using System.Globalization;
using Mutt.Testing;

namespace Mutt.Tests.Infrastructure;

/// <summary>
/// A real Prometheus Alertmanager (Debian's <c>prometheus-alertmanager</c>) for a test: the shipped
/// deploy/alertmanager/alertmanager.yml with only its URL, key file and timings changed, its own web
/// port and storage folder, no cluster. Alerts are added with the real <c>amtool</c>. Stopped by its own pid.
/// </summary>
public sealed class AlertmanagerDaemon : IAsyncDisposable
{
    public const string Binary = "prometheus-alertmanager";
    private readonly ServiceProcess _process;

    private AlertmanagerDaemon(ServiceProcess process, string url)
    {
        _process = process;
        Url = url;
    }

    public string Url { get; }
    public IReadOnlyCollection<string> Output => _process.Output;

    /// <param name="webhookUrl">MUTT's /api/v2/ingest/alertmanager.</param>
    /// <param name="bearerKey">The ingest key, written to a mode-600 file the config names (credentials_file).</param>
    public static async Task<AlertmanagerDaemon> StartAsync(string directory, string webhookUrl, string bearerKey, TimeSpan repeatInterval)
    {
        Directory.CreateDirectory(directory);
        var keyFile = Path.Combine(directory, "mutt-ingest-key");
        await File.WriteAllTextAsync(keyFile, bearerKey);
        File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var shipped = await File.ReadAllTextAsync(Path.Combine(ChildService.RepositoryRoot, "deploy", "alertmanager", "alertmanager.yml"));
        var config = Path.Combine(directory, "alertmanager.yml");
        await File.WriteAllTextAsync(config, Replace(shipped,
            ("http://mutt-ingestor.example.net:8080/api/v2/ingest/alertmanager", webhookUrl),
            ("/etc/prometheus/mutt-ingest-key", keyFile),
            ("group_wait: 30s", "group_wait: 1s"),
            ("group_interval: 5m", "group_interval: 1s"),
            ("repeat_interval: 4h", $"repeat_interval: {(int)repeatInterval.TotalSeconds}s")));
        await NativeProcess.RunAsync("amtool", ["check-config", config], TimeSpan.FromSeconds(30));

        var port = NativeProcess.FreeTcpPort();
        var process = ServiceProcess.StartExecutable("alertmanager", Binary,
        [
            "--config.file=" + config, "--storage.path=" + Path.Combine(directory, "data"),
            "--web.listen-address=127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture), "--cluster.listen-address=",
        ]);
        var daemon = new AlertmanagerDaemon(process, $"http://127.0.0.1:{port}");
        try
        {
            await process.WaitForHealthyAsync(daemon.Url + "/-/ready", TimeSpan.FromSeconds(30));
        }
        catch
        {
            await daemon.DisposeAsync();
            throw;
        }
        return daemon;
    }

    private static string Replace(string text, params (string Find, string With)[] changes)
    {
        foreach (var (find, with) in changes)
        {
            if (!text.Contains(find, StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"deploy/alertmanager/alertmanager.yml no longer contains '{find}'");
            }
            text = text.Replace(find, with, StringComparison.Ordinal);
        }
        return text;
    }

    /// <summary><c>amtool alert add</c>: fires the alert, or (with <paramref name="endsAt"/> in the past) resolves it.</summary>
    public Task AddAlertAsync(IReadOnlyDictionary<string, string> labels, IReadOnlyDictionary<string, string> annotations, DateTimeOffset? endsAt = null)
    {
        List<string> args = ["--alertmanager.url=" + Url, "alert", "add"];
        args.AddRange(labels.Select(l => $"{l.Key}={l.Value}"));
        args.AddRange(annotations.Select(a => $"--annotation={a.Key}={a.Value}"));
        if (endsAt is { } end)
        {
            args.Add("--end=" + end.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
        }
        return NativeProcess.RunAsync("amtool", args, TimeSpan.FromSeconds(30));
    }

    public ValueTask DisposeAsync() => _process.DisposeAsync();
}
