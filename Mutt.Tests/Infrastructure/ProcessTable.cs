using System.Globalization;

namespace Mutt.Tests.Infrastructure;

/// <summary>The machine's processes from /proc, for tests that check what a run leaves behind.</summary>
public static class ProcessTable
{
    /// <summary>
    /// One process: its parent, its start time in clock ticks since boot (so a reused pid is not taken
    /// for the process that had it), and its command line.
    /// </summary>
    public sealed record Entry(int Pid, int ParentPid, long StartTicks, IReadOnlyList<string> Arguments);

    public static IReadOnlyList<Entry> Read()
    {
        var entries = new List<Entry>();
        foreach (var folder in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(folder), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }
            try
            {
                // Fields after the command name, which is in parentheses and may itself hold spaces:
                // state (3), ppid (4), ... starttime (22).
                var stat = File.ReadAllText(Path.Combine(folder, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (fields[0] is "Z" or "X")
                {
                    continue; // a zombie runs nothing
                }
                // A process that renames itself (redis-server "127.0.0.1:6379", postgres "postgres: checkpointer")
                // writes its title with spaces into one argument: split those too.
                var arguments = File.ReadAllText(Path.Combine(folder, "cmdline"))
                    .Split(['\0', ' '], StringSplitOptions.RemoveEmptyEntries);
                entries.Add(new Entry(pid, int.Parse(fields[1], CultureInfo.InvariantCulture), long.Parse(fields[19], CultureInfo.InvariantCulture), arguments));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Exited while we read.
            }
        }
        return entries;
    }

    /// <summary>The given processes and all their descendants.</summary>
    public static IReadOnlyList<Entry> Descendants(IReadOnlyList<Entry> table, IEnumerable<int> roots)
    {
        var found = table.Where(e => roots.Contains(e.Pid)).ToList();
        for (var i = 0; i < found.Count; i++)
        {
            found.AddRange(table.Where(e => e.ParentPid == found[i].Pid && !found.Contains(e)));
        }
        return found;
    }
}
