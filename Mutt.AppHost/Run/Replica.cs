using Mutt.AppHost.Hosting;
using Mutt.AppHost.Model;

namespace Mutt.AppHost.Run;

/// <summary>
/// One replica of a project: its fixed ports and environment, the current process, and a
/// supervisor that restarts it with backoff (1, 2, 4 … 30 s) when it dies, like systemd's
/// <c>Restart=on-failure</c>.
/// </summary>
public sealed class Replica(MuttApplication app, ProjectResource project, int index)
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);
    // A process that stayed up this long is considered recovered: the backoff starts over.
    private static readonly TimeSpan StableAfter = TimeSpan.FromSeconds(60);
    private readonly Lock _lock = new();
    private volatile ServiceProcess? _process;
    private Task _supervisor = Task.CompletedTask;
    private volatile string _state = "Waiting";
    private int _restarts;
    private int _pid;

    public ProjectResource Project { get; } = project;
    public int Index { get; } = index;
    public string PodName => $"{Project.Name}-{Index}";
    public string State => _state;
    public int Restarts => Volatile.Read(ref _restarts);
    public int Pid => Volatile.Read(ref _pid);
    public ServiceProcess? Process => _process;

    public Uri HealthUrl => new(app.GetEndpoint(Project.Name, Project.HealthCheckEndpoint ?? "http", Index), Project.HealthCheckPath ?? "/health");

    internal void Start()
    {
        _state = "Starting";
        var environment = app.EnvironmentFor(Project, Index);
        var process = ServiceProcess.Start(PodName, app.AssemblyFor(Project), environment, (_, line) => app.Logs.Write(Project.Name, PodName, line), ownSession: true);
        _process = process;
        Volatile.Write(ref _pid, process.Pid);
        app.Log($"started {PodName} (pid {process.Pid}) {environment["ASPNETCORE_URLS"]}");
    }

    internal async Task WaitHealthyAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (Project.HealthCheckPath is not null && _process is { } process)
        {
            await process.WaitForHealthyAsync(HealthUrl.ToString(), timeout, cancellationToken).ConfigureAwait(false);
        }
        _state = "Running";
        app.Log($"{PodName} is healthy");
    }

    internal void Supervise(CancellationToken stopping) => _supervisor = Task.Run(() => SuperviseAsync(stopping), CancellationToken.None);

    private async Task SuperviseAsync(CancellationToken stopping)
    {
        var failures = 0;
        while (!stopping.IsCancellationRequested)
        {
            var process = _process;
            var startedAt = DateTime.UtcNow;
            if (process is not null)
            {
                try
                {
                    await process.Process.WaitForExitAsync(stopping).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                if (stopping.IsCancellationRequested)
                {
                    return;
                }
                failures = DateTime.UtcNow - startedAt > StableAfter ? 1 : failures + 1;
                _state = "Restarting";
                var delay = Backoff(failures);
                app.Log($"!!! {PodName} (pid {process.Pid}) EXITED with code {process.Process.ExitCode}; restarting in {delay.TotalSeconds:0} s (failure {failures}). Last output:\n    {string.Join("\n    ", process.Output.TakeLast(10))}");
                app.WriteEndpoints();
                try
                {
                    await Task.Delay(delay, stopping).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
            lock (_lock)
            {
                // StopAsync may have raced us; never start a process after the stop began.
                if (stopping.IsCancellationRequested)
                {
                    return;
                }
                try
                {
                    Start();
                    Interlocked.Increment(ref _restarts);
                }
                catch (Exception ex)
                {
                    _process = null;
                    failures++;
                    app.Log($"!!! {PodName} could not be restarted: {ex.Message}");
                }
            }
            app.WriteEndpoints();
            if (_process is { } restarted)
            {
                try
                {
                    await WaitHealthyAsync(app.HealthTimeoutFor, stopping).ConfigureAwait(false);
                    app.Log($"{PodName} is back (restart #{Restarts})");
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                catch (Exception ex)
                {
                    app.Log($"!!! {PodName} did not become healthy after restart: {ex.Message.Split('\n')[0]}");
                }
                app.WriteEndpoints();
            }
            else
            {
                try
                {
                    await Task.Delay(Backoff(failures), stopping).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>1, 2, 4, 8, 16, 30, 30 … seconds.</summary>
    public static TimeSpan Backoff(int failures) =>
        TimeSpan.FromSeconds(Math.Min(MaxBackoff.TotalSeconds, Math.Pow(2, Math.Max(0, failures - 1))));

    internal async Task StopAsync()
    {
        ServiceProcess? process;
        lock (_lock)
        {
            process = _process;
        }
        if (process is not null)
        {
            _state = "Stopping";
            app.Log($"stopping {PodName} (pid {process.Pid})");
            await process.StopAsync().ConfigureAwait(false);
        }
        await _supervisor.ConfigureAwait(false);
        // A restart that slipped in between is stopped too.
        lock (_lock)
        {
            process = _process == process ? null : _process;
        }
        if (process is not null)
        {
            await process.StopAsync().ConfigureAwait(false);
        }
        _state = "Stopped";
    }
}
