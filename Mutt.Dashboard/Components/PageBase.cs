using System.Security.Claims;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Authorization;
using Mutt.Dashboard.Auth;
using Mutt.Dashboard.Services;

namespace Mutt.Dashboard.Components;

/// <summary>Shared bits of the pages: who the operator is, and field errors from a ChangeResult.</summary>
public abstract class PageBase : ComponentBase
{
    [CascadingParameter] private Task<AuthenticationState>? AuthState { get; set; }

    protected Dictionary<string, string[]> Errors { get; set; } = [];
    protected string? Message { get; set; }
    protected bool MessageIsError { get; set; }

    /// <summary>The signed-in user (name and role) as a change's author; the services refuse what the role does not allow.</summary>
    protected async Task<ChangeContext> ChangeAsync(string? reason)
    {
        var user = await UserAsync();
        return new ChangeContext(user.FindFirstValue(ClaimTypes.Name) ?? "unknown", string.IsNullOrWhiteSpace(reason) ? null : reason,
            "webui-" + Guid.NewGuid().ToString("N")[..12], user.Role());
    }

    protected async Task<ClaimsPrincipal> UserAsync() => AuthState is null ? new ClaimsPrincipal() : (await AuthState).User;

    /// <summary>The check at the door of a page action that bypasses the services' own (dead-letter moves): false, with a message, when the role is too weak.</summary>
    protected async Task<bool> RequireAsync(string minimumRole)
    {
        var user = await UserAsync();
        if (user.Satisfies(minimumRole))
        {
            return true;
        }
        (Message, MessageIsError) = ($"Your role ({user.Role() ?? "none"}) does not allow this; {minimumRole} is needed.", true);
        return false;
    }

    protected string? ErrorFor(string field) => Errors.TryGetValue(field, out var e) ? string.Join(" ", e) : null;

    /// <summary>Applies a change outcome to the page state; true when it succeeded.</summary>
    protected bool Apply<T>(ChangeResult<T> result, string success)
    {
        Errors = result.Errors is null ? [] : new Dictionary<string, string[]>(result.Errors);
        (Message, MessageIsError) = result.Status switch
        {
            ChangeStatus.Ok => (success, false),
            ChangeStatus.NotFound => ("Not found (it may have been changed by someone else).", true),
            ChangeStatus.Conflict => ("That entry already exists.", true),
            ChangeStatus.Forbidden => ("Your role does not allow this change.", true),
            _ => ("Please fix the errors below.", true),
        };
        return result.Status == ChangeStatus.Ok;
    }
}
