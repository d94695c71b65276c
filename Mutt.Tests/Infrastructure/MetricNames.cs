using System.Text.RegularExpressions;

namespace Mutt.Tests.Infrastructure;

/// <summary>The metric names MUTT exposes (the golden exposition file) and the names a PromQL expression uses.</summary>
public static partial class MetricNames
{
    /// <summary>Every series name of Mutt.Tests/Unit/Golden/metrics-exposition.txt, histograms as their _bucket/_sum/_count.</summary>
    public static HashSet<string> Exposed()
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in File.ReadAllLines(Path.Combine(ChildService.RepositoryRoot, "Mutt.Tests", "Unit", "Golden", "metrics-exposition.txt")))
        {
            if (line.Split(' ') is [var type, var name, ..] && !line.StartsWith('#'))
            {
                if (type == "histogram")
                {
                    names.UnionWith([name + "_bucket", name + "_sum", name + "_count"]);
                }
                else
                {
                    names.Add(name);
                }
            }
        }
        return names;
    }

    private static readonly HashSet<string> Keywords = ["by", "without", "and", "or", "unless", "on", "ignoring", "group_left", "group_right", "bool", "offset", "inf", "nan", "e"];

    /// <summary>
    /// The metric names of a PromQL expression: identifiers that are not functions (no "(" after
    /// them), keywords, label names (inside {}, by/without/on/ignoring lists), strings, durations or
    /// Grafana variables.
    /// </summary>
    public static IReadOnlyList<string> In(string promql)
    {
        var text = Regex.Replace(promql, "\"(?:[^\"\\\\]|\\\\.)*\"", "\"\"");
        text = Regex.Replace(text, @"\$\{?\w+\}?", " ");
        text = Regex.Replace(text, @"\{[^}]*\}", " ");
        text = Regex.Replace(text, @"\[[^\]]*\]", " ");
        text = Regex.Replace(text, @"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ");
        return [.. Identifier().Matches(text).Where(m => !m.Groups["call"].Success && !Keywords.Contains(m.Groups["name"].Value))
            .Select(m => m.Groups["name"].Value).Distinct()];
    }

    [GeneratedRegex(@"(?<![\w.])(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?<call>\s*\()?")]
    private static partial Regex Identifier();
}
