using System.Security.Cryptography;
using System.Text;

namespace Mutt.DbManager.Database;

/// <summary>
/// PostgreSQL's SCRAM-SHA-256 password verifier (RFC 5802/7677, the format of pg_authid.rolpassword),
/// computed here so <c>ALTER ROLE ... PASSWORD</c> carries the verifier, never the password: the
/// cleartext cannot end up in the server log (log_statement) or pg_stat_activity, which is what
/// psql's \password does too. The server stores a string of this form as is.
/// </summary>
public static class ScramSha256
{
    /// <summary>PostgreSQL's default (scram_iterations).</summary>
    public const int DefaultIterations = 4096;

    /// <summary>
    /// Whether the verifier can be computed here exactly as the server would. PostgreSQL runs the
    /// password through SASLprep first, which leaves a pure ASCII string unchanged; for anything
    /// else (normalisation, mapping, the prohibited-character fallback) the server hashes it itself.
    /// </summary>
    public static bool CanHashLocally(string password) => password.Length > 0 && password.All(char.IsAscii);

    public static string Verifier(string password, byte[]? salt = null, int iterations = DefaultIterations)
    {
        if (!CanHashLocally(password))
        {
            throw new ArgumentException("Only ASCII passwords are hashed locally (SASLprep is the server's).", nameof(password));
        }
        salt ??= RandomNumberGenerator.GetBytes(16);
        var salted = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, 32);
        var clientKey = HMACSHA256.HashData(salted, "Client Key"u8);
        var storedKey = SHA256.HashData(clientKey);
        var serverKey = HMACSHA256.HashData(salted, "Server Key"u8);
        return $"SCRAM-SHA-256${iterations}:{Convert.ToBase64String(salt)}${Convert.ToBase64String(storedKey)}:{Convert.ToBase64String(serverKey)}";
    }
}
