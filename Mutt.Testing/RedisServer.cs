using System.Diagnostics;
using StackExchange.Redis;

namespace Mutt.Testing;

/// <summary>
/// A real <c>redis-server</c> process on a loopback port with its data in a folder of ours.
/// Used by the AppHost's run mode and by the test fixtures alike.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private RedisServer(Process process, int port, string dataDir)
    {
        Process = process;
        Port = port;
        DataDir = dataDir;
    }

    private Action<ConfigurationOptions>? _configureClient;

    public Process Process { get; }
    public int Port { get; }
    public string DataDir { get; }
    public int Pid => Process.Id;

    /// <summary>The connection string in the form Aspire injects as ConnectionStrings__redis.</summary>
    public string ConnectionString => $"127.0.0.1:{Port}";

    public static async Task<RedisServer> StartAsync(string dataDir, int? port = null, bool appendOnly = true,
        IEnumerable<string>? extraArgs = null, Action<string>? output = null, TimeSpan? timeout = null, string? executable = null, bool ownSession = false,
        Action<ConfigurationOptions>? configureClient = null)
    {
        executable ??= NativeProcess.FindExecutable("redis-server", "/usr/sbin", "/usr/local/bin")
            ?? throw new InvalidOperationException("redis-server was not found on PATH. Install it with: apt-get install -y redis-server");
        Directory.CreateDirectory(dataDir);
        var chosenPort = port ?? NativeProcess.FreeTcpPort();
        // ownSession: a terminal's Ctrl+C must reach only the orchestrator, which stops servers last.
        var setsid = ownSession ? NativeProcess.FindExecutable("setsid", "/usr/bin", "/bin") : null;
        var info = new ProcessStartInfo(setsid ?? executable)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = dataDir,
        };
        if (setsid is not null)
        {
            info.ArgumentList.Add(executable);
        }
        foreach (var arg in new[]
                 {
                     "--port", chosenPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
                     "--bind", "127.0.0.1",
                     "--dir", dataDir,
                     "--daemonize", "no",
                     "--save", "",
                     "--appendonly", appendOnly ? "yes" : "no",
                     "--appendfsync", "everysec",
                     "--protected-mode", "yes",
                 }.Concat(extraArgs ?? []))
        {
            info.ArgumentList.Add(arg);
        }
        var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start redis-server.");
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { output?.Invoke(e.Data); } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { output?.Invoke(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var server = new RedisServer(process, chosenPort, dataDir) { _configureClient = configureClient };
        try
        {
            await server.WaitUntilReadyAsync(timeout ?? TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return server;
    }

    private async Task WaitUntilReadyAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        Exception? last = null;
        while (DateTime.UtcNow < deadline)
        {
            if (Process.HasExited)
            {
                throw new InvalidOperationException($"redis-server exited with code {Process.ExitCode} during start (port {Port}).");
            }
            try
            {
                var options = ConfigurationOptions.Parse($"{ConnectionString},abortConnect=false,connectTimeout=1000");
                _configureClient?.Invoke(options);
                using var mux = await ConnectionMultiplexer.ConnectAsync(options).ConfigureAwait(false);
                await mux.GetDatabase().PingAsync().ConfigureAwait(false);
                return;
            }
            catch (Exception ex)
            {
                last = ex;
            }
            await Task.Delay(100).ConfigureAwait(false);
        }
        throw new TimeoutException($"redis-server on port {Port} was not ready within {timeout}.", last);
    }

    public Task StopAsync() => NativeProcess.StopAsync(Process, NativeProcess.SIGTERM, TimeSpan.FromSeconds(10));

    /// <summary>kill -9, for crash tests.</summary>
    public void Kill() => NativeProcess.Signal(Process.Id, NativeProcess.SIGKILL);

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        Process.Dispose();
    }
}
