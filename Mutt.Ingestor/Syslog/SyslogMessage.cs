namespace Mutt.Ingestor.Syslog;

/// <summary>One parsed syslog message. Fields the message did not carry are null.</summary>
public sealed class SyslogMessage
{
    public int? Facility { get; set; }
    public int? Severity { get; set; }
    /// <summary>ISO 8601 text of the message's own time (RFC 3164 times have no year or zone: current year, UTC assumed).</summary>
    public string? Timestamp { get; set; }
    /// <summary>The same time as a value (null when the message carried none).</summary>
    public DateTimeOffset? Time { get; set; }
    public string? Hostname { get; set; }
    public string? AppName { get; set; }
    public string? ProcId { get; set; }
    public string? MsgId { get; set; }
    /// <summary>RFC 5424 structured data: SD-ID → parameters (a repeated parameter keeps its last value).</summary>
    public Dictionary<string, Dictionary<string, string>>? StructuredData { get; set; }
    public string Message { get; set; } = "";
    /// <summary>"rfc5424", "rfc3164" or "raw".</summary>
    public string Format { get; set; } = "raw";
    /// <summary>Why the message could not be parsed; then <see cref="Message"/> is the whole raw text.</summary>
    public string? ParseError { get; set; }
    /// <summary>True when <see cref="Message"/> was cut at MAX_MESSAGE_BYTES (<see cref="ParseError"/> says so).</summary>
    public bool MessageCut { get; set; }
}
