using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Mutt.AppHost.Model;

namespace Mutt.AppHost.Run;

/// <summary>
/// Parameter values the way Aspire finds them: configuration <c>Parameters:&lt;name&gt;</c>
/// (environment <c>Parameters__&lt;name&gt;</c>) first; otherwise a value generated once into
/// <c>parameters.json</c> in the state folder (mode 600) and reused on every later run.
/// </summary>
public static class ParameterStore
{
    public const string FileName = "parameters.json";
    private const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    public sealed record Result(IReadOnlyDictionary<string, string> Values, IReadOnlyList<string> Generated, IReadOnlyList<string> FromConfiguration, string FilePath);

    public static Result Resolve(IEnumerable<ParameterResource> parameters, IConfiguration configuration, string stateDir)
    {
        Directory.CreateDirectory(stateDir);
        var path = Path.Combine(stateDir, FileName);
        var stored = File.Exists(path)
            ? JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllText(path)) ?? []
            : new Dictionary<string, string>();
        var values = new Dictionary<string, string>();
        var generated = new List<string>();
        var fromConfiguration = new List<string>();
        foreach (var parameter in parameters)
        {
            if (configuration[parameter.ConfigurationKey] is { Length: > 0 } configured)
            {
                values[parameter.Name] = configured;
                fromConfiguration.Add(parameter.Name);
            }
            else if (stored.TryGetValue(parameter.Name, out var existing) && existing.Length > 0)
            {
                values[parameter.Name] = existing;
            }
            else
            {
                var value = RandomNumberGenerator.GetString(Alphabet, parameter.GeneratedLength);
                stored[parameter.Name] = value;
                values[parameter.Name] = value;
                generated.Add(parameter.Name);
            }
        }
        if (generated.Count > 0 || !File.Exists(path))
        {
            WriteSecretFile(path, JsonSerializer.Serialize(stored, new JsonSerializerOptions { WriteIndented = true }));
        }
        return new Result(values, generated, fromConfiguration, path);
    }

    /// <summary>Writes a file readable by its owner only; created with mode 600 so it is never briefly world-readable.</summary>
    public static void WriteSecretFile(string path, string content)
    {
        var temp = path + ".tmp";
        File.Delete(temp);
        using (var stream = new FileStream(temp, new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        }))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(content);
        }
        File.Move(temp, path, overwrite: true);
    }
}
