using System.Diagnostics;
using Mutt.Testing;

namespace Mutt.Tests.Unit;

/// <summary>Runs the deployment tooling (bash, systemd-analyze, dotnet msbuild) as real processes.</summary>
internal static class DeployTestSupport
{
    public static string RepositoryRoot { get; } = ServiceProcess.FindRepositoryRoot();

    public static string PathIn(params string[] parts) => Path.Combine([RepositoryRoot, .. parts]);

    public sealed record Result(int ExitCode, string StdOut, string StdErr)
    {
        public string All => StdOut + StdErr;
    }

    public static async Task<Result> RunAsync(string fileName, IEnumerable<string> arguments, string? workingDirectory = null, TimeSpan? timeout = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? RepositoryRoot,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {fileName}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(120));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{fileName} {string.Join(' ', info.ArgumentList)} did not finish in time");
        }
        return new Result(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>The full path of an executable on PATH, or null.</summary>
    public static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);
}

/// <summary>A minimal reader for systemd unit files: sections of key=value lines, keys may repeat.</summary>
internal sealed class UnitFile
{
    private readonly Dictionary<string, List<KeyValuePair<string, string>>> _sections = new(StringComparer.Ordinal);

    public string Path { get; }

    private UnitFile(string path) => Path = path;

    public static UnitFile Load(string path)
    {
        var unit = new UnitFile(path);
        List<KeyValuePair<string, string>>? current = null;
        var lineNumber = 0;
        foreach (var raw in File.ReadAllLines(path))
        {
            lineNumber++;
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#') || line.StartsWith(';'))
            {
                continue;
            }
            if (line.StartsWith('[') && line.EndsWith(']'))
            {
                var name = line[1..^1];
                if (!unit._sections.TryGetValue(name, out current))
                {
                    current = [];
                    unit._sections[name] = current;
                }
                continue;
            }
            var equals = line.IndexOf('=');
            if (current is null || equals <= 0 || raw.EndsWith('\\'))
            {
                throw new FormatException($"{path}:{lineNumber}: not a key=value line inside a section: {raw}");
            }
            current.Add(new(line[..equals].Trim(), line[(equals + 1)..].Trim()));
        }
        return unit;
    }

    public IReadOnlyCollection<string> Sections => _sections.Keys;

    /// <summary>All values of a key in a section, in order (Environment= and EnvironmentFile= repeat).</summary>
    public IReadOnlyList<string> All(string section, string key) =>
        _sections.TryGetValue(section, out var entries)
            ? entries.Where(e => e.Key == key).Select(e => e.Value).ToList()
            : [];

    /// <summary>The effective value of a single-valued key (the last assignment wins, as in systemd).</summary>
    public string? Get(string section, string key) => All(section, key).LastOrDefault();

    /// <summary>Environment= assignments as a dictionary (each line holds one NAME=value here).</summary>
    public IReadOnlyDictionary<string, string> Environment() =>
        All("Service", "Environment")
            .Select(v => v.Trim('"'))
            .Select(v => v.Split('=', 2))
            .ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);
}
