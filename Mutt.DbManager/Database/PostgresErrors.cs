using Npgsql;

namespace Mutt.DbManager.Database;

/// <summary>One-line descriptions of database failures for the log: the SQLSTATE and the server's text, or the client's reason. Never a connection string.</summary>
public static class PostgresErrors
{
    public static string Describe(Exception exception) => exception switch
    {
        PostgresException postgres => $"{postgres.SqlState}: {postgres.MessageText}",
        { InnerException: { } inner } when !exception.Message.Contains(inner.Message, StringComparison.Ordinal) => $"{exception.Message} ({Describe(inner)})",
        _ => exception.Message,
    };

    /// <summary>Worth another attempt while the server starts: refused or timed-out sockets, DNS not there yet, 57P03 "the database system is starting up", 53300 too many connections.</summary>
    public static bool IsTransient(Exception exception) =>
        exception is NpgsqlException { IsTransient: true } or TimeoutException or System.Net.Sockets.SocketException;
}
