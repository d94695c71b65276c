namespace Mutt.Alerter.Audit;

/// <summary>
/// PostgreSQL text and jsonb cannot hold the NUL character (jsonb rejects <c>\u0000</c> with
/// 22P05), and syslog senders do emit it. Rather than let one such event poison its batch and end
/// up unaudited, NUL is replaced by U+FFFD (the replacement character) at the audit boundary; the
/// rest of the event is kept exactly.
/// </summary>
public static class PostgresText
{
    private const char Replacement = '\uFFFD';

    public static string Safe(string value) => value.Contains('\0') ? value.Replace('\0', Replacement) : value;

    /// <summary>Rewrites each JSON escape <c>\u0000</c> to <c>\ufffd</c>; returns the input untouched when there is none.</summary>
    public static ReadOnlyMemory<byte> SafeJson(ReadOnlyMemory<byte> json)
    {
        var span = json.Span;
        if (span.IndexOf("\\u0000"u8) < 0)
        {
            return json;
        }
        var copy = span.ToArray();
        for (var i = 0; i + 6 <= copy.Length; i++)
        {
            if (copy[i] != (byte)'\\')
            {
                continue;
            }
            if (copy.AsSpan(i, 6).SequenceEqual("\\u0000"u8))
            {
                "\\ufffd"u8.CopyTo(copy.AsSpan(i, 6));
                i += 5;
            }
            else
            {
                i++; // skip the escaped character, so an escaped backslash followed by "u0000" stays text
            }
        }
        return copy;
    }
}
