using System.Security.Claims;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Authorization;
using Mutt.Dashboard.Services;

namespace Mutt.Dashboard.Components;

/// <summary>Shared bits of the pages: who the operator is, and field errors from a ChangeResult.</summary>
public abstract class PageBase : ComponentBase
{
    [CascadingParameter] private Task<AuthenticationState>? AuthState { get; set; }

    protected Dictionary<string, string[]> Errors { get; set; } = [];
    protected string? Message { get; set; }
    protected bool MessageIsError { get; set; }

    protected async Task<ChangeContext> ChangeAsync(string? reason)
    {
        var user = AuthState is null ? null : (await AuthState).User;
        return new ChangeContext(user?.FindFirstValue(ClaimTypes.Name) ?? "webui", string.IsNullOrWhiteSpace(reason) ? null : reason, "webui-" + Guid.NewGuid().ToString("N")[..12]);
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
            _ => ("Please fix the errors below.", true),
        };
        return result.Status == ChangeStatus.Ok;
    }
}
