using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reflection;

namespace Mutt.Testing;

/// <summary>
/// One MUTT service (or the sink) running as a real child process: <c>dotnet Mutt.X.dll</c>
/// with its configuration in environment variables, exactly as the AppHost (or Aspire) starts
/// it; or a native daemon a test runs (<see cref="StartExecutable"/>). Output lines are kept (bounded) and forwarded to an optional sink. Used by the AppHost
/// and by end-to-end tests that need a real process to kill.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private const int MaxKeptLines = 5000;
    private readonly ConcurrentQueue<string> _lines = new();

    private ServiceProcess(string name, Process process)
    {
        Name = name;
        Process = process;
    }

    public string Name { get; }
    public Process Process { get; }
    public int Pid => Process.Id;
    public bool HasExited => Process.HasExited;

    /// <summary>The most recent output lines (stdout and stderr).</summary>
    public IReadOnlyCollection<string> Output => _lines.ToArray();

    /// <summary>
    /// The build configuration (Debug, Release) this assembly was built in. A project reference builds
    /// Mutt.Testing in its referrer's configuration, so tests run with `-c Release` start Release services.
    /// </summary>
    public static string BuildConfiguration { get; } =
        typeof(ServiceProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().SingleOrDefault(a => a.Key == "Configuration")?.Value
        ?? throw new InvalidOperationException("Mutt.Testing carries no Configuration metadata (see Mutt.Testing.csproj).");

    /// <summary>The built assembly of a project next to the repository root, e.g. Mutt.Alerter/bin/&lt;configuration&gt;/net10.0/Mutt.Alerter.dll.</summary>
    public static string AssemblyPath(string repositoryRoot, string project, string? configuration = null) =>
        Path.Combine(repositoryRoot, project, "bin", configuration ?? BuildConfiguration, "net10.0", project + ".dll");

    /// <summary>Walks up from <paramref name="start"/> to the folder holding Mutt.sln.</summary>
    public static string FindRepositoryRoot(string? start = null)
    {
        var dir = new DirectoryInfo(start ?? AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Mutt.sln")))
        {
            dir = dir.Parent;
        }
        return dir?.FullName ?? throw new InvalidOperationException("Mutt.sln was not found above " + (start ?? AppContext.BaseDirectory));
    }

    public static ServiceProcess Start(string name, string assemblyPath, IReadOnlyDictionary<string, string?> environment, Action<string, string>? output = null,
        IEnumerable<string>? arguments = null, bool ownSession = false)
    {
        if (!File.Exists(assemblyPath))
        {
            throw new FileNotFoundException($"{name}: {assemblyPath} does not exist; build the solution first.", assemblyPath);
        }
        // ownSession: the terminal's Ctrl+C reaches only the orchestrator, which then stops its
        // children in order (a service exiting on its own would look like a crash to restart).
        // setsid execs in place (a fresh child is no group leader), so the PID stays the service's.
        var setsid = ownSession ? NativeProcess.FindExecutable("setsid", "/usr/bin", "/bin") : null;
        var info = new ProcessStartInfo(setsid ?? "dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(assemblyPath)!,
        };
        if (setsid is not null)
        {
            info.ArgumentList.Add("dotnet");
        }
        info.ArgumentList.Add(assemblyPath);
        foreach (var argument in arguments ?? [])
        {
            info.ArgumentList.Add(argument);
        }
        // Production unless the caller says otherwise: Development would send stack traces to
        // clients. The Dashboard serves its static web assets from the build output itself.
        info.Environment["DOTNET_ENVIRONMENT"] = "Production";
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        return Launch(name, info, environment, output);
    }

    /// <summary>
    /// A native program (a daemon such as rsyslogd or Alertmanager) as a child process, its output kept
    /// and its stop handled like a service's. <paramref name="executable"/> is a name on PATH or a path.
    /// </summary>
    /// <param name="environment">Variables to set (a null value removes one) on top of this process's.</param>
    public static ServiceProcess StartExecutable(string name, string executable, IEnumerable<string> arguments,
        IReadOnlyDictionary<string, string?>? environment = null, Action<string, string>? output = null)
    {
        var info = new ProcessStartInfo(executable) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        return Launch(name, info, environment ?? new Dictionary<string, string?>(), output);
    }

    private static ServiceProcess Launch(string name, ProcessStartInfo info, IReadOnlyDictionary<string, string?> environment, Action<string, string>? output)
    {
        foreach (var (key, value) in environment)
        {
            if (value is null)
            {
                info.Environment.Remove(key);
            }
            else
            {
                info.Environment[key] = value;
            }
        }
        var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {name}.");
        var service = new ServiceProcess(name, process);
        process.OutputDataReceived += (_, e) => service.OnLine(e.Data, output);
        process.ErrorDataReceived += (_, e) => service.OnLine(e.Data, output);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return service;
    }

    private void OnLine(string? line, Action<string, string>? output)
    {
        if (line is null)
        {
            return;
        }
        _lines.Enqueue(line);
        while (_lines.Count > MaxKeptLines && _lines.TryDequeue(out _))
        {
        }
        output?.Invoke(Name, line);
    }

    /// <summary>Polls an HTTP URL (e.g. /health) until it answers 200, the process dies, or the deadline passes.</summary>
    public async Task WaitForHealthyAsync(string url, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        await WaitUntilReadyAsync(async ct =>
        {
            try
            {
                using var response = await http.GetAsync(url, ct).ConfigureAwait(false);
                return response.IsSuccessStatusCode;
            }
            catch (HttpRequestException)
            {
                return false;
            }
            catch (TaskCanceledException) when (!ct.IsCancellationRequested)
            {
                return false;
            }
        }, timeout, $"healthy at {url}", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Polls <paramref name="ready"/> until it says true; fails at once, with the last output, when the
    /// process exits first, and with a <see cref="TimeoutException"/> when the deadline passes.
    /// </summary>
    /// <param name="what">What ready means, for the messages ("healthy at http://…/health").</param>
    public async Task WaitUntilReadyAsync(Func<CancellationToken, Task<bool>> ready, TimeSpan timeout, string what, CancellationToken cancellationToken = default)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (Process.HasExited)
            {
                throw new InvalidOperationException($"{Name} exited with code {Process.ExitCode} before it was {what}. Last output:\n{string.Join('\n', Output.TakeLast(30))}");
            }
            if (await ready(cancellationToken).ConfigureAwait(false))
            {
                return;
            }
            await Task.Delay(200, cancellationToken).ConfigureAwait(false);
        }
        throw new TimeoutException($"{Name} was not {what} within {timeout}. Last output:\n{string.Join('\n', Output.TakeLast(30))}");
    }

    /// <summary>Graceful stop: SIGTERM, then SIGKILL after the grace period.</summary>
    public Task StopAsync(TimeSpan? grace = null) => NativeProcess.StopAsync(Process, NativeProcess.SIGTERM, grace ?? TimeSpan.FromSeconds(15));

    /// <summary>kill -9: the crash the reliability tests need.</summary>
    public async Task KillAsync()
    {
        NativeProcess.Signal(Process.Id, NativeProcess.SIGKILL);
        await Process.WaitForExitAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        Process.Dispose();
    }
}
