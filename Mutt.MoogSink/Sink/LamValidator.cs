using System.Text.Json;

namespace Mutt.MoogSink.Sink;

/// <summary>
/// Checks a request body the way Moogsoft's REST LAM does for MUTT's payload: an object with an
/// <c>events</c> array whose items each carry a non-empty <c>signature</c> and <c>source</c>, an
/// integer <c>severity</c> 0–5 and a string <c>description</c>. Pure, so unit tests call it directly.
/// </summary>
public static class LamValidator
{
    public static readonly string[] RequiredStrings = ["signature", "source", "description"];

    /// <summary>Returns null when valid, else the reason the LAM would give.</summary>
    public static string? Validate(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            return "body must be a JSON object";
        }
        if (!root.TryGetProperty("events", out var events) || events.ValueKind != JsonValueKind.Array)
        {
            return "body must contain an 'events' array";
        }
        if (events.GetArrayLength() == 0)
        {
            return "'events' is empty";
        }
        var index = 0;
        foreach (var e in events.EnumerateArray())
        {
            var error = ValidateEvent(e);
            if (error is not null)
            {
                return $"events[{index}]: {error}";
            }
            index++;
        }
        return null;
    }

    public static string? ValidateEvent(JsonElement e)
    {
        if (e.ValueKind != JsonValueKind.Object)
        {
            return "event must be an object";
        }
        foreach (var name in RequiredStrings)
        {
            if (!e.TryGetProperty(name, out var v) || v.ValueKind != JsonValueKind.String)
            {
                return $"missing required field '{name}'";
            }
            if (name != "description" && v.GetString()!.Length == 0)
            {
                return $"'{name}' must not be empty";
            }
        }
        if (!e.TryGetProperty("severity", out var severity) || severity.ValueKind != JsonValueKind.Number
            || !severity.TryGetInt32(out var s) || s is < 0 or > 5)
        {
            return "'severity' must be an integer 0-5";
        }
        if (e.TryGetProperty("agent_time", out var agentTime) && agentTime.ValueKind is not (JsonValueKind.Number or JsonValueKind.String))
        {
            return "'agent_time' must be epoch seconds";
        }
        return null;
    }
}
