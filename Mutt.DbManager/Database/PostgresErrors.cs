using Npgsql;

namespace Mutt.DbManager.Database;

/// <summary>One-line descriptions of database failures for the log: the SQLSTATE and the server's text, or the client's reason. Never a connection string.</summary>
public static class PostgresErrors
{
    /// <summary>
    /// The failure behind Npgsql's wrappers. With TLS on, MuttNpgsql's password provider opens a probe
    /// connection first, and Npgsql reports what went wrong there as "An exception was thrown from the
    /// password provider" around the real one (3D000, 28P01, a refused certificate, a refused socket).
    /// </summary>
    public static Exception Unwrap(Exception exception)
    {
        while (exception is NpgsqlException and not PostgresException && exception.InnerException is NpgsqlException inner)
        {
            exception = inner;
        }
        return exception;
    }

    public static string Describe(Exception exception) => Unwrap(exception) switch
    {
        PostgresException postgres => $"{postgres.SqlState}: {postgres.MessageText}",
        { InnerException: { } inner } root when !root.Message.Contains(inner.Message, StringComparison.Ordinal) => $"{root.Message} ({Describe(inner)})",
        var root => root.Message,
    };

    /// <summary>Worth another attempt while the server starts: refused or timed-out sockets, DNS not there yet, 57P03 "the database system is starting up", 53300 too many connections.</summary>
    public static bool IsTransient(Exception exception) =>
        Unwrap(exception) is NpgsqlException { IsTransient: true } or TimeoutException or System.Net.Sockets.SocketException;
}
