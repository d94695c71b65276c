namespace Mutt.Tests.Infrastructure;

/// <summary>
/// Finds secret values in text: log lines, HTTP responses, files (e.g. a state folder's logs or a
/// published manifest). Use it to assert that no secret leaked: <c>Assert.Empty(scanner.Scan(...))</c>.
/// Secrets shorter than 6 characters are refused, since they would match by accident.
/// </summary>
public sealed class SecretScanner
{
    private readonly IReadOnlyDictionary<string, string> _secrets;

    /// <param name="secrets">name → value, e.g. { ["INGEST_API_KEY"] = key }.</param>
    public SecretScanner(IReadOnlyDictionary<string, string> secrets)
    {
        foreach (var (name, value) in secrets)
        {
            if (value.Length < 6)
            {
                throw new ArgumentException($"Secret {name} is too short to scan for reliably (min 6 characters).", nameof(secrets));
            }
        }
        _secrets = secrets;
    }

    /// <summary>One finding: which secret, where (the source label), and the line number (1-based).</summary>
    public sealed record Finding(string SecretName, string Source, int Line)
    {
        public override string ToString() => $"{SecretName} found in {Source} line {Line}";
    }

    /// <summary>Scans one text; <paramref name="source"/> labels the findings.</summary>
    public IReadOnlyList<Finding> Scan(string text, string source)
    {
        var findings = new List<Finding>();
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            foreach (var (name, value) in _secrets)
            {
                if (lines[i].Contains(value, StringComparison.Ordinal))
                {
                    findings.Add(new Finding(name, source, i + 1));
                }
            }
        }
        return findings;
    }

    /// <summary>Scans many texts (e.g. captured log lines or response bodies).</summary>
    public IReadOnlyList<Finding> Scan(IEnumerable<string> texts, string source) =>
        texts.SelectMany((text, index) => Scan(text, $"{source}[{index}]")).ToList();

    /// <summary>Scans every file under <paramref name="folder"/> (recursively), skipping files matching <paramref name="exclude"/> (e.g. the secrets file itself).</summary>
    public IReadOnlyList<Finding> ScanFolder(string folder, Func<string, bool>? exclude = null)
    {
        var findings = new List<Finding>();
        foreach (var file in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories))
        {
            if (exclude?.Invoke(file) == true)
            {
                continue;
            }
            string text;
            try
            {
                text = File.ReadAllText(file);
            }
            catch (IOException)
            {
                continue; // locked or vanished (a running process's file)
            }
            findings.AddRange(Scan(text, file));
        }
        return findings;
    }
}
