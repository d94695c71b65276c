namespace Mutt.Tests.Reliability;

public enum BadInputTransport
{
    Rest,
    SyslogUdp,
    SyslogTcp,
    Snmp,
}

/// <summary>The documented answer to a bad input (docs/reliability.md, "Bad input").</summary>
public enum Expectation
{
    /// <summary>REST 400 problem details naming the field/index; nothing of the request enqueued.</summary>
    BadRequest,

    /// <summary>REST 413 (body over the configured limit); nothing enqueued, body not buffered past the limit.</summary>
    PayloadTooLarge,

    /// <summary>Hostile text is data: REST 202 / syslog enqueued, stored verbatim, never evaluated.</summary>
    AcceptedVerbatim,

    /// <summary>Syslog: enqueued as an event, parsed when possible, else raw with <c>parse_error</c>; counted.</summary>
    Enqueued,

    /// <summary>Syslog: cut at the frame limit (or at the peer's close) and flagged <c>truncated</c>; counted.</summary>
    EnqueuedTruncated,

    /// <summary>SNMP: dropped and counted as garbage, no reply datagram, listener keeps serving.</summary>
    DroppedAndCounted,
}

/// <summary>One bad input: what to send, where, and what the system must answer.</summary>
public sealed record BadInputCase(
    int Id,
    string Category,
    BadInputTransport Transport,
    byte[] Payload,
    string? ContentType,
    Expectation Expected,
    string Description)
{
    /// <summary>The HTTP status a REST case must get; null for the listeners (no per-message answer).</summary>
    public int? ExpectedStatus => Transport != BadInputTransport.Rest ? null : Expected switch
    {
        Expectation.BadRequest => 400,
        Expectation.PayloadTooLarge => 413,
        Expectation.AcceptedVerbatim => 202,
        _ => throw new InvalidOperationException($"{Expected} is not a REST answer."),
    };

    public override string ToString() => $"#{Id} {Category}/{Transport}: {Description} ({Payload.Length} bytes) -> {Expected}";
}

public sealed class BadInputOptions
{
    public int Seed { get; set; } = 20240601;

    /// <summary>The Ingestor's REST body limit (bytes); oversize cases exceed it.</summary>
    public int RestMaxBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>The Ingestor's JSON depth limit; deep-nesting cases exceed it.</summary>
    public int MaxJsonDepth { get; set; } = 32;

    /// <summary>The syslog listeners' frame limit (bytes); over-long cases exceed it.</summary>
    public int SyslogMaxFrameBytes { get; set; } = 8192;

    /// <summary>Multiplies every category's case count (1 = the default ≥ 10,000 cases).</summary>
    public double Scale { get; set; } = 1.0;
}
