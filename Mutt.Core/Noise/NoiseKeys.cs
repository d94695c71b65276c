using System.Security.Cryptography;
using System.Text;

namespace Mutt.Core.Noise;

/// <summary>
/// The Redis keys of deduplication and flapping detection, built in this one place for the Alerter
/// (which writes them through its Lua scripts) and the Dashboard's rule tester (which reads them).
/// <list type="bullet">
/// <item><c>mutt:dedup:{hash}</c>: one deduplication window (HASH <c>first</c>, <c>count</c>, <c>carried</c>), expires with it;</item>
/// <item><c>mutt:dedup:repeats:{hash}</c>: repeats not yet reported to Moogsoft (carried by the next forward);</item>
/// <item><c>mutt:flapping:s:{rule}:{host}:{interface}</c>: a flapping state (HASH), <c>mutt:flapping:t:…</c> its transitions (ZSET);</item>
/// <item><c>mutt:flapping:active</c>: flapping states by the time they go quiet (ZSET), swept for clears;</item>
/// <item><c>mutt:flapping:sweep_lock</c>: which Alerter sweeps now.</item>
/// </list>
/// </summary>
public static class NoiseKeys
{
    public const string DedupPrefix = "mutt:dedup";
    public const string DedupRepeatsPrefix = DedupPrefix + ":repeats";
    public const string FlappingPrefix = "mutt:flapping";
    public const string FlappingStatePrefix = FlappingPrefix + ":s:";
    public const string FlappingTransitionsPrefix = FlappingPrefix + ":t:";
    public const string FlappingActive = FlappingPrefix + ":active";
    public const string FlappingSweepLock = FlappingPrefix + ":sweep_lock";

    /// <summary>How long unreported repeats wait for the next forward of the same event (then only the audit trail has them).</summary>
    public static readonly TimeSpan RepeatsRetention = TimeSpan.FromDays(1);

    /// <summary>
    /// The deduplication identity of an event: SHA-256 of the host (case-insensitive), the normalised
    /// message (trimmed, every run of whitespace one space) and the trap OID; 32 hex digits.
    /// </summary>
    public static string DedupHash(string hostname, string? message, string? trapOid)
    {
        var text = new StringBuilder(hostname.Length + (message?.Length ?? 0) + (trapOid?.Length ?? 0) + 2);
        text.Append(hostname.ToLowerInvariant()).Append('\n');
        AppendNormalised(text, message);
        text.Append('\n').Append(trapOid);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString()), hash);
        return Convert.ToHexStringLower(hash[..16]);
    }

    public static string DedupWindow(string hash) => $"{DedupPrefix}:{hash}";
    public static string DedupRepeats(string hash) => $"{DedupRepeatsPrefix}:{hash}";

    /// <summary>The message as deduplication compares it: trimmed, each run of whitespace one space.</summary>
    public static string NormaliseMessage(string? message)
    {
        var text = new StringBuilder(message?.Length ?? 0);
        AppendNormalised(text, message);
        return text.ToString();
    }

    private static void AppendNormalised(StringBuilder text, string? message)
    {
        if (message is null)
        {
            return;
        }
        var span = message.AsSpan().Trim();
        var space = false;
        foreach (var c in span)
        {
            if (char.IsWhiteSpace(c))
            {
                space = true;
                continue;
            }
            if (space)
            {
                text.Append(' ');
                space = false;
            }
            text.Append(c);
        }
    }

    /// <summary>The flapping state of one rule, host (case-insensitive) and interface.</summary>
    public static string FlappingState(int ruleId, string hostname, string iface) =>
        $"{FlappingStatePrefix}{ruleId}:{hostname.ToLowerInvariant()}:{iface}";

    /// <summary>The transitions of a flapping state (same suffix; the sweep script derives it the same way).</summary>
    public static string FlappingTransitions(string stateKey) => FlappingTransitionsPrefix + stateKey[FlappingStatePrefix.Length..];

    /// <summary>The correlation id of a flapping episode's alert and of its clear: one Moogsoft signature for both.</summary>
    public static string FlappingCorrelationId(int ruleId, string hostname, string iface) =>
        $"flapping-{ruleId}-{hostname.ToLowerInvariant()}-{iface}";
}
