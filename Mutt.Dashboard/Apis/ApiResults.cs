using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Mutt.Dashboard.Auth;
using Mutt.Dashboard.Services;

namespace Mutt.Dashboard.Apis;

/// <summary>What every area's handlers share: who is changing something and why, and a change outcome as HTTP.</summary>
public static class ApiResults
{
    public const string ChangeReasonHeader = "X-Change-Reason";

    /// <summary>
    /// The caller's name (a signed-in user or a named API key), the reason (body, then the
    /// X-Change-Reason header, then ?reason=) and the request's correlation id.
    /// </summary>
    public static ChangeContext Change(HttpContext context, string? bodyReason = null)
    {
        var header = context.Request.Headers[ChangeReasonHeader].ToString();
        var query = context.Request.Query["reason"].ToString();
        var reason = !string.IsNullOrWhiteSpace(bodyReason) ? bodyReason
            : !string.IsNullOrWhiteSpace(header) ? header
            : query.Length > 0 ? query : null;
        return new ChangeContext(
            context.User.FindFirstValue(ClaimTypes.Name) ?? "unknown",
            reason,
            context.Items[Microsoft.Extensions.Hosting.Extensions.CorrelationIdHeader] as string,
            context.User.Role());
    }

    /// <summary>A <see cref="ChangeResult{T}"/> as the route's union: <paramref name="ok"/> on success, else 404, 409 or 400 naming the fields.</summary>
    public static Results<TOk, NotFound, ProblemHttpResult, ValidationProblem> ToResult<T, TOk>(ChangeResult<T> result, Func<T, TOk> ok)
        where TOk : IResult => result.Status switch
        {
            ChangeStatus.Ok => ok(result.Value!),
            ChangeStatus.NotFound => TypedResults.NotFound(),
            ChangeStatus.Conflict => TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Already exists"),
            ChangeStatus.Forbidden => TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Forbidden",
                detail: "Your role does not allow this change (viewer < operator < admin)."),
            _ => TypedResults.ValidationProblem(result.Errors!),
        };

    /// <summary>The v1 or v2 prefix the request came in on, for Location headers.</summary>
    public static string Prefix(HttpContext context) => context.Request.Path.StartsWithSegments("/api/v1") ? "/api/v1" : "/api/v2";

    public static string? Blank(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();
}
