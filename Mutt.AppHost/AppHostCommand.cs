using System.Runtime.InteropServices;
using Microsoft.Extensions.Configuration;
using Mutt.AppHost.Model;
using Mutt.AppHost.Publishing;
using Mutt.AppHost.Run;

namespace Mutt.AppHost;

/// <summary>
/// The command line: <c>[--state-dir DIR]</c> runs the system until Ctrl+C/SIGTERM;
/// <c>--publisher manifest|kubernetes --output-path X</c> writes deployment artefacts from the same model.
/// </summary>
public static class AppHostCommand
{
    public static async Task<int> RunAsync(AppModel model, string[] args)
    {
        var configuration = new ConfigurationBuilder()
            .AddEnvironmentVariables()
            .AddCommandLine(args, new Dictionary<string, string>
            {
                ["--state-dir"] = "StateDir",
                ["--publisher"] = "Publisher",
                ["--output-path"] = "OutputPath",
            })
            .Build();

        if (configuration["Publisher"] is { } publisher)
        {
            var output = configuration["OutputPath"] ?? throw new ArgumentException("--output-path is required with --publisher.");
            switch (publisher)
            {
                case "manifest":
                    ManifestPublisher.Write(model, Path.GetFullPath(output));
                    Console.WriteLine($"wrote {Path.GetFullPath(output)}");
                    return 0;
                case "kubernetes":
                    KubernetesPublisher.Write(model, Path.GetFullPath(output));
                    Console.WriteLine($"wrote {Path.GetFullPath(output)}");
                    return 0;
                default:
                    Console.Error.WriteLine($"unknown publisher '{publisher}' (manifest, kubernetes)");
                    return 2;
            }
        }

        using var stop = new CancellationTokenSource();
        void OnSignal(PosixSignalContext context)
        {
            // We stop the children ourselves, then exit; the runtime must not end the process first.
            context.Cancel = true;
            Console.Out.WriteLine($"[apphost] {context.Signal}: stopping");
            stop.Cancel();
        }
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);

        // Replicas__<resource>=N scales a project for this run only; the published manifests keep the model's count.
        foreach (var scale in configuration.GetSection("Replicas").GetChildren())
        {
            var project = model.Projects.FirstOrDefault(p => p.Name == scale.Key);
            if (project is null || !int.TryParse(scale.Value, out var replicas) || replicas is < 1 or > 32)
            {
                Console.Error.WriteLine($"[apphost] Replicas:{scale.Key}={scale.Value} is not a project name with a count of 1-32");
                return 2;
            }
            project.Replicas = replicas;
        }

        var options = new RunOptions
        {
            StateDir = configuration["StateDir"],
            // AppHost__UseFreePorts=true / AppHost__Quiet=true: for tests and parallel runs.
            UseFreePorts = configuration["AppHost:UseFreePorts"] is "true",
            StreamLogs = configuration["AppHost:Quiet"] is not "true",
            Configuration = configuration,
        };

        MuttApplication app;
        try
        {
            app = await MuttApplication.StartAsync(model, options, stop.Token);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            Console.Out.WriteLine("[apphost] stopped during start");
            return 130;
        }
        catch (Exception ex)
        {
            Console.Error.WriteLine($"[apphost] MUTT did not start: {ex.Message}");
            return 1;
        }

        await using (app)
        {
            PrintStatus(app);
            try
            {
                await Task.Delay(Timeout.Infinite, stop.Token);
            }
            catch (OperationCanceledException)
            {
            }
            await app.StopAsync();
        }
        return 0;
    }

    private static void PrintStatus(MuttApplication app)
    {
        var rows = app.StatusRows();
        var widths = new[]
        {
            Math.Max(8, rows.Max(r => r.Resource.Length)),
            Math.Max(5, rows.Max(r => r.State.Length)),
            Math.Max(3, rows.Max(r => r.Url.Length)),
        };
        var lines = new List<string>
        {
            "",
            $"{"RESOURCE".PadRight(widths[0])}  {"STATE".PadRight(widths[1])}  {"URL".PadRight(widths[2])}  PID",
        };
        lines.AddRange(rows.Select(r => $"{r.Resource.PadRight(widths[0])}  {r.State.PadRight(widths[1])}  {r.Url.PadRight(widths[2])}  {r.Pid}"));
        lines.Add("");
        lines.Add($"Dashboard:   {app.DashboardUrl}");
        lines.Add($"Ingest API:  {app.IngestorUrl}api/v2/ingest (header X-API-KEY: parameter ingest-api-key)");
        lines.Add($"Endpoints:   {app.EndpointsFile}");
        lines.Add($"Parameters:  {app.ParametersFile} (values are not printed)");
        lines.Add($"Logs:        {Path.Combine(app.StateDir, "logs")}");
        lines.Add("Ctrl+C stops everything.");
        lines.Add("");
        Console.Out.WriteLine(string.Join(Environment.NewLine, lines));
    }
}
