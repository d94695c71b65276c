using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Mutt.Tests.Browser;

/// <summary>Accounts and keys for browser tests, made through the Dashboard's own API with the legacy WEBUI_API_KEY (the documented bootstrap).</summary>
public static class DashboardAccounts
{
    public const string Password = "browser test passphrase";

    public static async Task CreateUserAsync(string baseUrl, string legacyKey, string username, string password, string role)
    {
        using var http = Client(baseUrl, legacyKey);
        var response = await http.PostAsJsonAsync("/api/v2/users", new { username, password, role, reason = "browser test setup" });
        Assert.True(response.StatusCode is HttpStatusCode.Created or HttpStatusCode.Conflict, $"creating {username}: {response.StatusCode}");
    }

    public static async Task<string> CreateKeyAsync(string baseUrl, string legacyKey, string name, string role)
    {
        using var http = Client(baseUrl, legacyKey);
        var response = await http.PostAsJsonAsync("/api/v2/api-keys", new { name, role });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (string)(await response.Content.ReadFromJsonAsync<JsonObject>())!["secret"]!;
    }

    private static HttpClient Client(string baseUrl, string key)
    {
        var http = new HttpClient { BaseAddress = new Uri(baseUrl), Timeout = TimeSpan.FromSeconds(15) };
        http.DefaultRequestHeaders.Add("X-API-KEY", key);
        return http;
    }
}
