using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.Components.Server;
using Microsoft.AspNetCore.Components.Server.Circuits;

namespace Mutt.Dashboard.Auth;

public sealed record SessionIdleLimit(TimeSpan Idle);

/// <summary>When the user of one circuit (an open page) last did something.</summary>
public sealed class CircuitActivity : CircuitHandler
{
    private long _last = Environment.TickCount64;

    public TimeSpan Idle => TimeSpan.FromMilliseconds(Environment.TickCount64 - Interlocked.Read(ref _last));

    public override Func<CircuitInboundActivityContext, Task> CreateInboundActivityHandler(Func<CircuitInboundActivityContext, Task> next) =>
        context =>
        {
            Interlocked.Exchange(ref _last, Environment.TickCount64);
            return next(context);
        };
}

/// <summary>
/// An open page keeps the user it was opened with; this re-checks it every 30 s: a deactivated
/// account, a changed role or DASHBOARD_SESSION_IDLE_MINUTES without interaction ends the page's
/// authorization (the page then asks to sign in again), as the cookie does for HTTP requests.
/// </summary>
public sealed class OperatorRevalidator(ILoggerFactory loggerFactory, OperatorDirectory directory, CircuitActivity activity, SessionIdleLimit limit)
    : RevalidatingServerAuthenticationStateProvider(loggerFactory)
{
    protected override TimeSpan RevalidationInterval => TimeSpan.FromSeconds(30);

    protected override async Task<bool> ValidateAuthenticationStateAsync(AuthenticationState authenticationState, CancellationToken cancellationToken)
    {
        if (activity.Idle > limit.Idle)
        {
            return false;
        }
        var current = await directory.RevalidateAsync(authenticationState.User, cancellationToken);
        return current is not null && current.Role() == authenticationState.User.Role();
    }
}
