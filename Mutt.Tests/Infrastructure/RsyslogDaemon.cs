using System.Net.Sockets;
using System.Text;
using Mutt.Testing;

namespace Mutt.Tests.Infrastructure;

/// <summary>
/// A real rsyslogd for a test: its own config file, pid file and work directory in a temp folder,
/// an imtcp input on a free loopback port that the test feeds, and the given output config.
/// Stopped by its own pid (other rsyslogd processes on the machine are never touched).
/// </summary>
public sealed class RsyslogDaemon : IAsyncDisposable
{
    private readonly ServiceProcess _process;

    private RsyslogDaemon(ServiceProcess process, string directory, int inputPort)
    {
        _process = process;
        Directory = directory;
        InputPort = inputPort;
    }

    public string Directory { get; }
    public int InputPort { get; }
    public int Pid => _process.Pid;
    public IReadOnlyCollection<string> Output => _process.Output;

    /// <summary>Writes the config (a private work directory, imtcp on a free port, then <paramref name="outputConfig"/>) and starts rsyslogd -n.</summary>
    public static async Task<RsyslogDaemon> StartAsync(string directory, string outputConfig, string? extraModules = null)
    {
        var work = Path.Combine(directory, "work");
        System.IO.Directory.CreateDirectory(work);
        var inputPort = NativeProcess.FreeTcpPort();
        var config = Path.Combine(directory, "rsyslog.conf");
        await File.WriteAllTextAsync(config, $"""
            global(workDirectory="{work}" maxMessageSize="64k")
            module(load="imtcp")
            {extraModules}
            input(type="imtcp" address="127.0.0.1" port="{inputPort}")
            {outputConfig}
            """);
        await NativeProcess.RunAsync("rsyslogd", ["-N1", "-f", config], TimeSpan.FromSeconds(30));
        var process = ServiceProcess.StartExecutable("rsyslogd", "rsyslogd", ["-n", "-f", config, "-i", Path.Combine(directory, "rsyslogd.pid")]);
        var daemon = new RsyslogDaemon(process, directory, inputPort);
        try
        {
            // Ready when its input accepts a connection.
            await process.WaitUntilReadyAsync(async ct =>
            {
                try
                {
                    using var probe = new TcpClient();
                    await probe.ConnectAsync("127.0.0.1", inputPort, ct);
                    return true;
                }
                catch (SocketException)
                {
                    return false;
                }
            }, TimeSpan.FromSeconds(30), "accepting on its imtcp input");
        }
        catch
        {
            await daemon.DisposeAsync();
            throw;
        }
        return daemon;
    }

    /// <summary>
    /// A shipped deploy/rsyslog file with only its forward target pointed at 127.0.0.1:<paramref name="port"/>
    /// (the file's own <paramref name="shippedPort"/>), and any further exact <paramref name="changes"/>; each must apply.
    /// </summary>
    public static string ShippedForwarding(string file, int shippedPort, int port, params (string Find, string With)[] changes)
    {
        var text = File.ReadAllText(Path.Combine(ChildService.RepositoryRoot, "deploy", "rsyslog", file));
        foreach (var (find, with) in changes.Prepend(("target=\"mutt-ingestor.example.com\"", "target=\"127.0.0.1\""))
            .Append(($"port=\"{shippedPort}\"", $"port=\"{port}\"")))
        {
            Assert.True(text.Contains(find, StringComparison.Ordinal), $"deploy/rsyslog/{file} no longer contains {find}");
            text = text.Replace(find, with, StringComparison.Ordinal);
        }
        return text;
    }

    /// <summary>Sends newline-framed syslog lines to the daemon's imtcp input over one connection.</summary>
    public async Task SendAsync(IEnumerable<string> lines)
    {
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", InputPort);
        var stream = client.GetStream();
        var chunk = new StringBuilder();
        foreach (var line in lines)
        {
            chunk.Append(line).Append('\n');
            if (chunk.Length > 60_000)
            {
                await stream.WriteAsync(Encoding.UTF8.GetBytes(chunk.ToString()));
                chunk.Clear();
            }
        }
        await stream.WriteAsync(Encoding.UTF8.GetBytes(chunk.ToString()));
        await stream.FlushAsync();
        client.Client.Shutdown(SocketShutdown.Send);
    }

    public ValueTask DisposeAsync() => _process.DisposeAsync();
}
