using System.Text.Json.Nodes;
using Mutt.Testing;
using Mutt.Tests.Infrastructure;

namespace Mutt.Tests.EndToEnd;

/// <summary>
/// The AppHost as a real child process (<c>dotnet Mutt.AppHost.dll --state-dir X</c>), as
/// <c>./mutt.sh run</c> starts it: it must never leave a process behind.
/// </summary>
[Collection(AppHostCollection.Name)]
public sealed class AppHostProcessTests
{
    private static readonly string Root = ServiceProcess.FindRepositoryRoot();
    private static readonly TimeSpan StartDeadline = TimeSpan.FromSeconds(240);

    [Fact]
    public async Task Sigterm_stops_every_process_the_apphost_started()
    {
        var stateDir = NewStateDir();
        var apphost = StartAppHost(stateDir, new Dictionary<string, string?>());
        var pids = new List<int>();
        try
        {
            var endpoints = await Eventually.WaitForAsync(
                () => Task.FromResult(ReadEndpoints(stateDir)),
                e => apphost.HasExited || (e is not null && AllRunning(e)),
                StartDeadline, "every resource Running in endpoints.json");
            Assert.False(apphost.HasExited, "apphost exited during start:\n" + string.Join('\n', apphost.Output.TakeLast(40)));
            pids = Pids(endpoints!);
            Assert.True(pids.Count >= 9, $"expected redis, postgres and 7 service processes, got {pids.Count}");
            Assert.All(pids, pid => Assert.True(NativeProcess.IsAlive(pid), $"pid {pid} not alive while running"));

            NativeProcess.Signal(apphost.Pid, NativeProcess.SIGTERM);
            using (var exit = new CancellationTokenSource(TimeSpan.FromSeconds(90)))
            {
                await apphost.Process.WaitForExitAsync(exit.Token);
            }
            Assert.Equal(0, apphost.Process.ExitCode);
            await AssertAllGoneAsync(pids);
            var after = ReadEndpoints(stateDir)!;
            Assert.All(after["resources"]!.AsObject(), r => Assert.Equal("Stopped", (string?)r.Value!["state"]));
        }
        finally
        {
            await CleanUpAsync(apphost, stateDir, pids);
        }
    }

    [Fact]
    public async Task Failed_start_stops_what_was_started_and_exits_non_zero()
    {
        var stateDir = NewStateDir();
        Directory.CreateDirectory(stateDir);
        // The dashboard starts last: by then Redis, PostgreSQL and six services are running.
        var bogus = Path.Combine(stateDir, "bogus.dll");
        await File.WriteAllTextAsync(bogus, "not an assembly");
        var apphost = StartAppHost(stateDir, new Dictionary<string, string?> { ["Projects__dashboard__Assembly"] = bogus });
        var pids = new List<int>();
        try
        {
            using (var exit = new CancellationTokenSource(StartDeadline))
            {
                await apphost.Process.WaitForExitAsync(exit.Token);
            }
            Assert.NotEqual(0, apphost.Process.ExitCode);
            var endpoints = ReadEndpoints(stateDir)!;
            pids = Pids(endpoints);
            Assert.True(pids.Count >= 9, $"expected the started processes to be recorded, got {pids.Count}:\n{string.Join('\n', apphost.Output.TakeLast(40))}");
            await AssertAllGoneAsync(pids);
            Assert.Contains(apphost.Output, line => line.Contains("dashboard", StringComparison.Ordinal) && line.Contains("start failed", StringComparison.Ordinal));
        }
        finally
        {
            await CleanUpAsync(apphost, stateDir, pids);
        }
    }

    [Fact]
    public async Task Missing_redis_server_fails_the_start_with_a_non_zero_exit()
    {
        var stateDir = NewStateDir();
        var apphost = StartAppHost(stateDir, new Dictionary<string, string?> { ["Redis__Executable"] = "/bin/false" });
        try
        {
            using (var exit = new CancellationTokenSource(TimeSpan.FromSeconds(90)))
            {
                await apphost.Process.WaitForExitAsync(exit.Token);
            }
            Assert.NotEqual(0, apphost.Process.ExitCode);
            var resources = ReadEndpoints(stateDir)!["resources"]!;
            Assert.Null(resources["postgres"]!["pid"]);
            Assert.Null(resources["ingestor"]!["pid"]);
        }
        finally
        {
            await CleanUpAsync(apphost, stateDir, []);
        }
    }

    private static string NewStateDir() => Path.Combine(Path.GetTempPath(), "mutt-apphost-proc-" + Guid.NewGuid().ToString("N")[..8]);

    private static ServiceProcess StartAppHost(string stateDir, IReadOnlyDictionary<string, string?> extraEnvironment)
    {
        var environment = new Dictionary<string, string?>(extraEnvironment)
        {
            ["AppHost__UseFreePorts"] = "true",
            ["AppHost__Quiet"] = "true",
        };
        return ServiceProcess.Start("apphost", ServiceProcess.AssemblyPath(Root, "Mutt.AppHost"), environment, arguments: ["--state-dir", stateDir]);
    }

    private static JsonNode? ReadEndpoints(string stateDir)
    {
        try
        {
            return JsonNode.Parse(File.ReadAllText(Path.Combine(stateDir, "endpoints.json")));
        }
        catch (Exception ex) when (ex is IOException or System.Text.Json.JsonException)
        {
            return null;
        }
    }

    private static bool AllRunning(JsonNode endpoints) =>
        endpoints["resources"]!.AsObject().All(r => (string?)r.Value!["state"] == "Running");

    private static List<int> Pids(JsonNode endpoints)
    {
        var pids = new List<int>();
        foreach (var (_, resource) in endpoints["resources"]!.AsObject())
        {
            if (resource!["replicas"] is JsonArray replicas)
            {
                pids.AddRange(replicas.Where(r => r!["pid"] is not null).Select(r => (int)r!["pid"]!));
            }
            else if (resource["pid"] is { } pid)
            {
                pids.Add((int)pid);
            }
        }
        return pids;
    }

    private static Task AssertAllGoneAsync(IReadOnlyList<int> pids) =>
        Eventually.WaitForAsync(() => Task.FromResult(pids.Where(NativeProcess.IsAlive).ToList()), alive => alive.Count == 0,
            TimeSpan.FromSeconds(30), "every started process to be gone");

    /// <summary>Whatever happened in the test, nothing it started survives it.</summary>
    private static async Task CleanUpAsync(ServiceProcess apphost, string stateDir, IReadOnlyList<int> pids)
    {
        if (!apphost.HasExited)
        {
            await apphost.StopAsync(TimeSpan.FromSeconds(60));
        }
        var recorded = ReadEndpoints(stateDir) is { } endpoints ? Pids(endpoints) : [];
        foreach (var pid in pids.Concat(recorded).Distinct().Where(NativeProcess.IsAlive))
        {
            NativeProcess.Signal(pid, NativeProcess.SIGKILL);
        }
        await apphost.DisposeAsync();
        try
        {
            Directory.Delete(stateDir, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
    }
}
