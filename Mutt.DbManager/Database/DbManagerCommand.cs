namespace Mutt.DbManager.Database;

/// <summary>
/// What one run of the DbManager does: with no arguments it prepares the database (a Job, a
/// deploy); <c>restore FILE [--table NAME]</c> loads an audit archive file back into a table for
/// investigation (docs/operations.md, "Audit retention, archive and restore").
/// </summary>
public sealed record DbManagerCommand(string Verb, string? File = null, string? Table = null, string? Error = null)
{
    public const string Initialize = "initialize";
    public const string Restore = "restore";

    public const string Usage = "usage: Mutt.DbManager                              prepare the database (migrations, role, grants)\n" +
                                "       Mutt.DbManager restore FILE [--table NAME]  load an audit archive file (.csv.gz) into a new table";

    public static DbManagerCommand Parse(IReadOnlyList<string> args)
    {
        var positional = args.Where((a, i) => !a.StartsWith("--", StringComparison.Ordinal) && (i == 0 || !IsOption(args[i - 1]))).ToList();
        if (positional.Count == 0)
        {
            return new DbManagerCommand(Initialize);
        }
        if (positional[0] != Restore)
        {
            return new DbManagerCommand(positional[0], Error: $"unknown command '{positional[0]}'\n{Usage}");
        }
        string? table = null;
        for (var i = 0; i < args.Count; i++)
        {
            if (args[i] == "--table")
            {
                if (i + 1 >= args.Count)
                {
                    return new DbManagerCommand(Restore, Error: $"--table needs a name\n{Usage}");
                }
                table = args[i + 1];
            }
            else if (args[i].StartsWith("--", StringComparison.Ordinal))
            {
                return new DbManagerCommand(Restore, Error: $"unknown option '{args[i]}'\n{Usage}");
            }
        }
        return positional.Count == 2
            ? new DbManagerCommand(Restore, positional[1], table)
            : new DbManagerCommand(Restore, Error: $"restore takes one archive file\n{Usage}");
    }

    private static bool IsOption(string arg) => arg == "--table";
}
