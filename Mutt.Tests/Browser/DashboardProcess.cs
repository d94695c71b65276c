using System.Net;
using System.Net.Http.Json;
using Mutt.Testing;
using Mutt.Tests.Infrastructure;

namespace Mutt.Tests.Browser;

/// <summary>
/// The Dashboard from its build output as a real Kestrel child process, as the AppHost runs it
/// (Production unless told otherwise), on the fixture's Redis and a test's own database, with a
/// legacy WEBUI_API_KEY to make the test's accounts through the Dashboard's own API (the documented bootstrap).
/// </summary>
public sealed class DashboardProcess : IAsyncDisposable
{
    /// <summary>The password of every account <see cref="CreateUserAsync"/> makes.</summary>
    public const string Password = "browser test passphrase";

    private readonly InfrastructureFixture _infra;

    private DashboardProcess(InfrastructureFixture infra, string database, string legacyKey)
    {
        _infra = infra;
        Database = database;
        LegacyKey = legacyKey;
    }

    public string BaseUrl { get; } = ChildService.FreeUrl();
    public string Database { get; }
    public string LegacyKey { get; }
    public ServiceProcess Process { get; private set; } = null!;

    public static async Task<DashboardProcess> StartAsync(InfrastructureFixture infra, string database, string legacyKey)
    {
        var dashboard = new DashboardProcess(infra, database, legacyKey);
        await dashboard.StartAgainAsync();
        return dashboard;
    }

    /// <summary>Stops the process (if it still runs) and starts a new one on the same URL.</summary>
    public async Task StartAgainAsync(string environment = "Production")
    {
        if (Process is not null)
        {
            await Process.DisposeAsync();
        }
        Process = await ChildService.StartAsync("dashboard", "Mutt.Dashboard", BaseUrl, new Dictionary<string, string?>
        {
            ["ConnectionStrings__redis"] = _infra.RedisConnectionString,
            ["ConnectionStrings__muttdb"] = Database,
            ["WEBUI_API_KEY"] = LegacyKey,
            ["LOG_JSON_ENABLED"] = "false",
            ["ASPNETCORE_ENVIRONMENT"] = environment,
            ["DOTNET_ENVIRONMENT"] = environment,
        });
    }

    /// <summary>A user with <see cref="Password"/>, made with the legacy key (an existing one is fine).</summary>
    public async Task CreateUserAsync(string username, string role)
    {
        using var http = new HttpClient { BaseAddress = new Uri(BaseUrl), Timeout = TimeSpan.FromSeconds(15) };
        http.DefaultRequestHeaders.Add("X-API-KEY", LegacyKey);
        using var response = await http.PostAsJsonAsync("/api/v2/users", new { username, password = Password, role, reason = "browser test setup" });
        Assert.True(response.StatusCode is HttpStatusCode.Created or HttpStatusCode.Conflict, $"creating {username}: {response.StatusCode}");
    }

    public async ValueTask DisposeAsync()
    {
        if (Process is not null)
        {
            await Process.DisposeAsync();
        }
    }
}
