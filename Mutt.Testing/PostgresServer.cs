using System.Diagnostics;
using System.Security.Cryptography;
using Npgsql;

namespace Mutt.Testing;

/// <summary>
/// A real PostgreSQL server process on a loopback port, its cluster in a folder of ours.
/// <c>initdb</c> refuses to run as root, so when we are root the cluster is created and the
/// server run as the <c>postgres</c> user through <c>setpriv</c>, which execs in place: the
/// PID we hold is the postmaster's own, so stopping it by PID stops the server.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    public const string SuperUser = "postgres";

    private PostgresServer(Process process, int port, string dataDir, string password)
    {
        Process = process;
        Port = port;
        DataDir = dataDir;
        Password = password;
    }

    public Process Process { get; }
    public int Port { get; }
    public string DataDir { get; }
    public string Password { get; }
    public int Pid => Process.Id;

    public string ConnectionStringFor(string database) =>
        $"Host=127.0.0.1;Port={Port};Username={SuperUser};Password={Password};Database={database}";

    /// <summary>
    /// Initialises the cluster when the folder is empty, starts the server and waits until it
    /// accepts connections. <paramref name="fastAndLoose"/> turns off fsync (tests only).
    /// </summary>
    public static async Task<PostgresServer> StartAsync(string dataDir, int? port = null, string? password = null,
        bool fastAndLoose = false, IEnumerable<string>? extraSettings = null, Action<string>? output = null, TimeSpan? timeout = null,
        bool ownSession = false)
    {
        var binDir = NativeProcess.FindPostgresBinDir()
            ?? throw new InvalidOperationException("PostgreSQL server binaries were not found (looked on PATH and in /usr/lib/postgresql/*/bin). Install with: apt-get install -y postgresql");
        var cluster = Path.Combine(dataDir, "pgdata");
        var socketDir = Path.Combine(dataDir, "socket");
        Directory.CreateDirectory(dataDir);
        Directory.CreateDirectory(socketDir);
        var passwordFile = Path.Combine(dataDir, "postgres.password");
        password ??= File.Exists(passwordFile) ? (await File.ReadAllTextAsync(passwordFile).ConfigureAwait(false)).Trim() : RandomNumberGenerator.GetHexString(32, lowercase: true);

        var asPostgres = NativeProcess.IsRoot;
        if (asPostgres)
        {
            await NativeProcess.RunAsync("chown", ["-R", $"{SuperUser}:{SuperUser}", dataDir]).ConfigureAwait(false);
        }

        if (!File.Exists(Path.Combine(cluster, "PG_VERSION")))
        {
            var pwfile = Path.Combine(dataDir, ".initdb-pw");
            await File.WriteAllTextAsync(pwfile, password).ConfigureAwait(false);
            File.SetUnixFileMode(pwfile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            if (asPostgres)
            {
                await NativeProcess.RunAsync("chown", [$"{SuperUser}:{SuperUser}", pwfile]).ConfigureAwait(false);
            }
            try
            {
                await RunAsAsync(asPostgres, Path.Combine(binDir, "initdb"),
                    ["-D", cluster, "-U", SuperUser, "--pwfile", pwfile, "--auth-host=scram-sha-256", "--auth-local=trust", "-E", "UTF8", "--locale=C", "--no-sync"]).ConfigureAwait(false);
            }
            finally
            {
                File.Delete(pwfile);
            }
            await File.WriteAllTextAsync(passwordFile, password).ConfigureAwait(false);
            File.SetUnixFileMode(passwordFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        var chosenPort = port ?? NativeProcess.FreeTcpPort();
        var args = new List<string>
        {
            "-D", cluster, "-p", chosenPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "-c", "listen_addresses=127.0.0.1", "-c", $"unix_socket_directories={socketDir}",
            "-c", "max_connections=200", "-c", "shared_buffers=128MB",
        };
        if (fastAndLoose)
        {
            args.AddRange(["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]);
        }
        foreach (var setting in extraSettings ?? [])
        {
            args.AddRange(["-c", setting]);
        }
        var info = BuildStartInfo(asPostgres, Path.Combine(binDir, "postgres"), args, ownSession);
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start postgres.");
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { output?.Invoke(e.Data); } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { output?.Invoke(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var server = new PostgresServer(process, chosenPort, dataDir, password);
        try
        {
            await server.WaitUntilReadyAsync(timeout ?? TimeSpan.FromSeconds(60)).ConfigureAwait(false);
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return server;
    }

    /// <summary>Creates the database when it does not exist yet.</summary>
    public async Task EnsureDatabaseAsync(string database)
    {
        await using var connection = new NpgsqlConnection(ConnectionStringFor("postgres"));
        await connection.OpenAsync().ConfigureAwait(false);
        await using var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = @name", connection);
        exists.Parameters.AddWithValue("name", database);
        if (await exists.ExecuteScalarAsync().ConfigureAwait(false) is null)
        {
            // Identifiers cannot be parameters; the name is quoted as an identifier.
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{database.Replace("\"", "\"\"")}\"", connection);
            await create.ExecuteNonQueryAsync().ConfigureAwait(false);
        }
    }

    private async Task WaitUntilReadyAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        Exception? last = null;
        while (DateTime.UtcNow < deadline)
        {
            if (Process.HasExited)
            {
                throw new InvalidOperationException($"postgres exited with code {Process.ExitCode} during start (port {Port}).");
            }
            try
            {
                await using var connection = new NpgsqlConnection(ConnectionStringFor("postgres") + ";Timeout=2;Pooling=false");
                await connection.OpenAsync().ConfigureAwait(false);
                return;
            }
            catch (Exception ex)
            {
                last = ex;
            }
            await Task.Delay(150).ConfigureAwait(false);
        }
        throw new TimeoutException($"PostgreSQL on port {Port} was not ready within {timeout}.", last);
    }

    private static ProcessStartInfo BuildStartInfo(bool asPostgres, string executable, IEnumerable<string> args, bool ownSession = false)
    {
        ProcessStartInfo info;
        // ownSession: a terminal's Ctrl+C must reach only the orchestrator, which stops the server last.
        // setsid and setpriv both exec in place, so the PID stays the postmaster's.
        if (ownSession && NativeProcess.FindExecutable("setsid", "/usr/bin", "/bin") is { } setsid)
        {
            var inner = BuildStartInfo(asPostgres, executable, args);
            info = new ProcessStartInfo(setsid) { UseShellExecute = false, WorkingDirectory = "/" };
            info.ArgumentList.Add(inner.FileName);
            foreach (var a in inner.ArgumentList)
            {
                info.ArgumentList.Add(a);
            }
            return info;
        }
        if (asPostgres)
        {
            info = new ProcessStartInfo(NativeProcess.FindExecutable("setpriv", "/usr/bin", "/bin") ?? "setpriv");
            foreach (var a in new[] { $"--reuid={SuperUser}", $"--regid={SuperUser}", "--init-groups", "--", executable })
            {
                info.ArgumentList.Add(a);
            }
        }
        else
        {
            info = new ProcessStartInfo(executable);
        }
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }
        info.UseShellExecute = false;
        // The server must not inherit a working directory it cannot read as the postgres user.
        info.WorkingDirectory = "/";
        return info;
    }

    private static async Task RunAsAsync(bool asPostgres, string executable, IEnumerable<string> args)
    {
        var info = BuildStartInfo(asPostgres, executable, args);
        await NativeProcess.RunAsync(info.FileName, info.ArgumentList).ConfigureAwait(false);
    }

    /// <summary>Fast shutdown (SIGINT): active transactions roll back, the server exits at once.</summary>
    public Task StopAsync() => NativeProcess.StopAsync(Process, NativeProcess.SIGINT, TimeSpan.FromSeconds(20));

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        Process.Dispose();
    }
}
