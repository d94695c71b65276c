using Microsoft.AspNetCore.Identity;

namespace Mutt.Core.Auth;

/// <summary>
/// Operator passwords through ASP.NET Core Identity's <see cref="PasswordHasher{TUser}"/> (PBKDF2 with
/// HMAC-SHA512, per-password salt, its iteration count in the stored string), so the Dashboard and the
/// DbManager's bootstrap write the same format. A password is never logged or stored in clear.
/// </summary>
public static class OperatorPasswords
{
    public const int MinimumLength = 12;
    private static readonly PasswordHasher<string> Hasher = new();

    public static string Hash(string password) => Hasher.HashPassword("", password);

    /// <summary>Checks a password; <paramref name="rehash"/> is true when the stored hash uses older parameters.</summary>
    public static bool Verify(string? storedHash, string password, out bool rehash)
    {
        rehash = false;
        if (string.IsNullOrEmpty(storedHash))
        {
            return false;
        }
        var result = Hasher.VerifyHashedPassword("", storedHash, password);
        rehash = result == PasswordVerificationResult.SuccessRehashNeeded;
        return result != PasswordVerificationResult.Failed;
    }

    /// <summary>The one password rule: long enough (length beats composition rules). Null when acceptable.</summary>
    public static string? Validate(string? password) =>
        string.IsNullOrEmpty(password) || password.Length < MinimumLength
            ? $"password must be at least {MinimumLength} characters."
            : password.Length > 1024 ? "password must be at most 1024 characters." : null;
}
