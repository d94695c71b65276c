using System.Globalization;
using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Mutt.Core.Events;

/// <summary>
/// What an event must meet before it may reach the audit table: a hostname DNS could hold, a
/// message of bounded size, and a timestamp a monthly partition can take. The one definition for
/// the Ingestor (REST: 400 naming the field; syslog, RELP, SNMP: a counted parse error, the raw
/// frame kept) and the Alerter (an old envelope replayed from a DLQ goes back to the DLQ with the
/// reason). Pure; the checks allocate nothing.
/// </summary>
public sealed class EventLimits
{
    /// <summary>RFC 1035/1123: a host name is at most 253 characters. Fixed: not a matter of taste.</summary>
    public const int MaxHostnameLength = 253;

    /// <summary>The most UTF-8 bytes of <c>message</c> (default 64 KiB, the syslog frame size).</summary>
    [ConfigurationKeyName("MAX_MESSAGE_BYTES")] public int MaxMessageBytes { get; set; } = 64 * 1024;

    /// <summary>
    /// The oldest event time accepted, in days before now (default 2557 = 7 years): an older event
    /// is past even the audit archive's retention (spec 004) and would be dropped unread.
    /// </summary>
    [ConfigurationKeyName("EVENT_TIMESTAMP_MAX_AGE_DAYS")] public int MaxAgeDays { get; set; } = 2557;

    /// <summary>
    /// The latest event time accepted, in days after now (default 31): a month ahead always has a
    /// partition (RETENTION_PRECREATE_MONTHS), a clock years fast would park rows where retention
    /// does not look for years.
    /// </summary>
    [ConfigurationKeyName("EVENT_TIMESTAMP_MAX_FUTURE_DAYS")] public int MaxFutureDays { get; set; } = 31;

    public static EventLimits Default { get; } = new();

    public bool IsValid => MaxMessageBytes > 0 && MaxAgeDays > 0 && MaxFutureDays >= 0;

    public static bool HostnameTooLong(int length) => length > MaxHostnameLength;

    /// <summary>True when <paramref name="message"/> is over <see cref="MaxMessageBytes"/> in UTF-8 (counted only when it could be).</summary>
    public bool MessageTooLarge(string message) =>
        message.Length > MaxMessageBytes || (message.Length > MaxMessageBytes / 3 && Encoding.UTF8.GetByteCount(message) > MaxMessageBytes);

    public bool TimestampInRange(DateTimeOffset time, DateTimeOffset now) =>
        time >= now.AddDays(-MaxAgeDays) && time <= now.AddDays(MaxFutureDays);

    public string HostnameError(int length) => $"must be at most {MaxHostnameLength} characters (is {length})";

    public string MessageError(string message) => $"must be at most {MaxMessageBytes} bytes of UTF-8 (MAX_MESSAGE_BYTES; is {Encoding.UTF8.GetByteCount(message)})";

    public string TimestampError(DateTimeOffset now) => string.Create(CultureInfo.InvariantCulture,
        $"must lie between {now.AddDays(-MaxAgeDays):yyyy-MM-dd} and {now.AddDays(MaxFutureDays):yyyy-MM-dd} (EVENT_TIMESTAMP_MAX_AGE_DAYS={MaxAgeDays}, EVENT_TIMESTAMP_MAX_FUTURE_DAYS={MaxFutureDays})");

    /// <summary>The first limit <paramref name="evt"/> breaks, as "field: why", or null.</summary>
    /// <param name="eventTime">The time the audit row would get (<see cref="MuttEvent.EventTimeUtc"/>).</param>
    public string? Check(MuttEvent evt, DateTime eventTime, DateTimeOffset now)
    {
        if (evt.Hostname is { } hostname && HostnameTooLong(hostname.Length))
        {
            return "hostname: " + HostnameError(hostname.Length);
        }
        if (evt.Message is { } message && MessageTooLarge(message))
        {
            return "message: " + MessageError(message);
        }
        if (!TimestampInRange(new DateTimeOffset(DateTime.SpecifyKind(eventTime, DateTimeKind.Utc)), now))
        {
            return "timestamp: " + TimestampError(now);
        }
        return null;
    }

    /// <summary>The longest prefix of <paramref name="message"/> within <see cref="MaxMessageBytes"/> UTF-8 bytes, never splitting a character.</summary>
    public string Cut(string message)
    {
        var bytes = 0;
        var i = 0;
        while (i < message.Length)
        {
            var width = char.IsHighSurrogate(message[i]) && i + 1 < message.Length && char.IsLowSurrogate(message[i + 1]) ? 2 : 1;
            var size = Encoding.UTF8.GetByteCount(message.AsSpan(i, width));
            if (bytes + size > MaxMessageBytes)
            {
                break;
            }
            bytes += size;
            i += width;
        }
        return message[..i];
    }
}

public static class EventLimitsServiceCollectionExtensions
{
    /// <summary>Binds <see cref="EventLimits"/> from the flat configuration keys (MAX_MESSAGE_BYTES, EVENT_TIMESTAMP_MAX_*_DAYS), checked at start.</summary>
    public static IServiceCollection AddEventLimits(this IServiceCollection services)
    {
        services.AddOptions<EventLimits>().BindConfiguration("")
            .Validate(l => l.IsValid, "MAX_MESSAGE_BYTES and EVENT_TIMESTAMP_MAX_AGE_DAYS must be positive, EVENT_TIMESTAMP_MAX_FUTURE_DAYS 0 or more.")
            .ValidateOnStart();
        return services;
    }
}
