using System.Diagnostics;
using System.Net.Sockets;
using Mutt.Testing;

namespace Mutt.Tests.Integration;

/// <summary>
/// A redis-server started with arguments of the test's choosing (TLS only, requirepass), which
/// <see cref="RedisServer"/> cannot wait for (its readiness probe is plain and unauthenticated).
/// Ready = the port accepts TCP. Stopped by PID.
/// </summary>
public sealed class TlsRedisProcess : IAsyncDisposable
{
    private TlsRedisProcess(Process process, int port)
    {
        Process = process;
        Port = port;
    }

    public Process Process { get; }
    public int Port { get; }
    public List<string> Output { get; } = [];

    /// <summary>Starts redis-server on a free port; <paramref name="tls"/> true = TLS only (--port 0 --tls-port P).</summary>
    public static async Task<TlsRedisProcess> StartAsync(string dataDir, bool tls, IEnumerable<string> extraArgs)
    {
        Directory.CreateDirectory(dataDir);
        var port = NativeProcess.FreeTcpPort();
        var info = new ProcessStartInfo(NativeProcess.FindExecutable("redis-server", "/usr/sbin", "/usr/local/bin") ?? "redis-server")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = dataDir,
        };
        var args = new List<string> { "--bind", "127.0.0.1", "--dir", dataDir, "--save", "", "--appendonly", "no", "--daemonize", "no" };
        args.AddRange(tls ? ["--port", "0", "--tls-port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)] : ["--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        args.AddRange(extraArgs);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        var process = Process.Start(info)!;
        var server = new TlsRedisProcess(process, port);
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (server.Output) { server.Output.Add(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (server.Output) { server.Output.Add(e.Data); } } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException("redis-server exited: " + string.Join("\n", server.Output));
            }
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync("127.0.0.1", port);
                return server;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }
        }
    }

    public string ConnectionString => $"127.0.0.1:{Port}";

    public async ValueTask DisposeAsync()
    {
        await NativeProcess.StopAsync(Process, NativeProcess.SIGTERM, TimeSpan.FromSeconds(10));
        Process.Dispose();
    }
}
