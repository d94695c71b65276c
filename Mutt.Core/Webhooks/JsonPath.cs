using System.Globalization;
using System.Text.Json;

namespace Mutt.Core.Webhooks;

/// <summary>
/// A field path into a JSON document, as mapped sources name them: property names separated by
/// dots, array elements by <c>[index]</c>, an optional leading <c>$.</c> — <c>alert.host.name</c>,
/// <c>$.items[0].severity</c>. Parsed once per mapping load; resolving it allocates nothing.
/// </summary>
public sealed class JsonPath
{
    private readonly (string? Name, int Index)[] _segments;

    private JsonPath(string text, (string? Name, int Index)[] segments)
    {
        Text = text;
        _segments = segments;
    }

    public string Text { get; }

    public static bool TryParse(string? text, out JsonPath path, out string error)
    {
        path = null!;
        error = "";
        var rest = (text ?? "").Trim();
        if (rest.StartsWith("$.", StringComparison.Ordinal))
        {
            rest = rest[2..];
        }
        if (rest.Length == 0)
        {
            error = "must not be empty";
            return false;
        }
        var segments = new List<(string?, int)>();
        foreach (var part in rest.Split('.'))
        {
            var bracket = part.IndexOf('[');
            var name = bracket < 0 ? part : part[..bracket];
            if (part.Length == 0)
            {
                error = $"'{text}' has an empty name (two dots, or a dot at an end)";
                return false;
            }
            if (name.Length == 0 && segments.Count > 0)
            {
                error = $"'{text}': write an index after its name, as items[0]";
                return false;
            }
            if (name.Length > 0)
            {
                if (name.AsSpan().IndexOfAny(']', ' ') >= 0)
                {
                    error = $"'{text}': '{name}' is not a property name";
                    return false;
                }
                segments.Add((name, -1));
            }
            var indexes = bracket < 0 ? "" : part[bracket..];
            while (indexes.Length > 0)
            {
                var close = indexes.IndexOf(']');
                if (indexes[0] != '[' || close < 2
                    || !int.TryParse(indexes.AsSpan(1, close - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var index))
                {
                    error = $"'{text}': array indexes are written [0], [1], ...";
                    return false;
                }
                segments.Add((null, index));
                indexes = indexes[(close + 1)..];
            }
        }
        path = new JsonPath(text!.Trim(), [.. segments]);
        return true;
    }

    /// <summary>The value at the path; false when any step is missing or of the wrong kind (JSON null counts as missing).</summary>
    public bool TryResolve(JsonElement root, out JsonElement value)
    {
        value = root;
        foreach (var (name, index) in _segments)
        {
            if (name is not null)
            {
                if (value.ValueKind != JsonValueKind.Object || !value.TryGetProperty(name, out value))
                {
                    return false;
                }
            }
            else if (value.ValueKind != JsonValueKind.Array || index >= value.GetArrayLength())
            {
                return false;
            }
            else
            {
                value = value[index];
            }
        }
        return value.ValueKind is not (JsonValueKind.Null or JsonValueKind.Undefined);
    }

    public override string ToString() => Text;
}
