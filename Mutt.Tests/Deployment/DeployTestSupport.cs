using System.Diagnostics;
using Mutt.Testing;
using YamlDotNet.RepresentationModel;

namespace Mutt.Tests.Deployment;

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

    /// <summary>
    /// The AppHost of this test run's build configuration. (The copy next to the test DLL does not start:
    /// the test's deps.json does not describe the AppHost's dependencies.)
    /// </summary>
    public static string AppHostAssembly()
    {
        var path = ServiceProcess.AssemblyPath(RepositoryRoot, "Mutt.AppHost");
        return File.Exists(path) ? path : throw new FileNotFoundException($"{path} does not exist; build the solution first (dotnet build Mutt.sln -c {ServiceProcess.BuildConfiguration}).");
    }

    /// <summary>
    /// The manifest the AppHost writes now (as `./mutt.sh publish` runs it). Aspire writes project
    /// paths relative to the manifest's folder, so it is written next to the committed one (a
    /// unique name, deleted afterwards) and the texts compare as they are.
    /// </summary>
    public static async Task<string> PublishManifestAsync()
    {
        var path = PathIn($"aspire-manifest.{Guid.NewGuid():N}.tmp.json");
        try
        {
            var result = await RunAsync("dotnet", [AppHostAssembly(), "--publisher", "manifest", "--output-path", path],
                workingDirectory: PathIn("Mutt.AppHost"), timeout: TimeSpan.FromSeconds(120));
            if (result.ExitCode != 0 || !File.Exists(path))
            {
                throw new InvalidOperationException($"The AppHost did not write a manifest (exit {result.ExitCode}):\n{result.All}");
            }
            return await File.ReadAllTextAsync(path);
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>The full path of an executable on PATH, or null.</summary>
    public static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);
}

/// <summary>Kubernetes YAML as mappings, with path lookups that name what is missing.</summary>
internal static class KubeYaml
{
    public static List<YamlMappingNode> Parse(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return stream.Documents.Where(d => d.RootNode is YamlMappingNode).Select(d => (YamlMappingNode)d.RootNode).ToList();
    }

    public static YamlNode Node(YamlNode node, params string[] path)
    {
        Assert.True(TryNode(node, out var found, path), $"{Describe(node)}: missing {string.Join('.', path)}");
        return found;
    }

    public static bool TryNode(YamlNode node, out YamlNode found, params string[] path)
    {
        found = node;
        foreach (var key in path)
        {
            if (found is not YamlMappingNode map || !map.Children.TryGetValue(new YamlScalarNode(key), out var next))
            {
                return false;
            }
            found = next;
        }
        return true;
    }

    public static string? Scalar(YamlNode node, params string[] path) =>
        TryNode(node, out var found, path) && found is YamlScalarNode scalar ? scalar.Value : null;

    /// <summary>The mappings of a sequence at path; empty when absent.</summary>
    public static List<YamlMappingNode> Items(YamlNode node, params string[] path) =>
        TryNode(node, out var found, path) && found is YamlSequenceNode sequence ? sequence.Children.OfType<YamlMappingNode>().ToList() : [];

    public static List<string> Strings(YamlNode node, params string[] path) =>
        TryNode(node, out var found, path) && found is YamlSequenceNode sequence
            ? sequence.Children.OfType<YamlScalarNode>().Select(s => s.Value ?? "").ToList()
            : [];

    public static IEnumerable<YamlMappingNode> OfKind(IEnumerable<YamlMappingNode> objects, string kind) => objects.Where(o => Scalar(o, "kind") == kind);

    public static YamlMappingNode Named(IEnumerable<YamlMappingNode> objects, string kind, string name) =>
        OfKind(objects, kind).SingleOrDefault(o => Scalar(o, "metadata", "name") == name)
        ?? throw new Xunit.Sdk.XunitException($"no {kind} {name}");

    private static string Describe(YamlNode node) =>
        node is YamlMappingNode map && Scalar(map, "kind") is { } kind ? $"{kind} {Scalar(map, "metadata", "name")}" : node.Start.ToString();
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
