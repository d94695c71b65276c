using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using Mutt.Dashboard.Auth;
using Mutt.Dashboard.Data;
using Mutt.Dashboard.Services;
using static Mutt.Dashboard.Apis.ApiResults;

namespace Mutt.Dashboard.Apis;

public sealed record CreateUserRequest(
    [property: JsonPropertyName("username")] string? Username, [property: JsonPropertyName("password")] string? Password,
    [property: JsonPropertyName("role")] string? Role, [property: JsonPropertyName("reason")] string? Reason);

public sealed record UpdateUserRequest(
    [property: JsonPropertyName("role")] string? Role, [property: JsonPropertyName("is_active")] bool? IsActive,
    [property: JsonPropertyName("password")] string? Password, [property: JsonPropertyName("reason")] string? Reason);

/// <summary>Operator accounts (issue 17), for admins: list, create, change role, deactivate, reset a password.</summary>
public static class UsersApi
{
    public static IEndpointRouteBuilder MapUsersApi(this IEndpointRouteBuilder app)
    {
        app.MapVersioned("Users", (g, v2) =>
        {
            g.MapGet("/users", ListUsers).Named(v2, "ListUsers").WithSummary("List operator accounts").RequireAdmin();
            g.MapPost("/users", CreateUser).Named(v2, "CreateUser").WithSummary("Create an operator account (viewer, operator or admin)").RequireAdmin();
            g.MapPut("/users/{username}", UpdateUser).Named(v2, "UpdateUser").WithSummary("Change an account's role, active flag or password").RequireAdmin();
        });
        return app;
    }

    public static async Task<Ok<List<OperatorAccount>>> ListUsers(OperatorStore store, CancellationToken ct) => TypedResults.Ok(await store.ListAsync(ct));

    public static async Task<Results<Created<OperatorAccount>, NotFound, ProblemHttpResult, ValidationProblem>> CreateUser(
        CreateUserRequest body, HttpContext context, AccountService accounts, CancellationToken ct) =>
        ToResult(await accounts.CreateOperatorAsync(body.Username?.Trim(), body.Password, body.Role, Change(context, body.Reason), ct),
            a => TypedResults.Created($"{Prefix(context)}/users/{Uri.EscapeDataString(a.Username)}", a));

    public static async Task<Results<Ok<OperatorAccount>, NotFound, ProblemHttpResult, ValidationProblem>> UpdateUser(
        string username, UpdateUserRequest body, HttpContext context, AccountService accounts, CancellationToken ct) =>
        ToResult(await accounts.UpdateOperatorAsync(username, body.Role, body.IsActive, body.Password, Change(context, body.Reason), ct), TypedResults.Ok);
}
