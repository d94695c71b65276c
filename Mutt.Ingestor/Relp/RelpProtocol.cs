using System.Buffers;
using System.Globalization;
using System.Text;
using Mutt.Ingestor.Ingest;

namespace Mutt.Ingestor.Relp;

/// <summary>The server side of RELP's wire format (rsyslog relp.txt, librelp): the frames MUTT sends. Pure.</summary>
public static class RelpProtocol
{
    /// <summary>The protocol version MUTT speaks (librelp's current one).</summary>
    public const int Version = 0;

    public const string Software = "mutt-ingestor,1,https://github.com/mutt";

    /// <summary>The server's hint before it closes a session (txnr 0: not a transaction, nothing to answer).</summary>
    public static ReadOnlySpan<byte> ServerClose => "0 serverclose 0\n"u8;

    public static void WriteOk(IBufferWriter<byte> output, long txnr) => Write(output, txnr, "rsp", "200 OK");

    /// <summary>An error answer; RELP limits the human-readable text to 80 characters.</summary>
    public static void WriteError(IBufferWriter<byte> output, long txnr, string text)
    {
        var message = "500 " + text.Replace('\n', ' ');
        Write(output, txnr, "rsp", message.Length > 84 ? message[..84] : message);
    }

    /// <summary>The answer to "close": an empty rsp, after which the server closes the connection.</summary>
    public static void WriteCloseOk(IBufferWriter<byte> output, long txnr) => Write(output, txnr, "rsp", "");

    /// <summary>
    /// The answer to "open": 200 OK and MUTT's offers. MUTT speaks version 0 and exactly one command,
    /// <c>syslog</c>; a client that does not offer it is refused (it could send nothing we accept).
    /// </summary>
    public static void WriteOpenAnswer(IBufferWriter<byte> output, long txnr, ReadOnlySpan<byte> clientOffers)
    {
        var offers = ParseOffers(clientOffers);
        if (!offers.TryGetValue("commands", out var commands) || !commands.Split(',').Contains("syslog"))
        {
            WriteError(output, txnr, "required command not supported by client: syslog");
            return;
        }
        var version = offers.TryGetValue("relp_version", out var v) && int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            ? Math.Min(n, Version) : Version;
        Write(output, txnr, "rsp", $"200 OK\nrelp_version={version}\nrelp_software={Software}\ncommands=syslog\n");
    }

    /// <summary>The offers of an "open" frame: one <c>name[=value]</c> per line.</summary>
    public static Dictionary<string, string> ParseOffers(ReadOnlySpan<byte> data)
    {
        var offers = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in Encoding.UTF8.GetString(data).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var equals = line.IndexOf('=');
            offers[equals < 0 ? line : line[..equals]] = equals < 0 ? "" : line[(equals + 1)..];
        }
        return offers;
    }

    /// <summary>
    /// The correlation id of a RELP syslog frame: a hash of the sender and the frame's bytes. librelp
    /// resends an unacknowledged frame byte for byte (only its txnr is rewritten, and txnr is not
    /// hashed), so a resend after a crash maps to the same audit key (correlation_id,
    /// event_timestamp) and the idempotent audit writes it once. The price: two byte-identical
    /// frames from one sender (same timestamp to the microsecond, same text) are audited once.
    /// </summary>
    public static string CorrelationId(string sender, ReadOnlySpan<byte> data) => ResendStableId.Of("relp-", sender, data);

    private static void Write(IBufferWriter<byte> output, long txnr, string command, string data)
    {
        var payload = Encoding.UTF8.GetBytes(data);
        var header = payload.Length == 0
            ? $"{txnr.ToString(CultureInfo.InvariantCulture)} {command} 0"
            : $"{txnr.ToString(CultureInfo.InvariantCulture)} {command} {payload.Length.ToString(CultureInfo.InvariantCulture)} ";
        var span = output.GetSpan(header.Length + payload.Length + 1);
        var written = Encoding.ASCII.GetBytes(header, span);
        payload.CopyTo(span[written..]);
        written += payload.Length;
        span[written++] = (byte)'\n';
        output.Advance(written);
    }
}
