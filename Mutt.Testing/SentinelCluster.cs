using System.Diagnostics;
using System.Globalization;
using StackExchange.Redis;

namespace Mutt.Testing;

/// <summary>
/// A Redis master, one replica and three <c>redis-sentinel</c> processes on free loopback ports in a
/// folder of ours: the smallest Sentinel deployment that can fail over (quorum 2 of 3). For tests and
/// local failover drills; every process is stopped by PID on dispose.
/// </summary>
public sealed class SentinelCluster : IAsyncDisposable
{
    /// <summary>
    /// Optional password (requirepass of data nodes and Sentinels, masterauth, auth-pass, sentinel-pass)
    /// and TLS (every node listens on TLS only, replication and Sentinel links over TLS).
    /// </summary>
    public sealed record Security(string? Password = null, string? TlsCertFile = null, string? TlsKeyFile = null, string? TlsCaFile = null)
    {
        public bool Tls => TlsCertFile is not null;

        internal IEnumerable<string> DataNodeArgs(int port)
        {
            var inv = CultureInfo.InvariantCulture;
            if (Tls)
            {
                yield return "--port"; yield return "0";
                yield return "--tls-port"; yield return port.ToString(inv);
                yield return "--tls-cert-file"; yield return TlsCertFile!;
                yield return "--tls-key-file"; yield return TlsKeyFile!;
                yield return "--tls-ca-cert-file"; yield return TlsCaFile!;
                yield return "--tls-auth-clients"; yield return "no";
                yield return "--tls-replication"; yield return "yes";
            }
            if (Password is not null)
            {
                yield return "--requirepass"; yield return Password;
                yield return "--masterauth"; yield return Password;
            }
        }

        internal IEnumerable<string> SentinelLines(string serviceName, int port)
        {
            var inv = CultureInfo.InvariantCulture;
            if (Tls)
            {
                yield return "port 0";
                yield return $"tls-port {port.ToString(inv)}";
                yield return $"tls-cert-file {TlsCertFile}";
                yield return $"tls-key-file {TlsKeyFile}";
                yield return $"tls-ca-cert-file {TlsCaFile}";
                yield return "tls-auth-clients no";
                yield return "tls-replication yes";
            }
            else
            {
                yield return $"port {port.ToString(inv)}";
            }
            if (Password is not null)
            {
                yield return $"requirepass {Password}";
                yield return $"sentinel auth-pass {serviceName} {Password}";
                yield return $"sentinel sentinel-pass {Password}";
            }
        }

        /// <summary>How this harness's own probes connect (TLS accepted without verification: the harness checks liveness, the system under test checks certificates).</summary>
        public void ConfigureClient(ConfigurationOptions options, string? password)
        {
            options.Password = password;
            if (Tls)
            {
                options.Ssl = true;
                options.SslHost = "127.0.0.1";
                options.CertificateValidation += (_, _, _, _) => true;
            }
        }
    }

    private Security _security = new();

    public const string DefaultServiceName = "mymaster";

    private readonly List<Process> _sentinels = [];
    private readonly string _baseDir;
    private readonly bool _ownsBaseDir;

    private SentinelCluster(string baseDir, bool ownsBaseDir, string serviceName)
    {
        _baseDir = baseDir;
        _ownsBaseDir = ownsBaseDir;
        ServiceName = serviceName;
    }

    public string ServiceName { get; }
    public RedisServer Master { get; private set; } = null!;
    public RedisServer Replica { get; private set; } = null!;
    public IReadOnlyList<int> SentinelPorts { get; private set; } = [];
    public IReadOnlyList<int> SentinelPids => _sentinels.Select(p => p.Id).ToList();

    /// <summary>The Sentinel form of MUTT's runbooks (<c>RedisConnectionStrings</c>): <c>sentinel=h:p,h:p,h:p;serviceName=mymaster</c>.</summary>
    public string ConnectionString =>
        $"sentinel={string.Join(',', SentinelPorts.Select(p => $"127.0.0.1:{p}"))};serviceName={ServiceName}";

    /// <param name="baseDir">Folder for data and configs; a fresh temp folder (deleted on dispose) when null.</param>
    public static async Task<SentinelCluster> StartAsync(string? baseDir = null, string serviceName = DefaultServiceName,
        int downAfterMilliseconds = 1000, int failoverTimeoutMilliseconds = 5000, int quorum = 2,
        Action<string>? output = null, TimeSpan? timeout = null, Security? security = null)
    {
        var owns = baseDir is null;
        baseDir ??= Path.Combine(Path.GetTempPath(), "mutt-sentinel-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(baseDir);
        var cluster = new SentinelCluster(baseDir, owns, serviceName) { _security = security ?? new Security() };
        var wait = timeout ?? TimeSpan.FromSeconds(60);
        try
        {
            cluster.Master = await cluster.StartDataNodeAsync(Path.Combine(baseDir, "master"), NativeProcess.FreeTcpPort(), null, Prefix(output, "master"), wait).ConfigureAwait(false);
            cluster.Replica = await cluster.StartDataNodeAsync(Path.Combine(baseDir, "replica"), NativeProcess.FreeTcpPort(), cluster.Master.Port,
                Prefix(output, "replica"), wait).ConfigureAwait(false);
            var ports = new List<int>();
            for (var i = 0; i < 3; i++)
            {
                var port = NativeProcess.FreeTcpPort();
                ports.Add(port);
                cluster._sentinels.Add(cluster.StartSentinel(Path.Combine(baseDir, $"sentinel{i}"), port, serviceName,
                    cluster.Master.Port, quorum, downAfterMilliseconds, failoverTimeoutMilliseconds, Prefix(output, $"sentinel{i}")));
            }
            cluster.SentinelPorts = ports;
            await cluster.WaitUntilMonitoredAsync(wait).ConfigureAwait(false);
        }
        catch
        {
            await cluster.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return cluster;
    }

    /// <summary>An admin connection to one node (data node or not) with the password and TLS it requires now.</summary>
    public Task<ConnectionMultiplexer> ConnectToNodeAsync(int port) => ConnectAsync(port, _security.Password, sentinel: false);

    /// <summary>The password the nodes require now (changes with <see cref="RotatePasswordAsync"/>).</summary>
    public string? Password => _security.Password;

    private Task<RedisServer> StartDataNodeAsync(string dir, int port, int? replicaOf, Action<string>? output, TimeSpan timeout)
    {
        var args = _security.DataNodeArgs(port).ToList();
        if (replicaOf is { } master)
        {
            args.AddRange(["--replicaof", "127.0.0.1", master.ToString(CultureInfo.InvariantCulture)]);
        }
        return RedisServer.StartAsync(dir, port: port, appendOnly: true, extraArgs: args, output: output, timeout: timeout,
            configureClient: o => _security.ConfigureClient(o, _security.Password));
    }

    /// <summary>Starts the first master again, in its data folder on its port (as systemd would after a crash); Sentinel makes it a replica.</summary>
    public Task<RedisServer> RestartOldMasterAsync() =>
        StartDataNodeAsync(Master.DataDir, Master.Port, null, null, TimeSpan.FromSeconds(30));

    /// <summary>
    /// Rotates the password everywhere, as an operator would: data nodes (requirepass, masterauth) and
    /// Sentinels (their own password, auth-pass for the master, sentinel-pass between them). Clients
    /// keep their authenticated connections; new connections need <paramref name="newPassword"/>.
    /// </summary>
    public async Task RotatePasswordAsync(string newPassword)
    {
        var old = _security.Password;
        foreach (var node in new[] { Master, Replica })
        {
            if (node.Process.HasExited)
            {
                continue;
            }
            using var mux = await ConnectAsync(node.Port, old, sentinel: false).ConfigureAwait(false);
            var server = mux.GetServer(mux.GetEndPoints()[0]);
            await server.ExecuteAsync("CONFIG", "SET", "masterauth", newPassword).ConfigureAwait(false);
            await server.ExecuteAsync("CONFIG", "SET", "requirepass", newPassword).ConfigureAwait(false);
        }
        foreach (var port in SentinelPorts)
        {
            using var mux = await ConnectAsync(port, old, sentinel: true).ConfigureAwait(false);
            var server = mux.GetServer(mux.GetEndPoints()[0]);
            await server.ExecuteAsync("SENTINEL", "SET", ServiceName, "auth-pass", newPassword).ConfigureAwait(false);
            await server.ExecuteAsync("SENTINEL", "CONFIG", "SET", "sentinel-pass", newPassword).ConfigureAwait(false);
            await server.ExecuteAsync("ACL", "SETUSER", "default", "resetpass", ">" + newPassword).ConfigureAwait(false);
        }
        _security = _security with { Password = newPassword };
    }

    /// <summary>kill -9 of the current master process as started (not necessarily the master any more).</summary>
    public void KillMaster() => Master.Kill();

    /// <summary>
    /// A manual failover (<c>SENTINEL FAILOVER</c>): the old master stays up and is demoted to a replica,
    /// the case where a client that keeps writing to it would lose acknowledged writes.
    /// </summary>
    public async Task FailoverAsync()
    {
        using var mux = await ConnectAsync(SentinelPorts[0], _security.Password, sentinel: true).ConfigureAwait(false);
        await mux.GetServer("127.0.0.1", SentinelPorts[0]).SentinelFailoverAsync(ServiceName).ConfigureAwait(false);
    }

    /// <summary>Asks a Sentinel which port the master has now.</summary>
    public async Task<int?> CurrentMasterPortAsync()
    {
        foreach (var port in SentinelPorts)
        {
            try
            {
                using var mux = await ConnectAsync(port, _security.Password, sentinel: true).ConfigureAwait(false);
                var endpoint = await mux.GetServer("127.0.0.1", port).SentinelGetMasterAddressByNameAsync(ServiceName).ConfigureAwait(false);
                if (endpoint is System.Net.IPEndPoint ip)
                {
                    return ip.Port;
                }
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                // Try the next Sentinel.
            }
        }
        return null;
    }

    /// <summary>
    /// Ready = the replica's link is up and every Sentinel knows the replica and the two other Sentinels.
    /// Killing the master earlier would leave Sentinel nobody to promote (it learns replicas by INFO every 10 s).
    /// </summary>
    private async Task WaitUntilMonitoredAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        string last = "not checked";
        while (DateTime.UtcNow < deadline)
        {
            foreach (var process in _sentinels)
            {
                if (process.HasExited)
                {
                    throw new InvalidOperationException($"redis-sentinel pid {process.Id} exited with code {process.ExitCode} during start.");
                }
            }
            try
            {
                var ready = true;
                foreach (var port in SentinelPorts)
                {
                    using var mux = await ConnectAsync(port, _security.Password, sentinel: true).ConfigureAwait(false);
                    var fields = (await mux.GetServer("127.0.0.1", port).SentinelMasterAsync(ServiceName).ConfigureAwait(false))
                        .ToDictionary(kv => kv.Key, kv => kv.Value);
                    var replicas = int.Parse(fields.GetValueOrDefault("num-slaves", "0"), CultureInfo.InvariantCulture);
                    var others = int.Parse(fields.GetValueOrDefault("num-other-sentinels", "0"), CultureInfo.InvariantCulture);
                    last = $"sentinel {port}: replicas={replicas} other-sentinels={others} flags={fields.GetValueOrDefault("flags")}";
                    if (replicas < 1 || others < SentinelPorts.Count - 1)
                    {
                        ready = false;
                        break;
                    }
                }
                if (ready)
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                last = ex.Message;
            }
            await Task.Delay(200).ConfigureAwait(false);
        }
        throw new TimeoutException($"Sentinels did not see the replica and each other within {timeout}: {last}");
    }

    private async Task<ConnectionMultiplexer> ConnectAsync(int port, string? password, bool sentinel)
    {
        var config = new ConfigurationOptions
        {
            TieBreaker = "",
            ConfigurationChannel = "",
            AbortOnConnectFail = false,
            AllowAdmin = true,
            ConnectTimeout = 1000,
            SyncTimeout = 2000,
        };
        if (sentinel)
        {
            config.CommandMap = CommandMap.Sentinel;
        }
        _security.ConfigureClient(config, password);
        config.EndPoints.Add("127.0.0.1", port);
        return await ConnectionMultiplexer.ConnectAsync(config).ConfigureAwait(false);
    }

    private Process StartSentinel(string dir, int port, string serviceName, int masterPort, int quorum,
        int downAfterMilliseconds, int failoverTimeoutMilliseconds, Action<string>? output)
    {
        var executable = NativeProcess.FindExecutable("redis-sentinel", "/usr/bin", "/usr/sbin", "/usr/local/bin")
            ?? NativeProcess.FindExecutable("redis-server", "/usr/sbin", "/usr/local/bin")
            ?? throw new InvalidOperationException("redis-sentinel was not found on PATH. Install it with: apt-get install -y redis-sentinel");
        Directory.CreateDirectory(dir);
        // Sentinel rewrites its config file (epochs, known replicas and sentinels), so each needs its own writable copy.
        var config = Path.Combine(dir, "sentinel.conf");
        var inv = CultureInfo.InvariantCulture;
        File.WriteAllLines(config,
        [
            .. _security.SentinelLines(serviceName, port).Where(l => !l.StartsWith("sentinel ", StringComparison.Ordinal)),
            "bind 127.0.0.1",
            "daemonize no",
            $"dir {dir}",
            $"sentinel monitor {serviceName} 127.0.0.1 {masterPort.ToString(inv)} {quorum.ToString(inv)}",
            $"sentinel down-after-milliseconds {serviceName} {downAfterMilliseconds.ToString(inv)}",
            $"sentinel failover-timeout {serviceName} {failoverTimeoutMilliseconds.ToString(inv)}",
            $"sentinel parallel-syncs {serviceName} 1",
            .. _security.SentinelLines(serviceName, port).Where(l => l.StartsWith("sentinel ", StringComparison.Ordinal)),
        ]);
        var info = new ProcessStartInfo(executable)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = dir,
        };
        info.ArgumentList.Add(config);
        if (Path.GetFileName(executable) == "redis-server")
        {
            info.ArgumentList.Add("--sentinel");
        }
        var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start redis-sentinel.");
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { output?.Invoke(e.Data); } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { output?.Invoke(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static Action<string>? Prefix(Action<string>? output, string name) =>
        output is null ? null : line => output($"[{name}] {line}");

    public async ValueTask DisposeAsync()
    {
        // Sentinels first, so they do not react to the data nodes going away.
        foreach (var process in _sentinels)
        {
            await NativeProcess.StopAsync(process, NativeProcess.SIGTERM, TimeSpan.FromSeconds(10)).ConfigureAwait(false);
            process.Dispose();
        }
        _sentinels.Clear();
        if (Replica is not null)
        {
            await Replica.DisposeAsync().ConfigureAwait(false);
        }
        if (Master is not null)
        {
            await Master.DisposeAsync().ConfigureAwait(false);
        }
        if (_ownsBaseDir)
        {
            try
            {
                Directory.Delete(_baseDir, recursive: true);
            }
            catch (IOException)
            {
                // A file still held open: leave the temp folder, never fail the caller's cleanup.
            }
        }
    }
}
