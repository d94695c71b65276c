using System.Globalization;
using Aspire.Hosting.ApplicationModel;

namespace Mutt.AppHost;

public static class LocalProcesses
{
    /// <summary>The launcher's process id in an Aspire resource snapshot (its <c>*.pid</c> property), or null before it has one.</summary>
    public static int? LauncherPidOf(CustomResourceSnapshot snapshot) =>
        snapshot.Properties.FirstOrDefault(p => p.Name.EndsWith(".pid", StringComparison.Ordinal))?.Value is { } pid
            ? Convert.ToInt32(pid, CultureInfo.InvariantCulture)
            : null;

    /// <summary>
    /// The process that matters to an operator (and to kill -9) for a pid Aspire reports: Aspire starts a
    /// project as <c>dotnet run --no-build</c>, and the local PostgreSQL runs under postgres-run.sh; each runs
    /// the real server as its one child. Any other pid is its own service process. Null when /proc has no
    /// such process (it has exited).
    /// </summary>
    public static int? ServiceProcessOf(int pid)
    {
        try
        {
            var children = File.ReadAllText($"/proc/{pid}/task/{pid}/children").Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var commandLine = File.ReadAllText($"/proc/{pid}/cmdline");
            return children.Length == 1 && (commandLine.StartsWith("dotnet\0run\0", StringComparison.Ordinal) || commandLine.Contains("postgres-run.sh", StringComparison.Ordinal))
                ? int.Parse(children[0], CultureInfo.InvariantCulture)
                : pid;
        }
        catch (IOException)
        {
            return null;
        }
    }
}
