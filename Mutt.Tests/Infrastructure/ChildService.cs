using Mutt.Testing;

namespace Mutt.Tests.Infrastructure;

/// <summary>
/// A MUTT service started for a test as a real child process (<c>dotnet Mutt.X.dll</c>) on a
/// loopback URL, the way the AppHost runs it, and waited for until its ready path answers.
/// </summary>
public static class ChildService
{
    public static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(60);

    public static string RepositoryRoot { get; } = ServiceProcess.FindRepositoryRoot();

    /// <summary>A loopback base URL on a port free right now.</summary>
    public static string FreeUrl() => $"http://127.0.0.1:{NativeProcess.FreeTcpPort()}";

    /// <summary>
    /// Starts <paramref name="project"/> with <c>ASPNETCORE_URLS</c> = <paramref name="baseUrl"/>, then
    /// <paramref name="environment"/>, then <paramref name="overrides"/> (a test's own settings win);
    /// stops it again if it never becomes ready.
    /// </summary>
    public static async Task<ServiceProcess> StartAsync(string name, string project, string baseUrl,
        IReadOnlyDictionary<string, string?> environment, IReadOnlyDictionary<string, string?>? overrides = null, string readyPath = "/health")
    {
        var env = new Dictionary<string, string?> { ["ASPNETCORE_URLS"] = baseUrl };
        foreach (var (key, value) in environment.Concat(overrides ?? new Dictionary<string, string?>()))
        {
            env[key] = value;
        }
        var process = ServiceProcess.Start(name, ServiceProcess.AssemblyPath(RepositoryRoot, project), env);
        try
        {
            await process.WaitForHealthyAsync(baseUrl + readyPath, ReadyTimeout);
        }
        catch
        {
            await process.DisposeAsync();
            throw;
        }
        return process;
    }
}
