namespace Mutt.Core.Auth;

/// <summary>
/// The roles of operators and API keys (issue 17). Each operator role includes the ones before it:
/// a <c>viewer</c> reads everything; an <c>operator</c> also changes rules, hosts, teams,
/// maintenance, live config and replays dead letters; an <c>admin</c> also manages accounts and
/// keys. <c>ingest</c> is for keys only: it is accepted by the Ingestor and nowhere else.
/// </summary>
public static class MuttRoles
{
    public const string Ingest = "ingest";
    public const string Viewer = "viewer";
    public const string Operator = "operator";
    public const string Admin = "admin";

    /// <summary>Roles an operator account can have, weakest first.</summary>
    public static readonly IReadOnlyList<string> OperatorRoles = [Viewer, Operator, Admin];

    /// <summary>Roles (scopes) an API key can have.</summary>
    public static readonly IReadOnlyList<string> KeyRoles = [Ingest, Viewer, Operator, Admin];

    public static bool IsOperatorRole(string? role) => role is Viewer or Operator or Admin;

    public static bool IsKeyRole(string? role) => role is Ingest or Viewer or Operator or Admin;

    /// <summary>The roles that satisfy <paramref name="minimum"/> (viewer, operator or admin).</summary>
    public static string[] AtLeast(string minimum) => minimum switch
    {
        Viewer => [Viewer, Operator, Admin],
        Operator => [Operator, Admin],
        Admin => [Admin],
        _ => throw new ArgumentOutOfRangeException(nameof(minimum), minimum, "not an operator role"),
    };

    public static bool Satisfies(string? role, string minimum) => role is not null && Array.IndexOf(AtLeast(minimum), role) >= 0;
}
