using System.Globalization;
using System.Text;
using Mutt.Core.Events;

namespace Mutt.Ingestor.Syslog;

/// <summary>
/// Parses one syslog message (already framed) in RFC 5424 or RFC 3164 form, including the
/// PRI-less lines of /var/log/messages. Pure and allocation-light; never throws: what it cannot
/// parse comes back whole with <see cref="SyslogMessage.ParseError"/> set, because an operator
/// would rather see an odd line than lose it.
/// </summary>
public static class SyslogParser
{
    private static readonly string[] Months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

    public static SyslogMessage Parse(ReadOnlySpan<byte> frame, DateTimeOffset receivedAt)
    {
        var text = Encoding.UTF8.GetString(TrimEnd(frame));
        return Parse(text, receivedAt);
    }

    /// <summary>
    /// Parses and holds the message to <paramref name="limits"/>. A hostname over 253 characters or
    /// a time outside the accepted range makes it a parse error like any other: the whole frame is
    /// kept as the message, the sender's address and the receive time stand in, and the worker
    /// counts it (mutt_syslog_parse_errors_total). A message over MAX_MESSAGE_BYTES is cut there,
    /// and the parse error says how long it was.
    /// </summary>
    public static SyslogMessage Parse(ReadOnlySpan<byte> frame, DateTimeOffset receivedAt, EventLimits limits) =>
        Parse(Encoding.UTF8.GetString(TrimEnd(frame)), receivedAt, limits);

    public static SyslogMessage Parse(string text, DateTimeOffset receivedAt, EventLimits limits)
    {
        var message = Parse(text, receivedAt);
        string? violation = null;
        if (message.Hostname is { } hostname && EventLimits.HostnameTooLong(hostname.Length))
        {
            violation = "hostname " + limits.HostnameError(hostname.Length);
        }
        else if (message.Time is { } time && !limits.TimestampInRange(time, receivedAt))
        {
            violation = $"timestamp {message.Timestamp} " + limits.TimestampError(receivedAt);
        }
        if (violation is not null)
        {
            message = Raw(text, violation, message);
        }
        if (limits.MessageTooLarge(message.Message))
        {
            var cut = "message " + limits.MessageError(message.Message) + "; cut";
            message.Message = limits.Cut(message.Message);
            message.MessageCut = true;
            message.ParseError = message.ParseError is null ? cut : message.ParseError + "; " + cut;
        }
        return message;
    }

    public static SyslogMessage Parse(string text, DateTimeOffset receivedAt)
    {
        var message = new SyslogMessage();
        var rest = text.AsSpan();
        if (rest.Length > 0 && rest[0] == '<')
        {
            var close = rest.IndexOf('>');
            if (close is < 2 or > 4 || !int.TryParse(rest[1..close], NumberStyles.None, CultureInfo.InvariantCulture, out var pri) || pri > 191)
            {
                return Raw(text, "invalid PRI");
            }
            message.Facility = pri >> 3;
            message.Severity = pri & 7;
            rest = rest[(close + 1)..];
            if (rest.Length >= 2 && rest[0] == '1' && rest[1] == ' ')
            {
                return ParseRfc5424(message, text, rest[2..]) ?? Raw(text, "malformed RFC 5424 header", message);
            }
            ParseRfc3164(message, rest, receivedAt, hasPri: true);
            return message;
        }
        if (!ParseRfc3164(message, rest, receivedAt, hasPri: false))
        {
            return Raw(text, "no PRI and no timestamp");
        }
        return message;
    }

    private static SyslogMessage Raw(string text, string error, SyslogMessage? partial = null) => new()
    {
        Facility = partial?.Facility,
        Severity = partial?.Severity,
        Message = text,
        Format = "raw",
        ParseError = error,
    };

    private static ReadOnlySpan<byte> TrimEnd(ReadOnlySpan<byte> frame)
    {
        var end = frame.Length;
        while (end > 0 && frame[end - 1] is (byte)'\n' or (byte)'\r' or 0)
        {
            end--;
        }
        return frame[..end];
    }

    private static SyslogMessage? ParseRfc5424(SyslogMessage message, string text, ReadOnlySpan<char> rest)
    {
        if (!NextToken(ref rest, out var timestamp) || !NextToken(ref rest, out var hostname) || !NextToken(ref rest, out var appName)
            || !NextToken(ref rest, out var procId) || !NextToken(ref rest, out var msgId))
        {
            return null;
        }
        if (!timestamp.SequenceEqual("-"))
        {
            if (!DateTimeOffset.TryParse(timestamp, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time))
            {
                return null;
            }
            message.Timestamp = time.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFzzz", CultureInfo.InvariantCulture);
            message.Time = time;
        }
        message.Hostname = Nil(hostname);
        message.AppName = Nil(appName);
        message.ProcId = Nil(procId);
        message.MsgId = Nil(msgId);
        if (rest.Length > 0 && rest[0] == '-')
        {
            rest = rest[1..];
        }
        else if (rest.Length > 0 && rest[0] == '[')
        {
            if (!ParseStructuredData(ref rest, out var sd))
            {
                return null;
            }
            message.StructuredData = sd;
        }
        else if (rest.Length > 0)
        {
            return null;
        }
        if (rest.Length > 0 && rest[0] == ' ')
        {
            rest = rest[1..];
        }
        if (rest.Length > 0 && rest[0] == '\uFEFF')
        {
            rest = rest[1..];
        }
        message.Message = rest.ToString();
        message.Format = "rfc5424";
        return message;
    }

    private static string? Nil(ReadOnlySpan<char> token) => token.SequenceEqual("-") ? null : token.ToString();

    private static bool NextToken(ref ReadOnlySpan<char> rest, out ReadOnlySpan<char> token)
    {
        var space = rest.IndexOf(' ');
        if (space <= 0)
        {
            token = default;
            return false;
        }
        token = rest[..space];
        rest = rest[(space + 1)..];
        return true;
    }

    /// <summary>SD-ELEMENTs: [id name="value" ...] repeated; values escape '"', '\' and ']' with '\'.</summary>
    private static bool ParseStructuredData(ref ReadOnlySpan<char> rest, out Dictionary<string, Dictionary<string, string>> sd)
    {
        sd = [];
        var value = new StringBuilder();
        while (rest.Length > 0 && rest[0] == '[')
        {
            rest = rest[1..];
            var idEnd = rest.IndexOfAny(' ', ']');
            if (idEnd <= 0)
            {
                return false;
            }
            var parameters = new Dictionary<string, string>();
            sd[rest[..idEnd].ToString()] = parameters;
            rest = rest[idEnd..];
            while (rest.Length > 0 && rest[0] == ' ')
            {
                rest = rest[1..];
                var eq = rest.IndexOf('=');
                if (eq <= 0 || rest.Length < eq + 2 || rest[eq + 1] != '"')
                {
                    return false;
                }
                var name = rest[..eq].ToString();
                rest = rest[(eq + 2)..];
                value.Clear();
                var closed = false;
                for (var i = 0; i < rest.Length; i++)
                {
                    var c = rest[i];
                    if (c == '\\' && i + 1 < rest.Length && rest[i + 1] is '"' or '\\' or ']')
                    {
                        value.Append(rest[i + 1]);
                        i++;
                    }
                    else if (c == '"')
                    {
                        rest = rest[(i + 1)..];
                        closed = true;
                        break;
                    }
                    else
                    {
                        value.Append(c);
                    }
                }
                if (!closed)
                {
                    return false;
                }
                parameters[name] = value.ToString();
            }
            if (rest.Length == 0 || rest[0] != ']')
            {
                return false;
            }
            rest = rest[1..];
        }
        return true;
    }

    /// <summary>
    /// RFC 3164: "Mmm dd hh:mm:ss HOST TAG[PID]: MSG". Also accepts an RFC 3339 timestamp in place of
    /// the BSD one (rsyslog's high-precision templates). With a PRI but no timestamp the whole rest is
    /// the message (RFC 3164 §4.3.3); without PRI a timestamp is required (false otherwise).
    /// </summary>
    private static bool ParseRfc3164(SyslogMessage message, ReadOnlySpan<char> rest, DateTimeOffset receivedAt, bool hasPri)
    {
        message.Format = "rfc3164";
        if (TryBsdTimestamp(rest, receivedAt, out var time, out var consumed) || TryIsoTimestamp(rest, out time, out consumed))
        {
            message.Timestamp = time.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFzzz", CultureInfo.InvariantCulture);
            message.Time = time;
            rest = rest[consumed..].TrimStart(' ');
            // HOSTNAME then TAG. A word ending in ':' or containing '[' right after the time is the tag (no hostname sent).
            var space = rest.IndexOf(' ');
            if (space > 0 && !IsTag(rest[..space]))
            {
                message.Hostname = rest[..space].ToString();
                rest = rest[(space + 1)..];
            }
        }
        else if (!hasPri)
        {
            return false;
        }
        ParseTag(message, rest);
        return true;
    }

    private static bool IsTag(ReadOnlySpan<char> word) => word.EndsWith(":") || word.Contains('[');

    private static void ParseTag(SyslogMessage message, ReadOnlySpan<char> rest)
    {
        // TAG is up to 32 alphanumerics (in practice also '-', '_', '.', '/'), optionally [PID], then ':'.
        var i = 0;
        while (i < rest.Length && i <= 48 && (char.IsAsciiLetterOrDigit(rest[i]) || rest[i] is '-' or '_' or '.' or '/'))
        {
            i++;
        }
        if (i == 0 || i >= rest.Length || !char.IsAsciiLetter(rest[0]))
        {
            message.Message = rest.ToString();
            return;
        }
        var tag = rest[..i];
        var after = rest[i..];
        string? pid = null;
        if (after[0] == '[')
        {
            var close = after.IndexOf(']');
            if (close < 0)
            {
                message.Message = rest.ToString();
                return;
            }
            pid = after[1..close].ToString();
            after = after[(close + 1)..];
        }
        if (after.Length > 0 && after[0] == ':')
        {
            message.AppName = tag.ToString();
            message.ProcId = pid;
            message.Message = after[1..].TrimStart(' ').ToString();
            return;
        }
        message.Message = rest.ToString();
    }

    private static bool TryBsdTimestamp(ReadOnlySpan<char> s, DateTimeOffset receivedAt, out DateTimeOffset time, out int consumed)
    {
        time = default;
        consumed = 0;
        // "Mmm dd hh:mm:ss" (day padded with a space or a zero); 15 chars.
        if (s.Length < 15 || s[3] != ' ' || s[6] != ' ' || s[9] != ':' || s[12] != ':')
        {
            return false;
        }
        var month = Array.IndexOf(Months, s[..3].ToString()) + 1;
        if (month == 0
            || !int.TryParse(s[4..6].Trim(' '), NumberStyles.None, CultureInfo.InvariantCulture, out var day)
            || !int.TryParse(s[7..9], NumberStyles.None, CultureInfo.InvariantCulture, out var hour)
            || !int.TryParse(s[10..12], NumberStyles.None, CultureInfo.InvariantCulture, out var minute)
            || !int.TryParse(s[13..15], NumberStyles.None, CultureInfo.InvariantCulture, out var second)
            || day is < 1 or > 31 || hour > 23 || minute > 59 || second > 60)
        {
            return false;
        }
        var year = receivedAt.UtcDateTime.Year;
        if (day > DateTime.DaysInMonth(year, month))
        {
            return false;
        }
        time = new DateTimeOffset(year, month, day, hour, minute, Math.Min(second, 59), TimeSpan.Zero);
        // No year on the wire: a December message read in January belongs to last year.
        if (time > receivedAt.AddDays(31) && day <= DateTime.DaysInMonth(year - 1, month))
        {
            time = time.AddYears(-1);
        }
        consumed = 15;
        return true;
    }

    private static bool TryIsoTimestamp(ReadOnlySpan<char> s, out DateTimeOffset time, out int consumed)
    {
        time = default;
        consumed = s.IndexOf(' ');
        if (consumed < 19 || s[4] != '-' || s[10] != 'T')
        {
            return false;
        }
        return DateTimeOffset.TryParse(s[..consumed], CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out time);
    }
}
