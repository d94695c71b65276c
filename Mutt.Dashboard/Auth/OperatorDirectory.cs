using System.Collections.Concurrent;
using System.Security.Claims;
using Mutt.Dashboard.Data;

namespace Mutt.Dashboard.Auth;

/// <summary>
/// Is a signed-in operator still allowed in, and with which role? Sessions (cookies, open Blazor
/// circuits) carry the role they were given at sign-in; this answers from the operators table,
/// cached for a few seconds, so a deactivated account or a changed role applies within seconds on
/// every replica without a database query per request.
/// </summary>
public sealed class OperatorDirectory(OperatorStore store, ILogger<OperatorDirectory> logger)
{
    private static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(5);
    private readonly ConcurrentDictionary<string, (OperatorAccount? Account, long Until)> _cache = new(StringComparer.Ordinal);

    /// <summary>Sessions made by a password or OpenID Connect sign-in are re-checked; key principals are checked by their key ring.</summary>
    public static bool IsOperatorSession(ClaimsPrincipal user) =>
        user.FindFirstValue(MuttPolicies.MethodClaim) is SignInService.PasswordMethod or SignInService.OidcMethod;

    /// <summary>The principal to keep (with the current role), or null when the account is gone or inactive.</summary>
    public async Task<ClaimsPrincipal?> RevalidateAsync(ClaimsPrincipal user, CancellationToken ct = default)
    {
        if (!IsOperatorSession(user))
        {
            return user;
        }
        var name = user.FindFirstValue(ClaimTypes.Name);
        if (name is null)
        {
            return null;
        }
        OperatorAccount? account;
        try
        {
            account = await LookupAsync(name, ct);
        }
        catch (Exception ex) when (ex is Npgsql.NpgsqlException or TimeoutException)
        {
            // Without the database nothing can be changed anyway; keep the session rather than sign everyone out.
            logger.LogWarning("Could not re-check operator {Username} ({Error}); keeping the session", name, ex.GetType().Name);
            return user;
        }
        if (account is not { IsActive: true })
        {
            return null;
        }
        return account.Role == user.Role()
            ? user
            : MuttPolicies.Principal(name, account.Role, user.FindFirstValue(MuttPolicies.MethodClaim)!, user.Identity?.AuthenticationType ?? "Cookies");
    }

    public void Invalidate(string username) => _cache.TryRemove(username, out _);

    private async Task<OperatorAccount?> LookupAsync(string username, CancellationToken ct)
    {
        var now = Environment.TickCount64;
        if (_cache.TryGetValue(username, out var cached) && cached.Until > now)
        {
            return cached.Account;
        }
        var account = await store.GetAsync(username, ct);
        _cache[username] = (account, now + (long)CacheFor.TotalMilliseconds);
        return account;
    }
}
