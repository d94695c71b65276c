using System.Net;
using System.Text;

using Mutt.Tests.Infrastructure;

namespace Mutt.Tests.Reliability;

/// <summary>
/// Secrets never leak (issue 7 item 6): the API keys appear in no log line and no /health or
/// /metrics body, the PostgreSQL password in no log line. endpoints.json and parameters.json
/// (mode 600) are the only places allowed to hold them.
/// </summary>
public static class SecretLeakScan
{
    public sealed record Secrets(IReadOnlyList<(string Name, string Value)> ApiKeys, IReadOnlyList<(string Name, string Value)> All);

    public static Secrets SecretsOf(MuttAppHost app)
    {
        var keys = new List<(string, string)>();
        foreach (var name in new[] { "ingest-api-key", "webui-api-key", "moog-api-key" })
        {
            var value = app.GetParameterValue(name);
            Assert.True(value.Length >= 16, $"{name} is too short to scan for");
            keys.Add((name, value));
        }
        // The Forwarder sends the Moogsoft key as HTTP Basic credentials: that encoding must not leak either.
        keys.Add(("moog-api-key (Basic)", Convert.ToBase64String(Encoding.UTF8.GetBytes("mutt:" + app.GetParameterValue("moog-api-key")))));
        var all = new List<(string, string)>(keys)
        {
            ("postgres-password", app.GetParameterValue("postgres-password")),
            // Issue 17: the bootstrap admin's password (DbManager) and every password an operator signs in with.
            ("admin-password", app.GetParameterValue("admin-password")),
        };
        return new Secrets(keys, all);
    }

    /// <summary>
    /// Good and bad requests that carry keys: wrong keys, right keys in headers, the right key in ?api_key=,
    /// and (issue 17) sign-ins with the bootstrap admin's right and a wrong password, a named ingest key
    /// created through the API and used, and a new operator's password. Returns the secrets made here,
    /// which must not leak either.
    /// </summary>
    public static async Task<IReadOnlyList<(string Name, string Value)>> DriveTrafficAsync(MuttAppHost app, HttpClient http)
    {
        var made = new List<(string Name, string Value)>();
        var ingest = new Uri(app.IngestorUrl, "/api/v2/ingest");
        var dashboard = app.DashboardUrl;
        var webuiKey = app.GetParameterValue("webui-api-key");
        var body = SystemTraffic.Event($"leak-{Guid.NewGuid():N}", "CRITICAL leak drive", "core-router-01");

        await ExpectAsync(http, Request(HttpMethod.Post, ingest, body, ("X-API-KEY", "wrong-" + Guid.NewGuid().ToString("N"))), HttpStatusCode.Unauthorized);
        await ExpectAsync(http, Request(HttpMethod.Post, ingest, body), HttpStatusCode.Unauthorized);
        await ExpectAsync(http, Request(HttpMethod.Post, ingest, body, ("X-API-KEY", app.IngestApiKey)), HttpStatusCode.Accepted);
        // A key in the query string is not how the Ingestor authenticates; it must still not be logged with the URL.
        await ExpectAsync(http, Request(HttpMethod.Post, new Uri(ingest + "?api_key=" + Uri.EscapeDataString(app.IngestApiKey)), body), HttpStatusCode.Unauthorized);

        await ExpectAsync(http, Request(HttpMethod.Get, new Uri(dashboard, "/api/v2/rules")), HttpStatusCode.Unauthorized);
        await ExpectAsync(http, Request(HttpMethod.Get, new Uri(dashboard, "/api/v2/rules"), null, ("X-API-KEY", "wrong-key-0123456789")), HttpStatusCode.Unauthorized);
        await ExpectAsync(http, Request(HttpMethod.Get, new Uri(dashboard, "/api/v2/rules"), null, ("X-API-KEY", webuiKey)), HttpStatusCode.OK);
        await ExpectAsync(http, Request(HttpMethod.Get, new Uri(dashboard, "/api/v2/rules?api_key=wrong-key-0123456789")), HttpStatusCode.Unauthorized);
        // The spec's ?api_key= exchange: a valid key → 302 to the same URL without it (the handler follows no redirects).
        using (var noRedirect = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(15) })
        {
            using var response = await noRedirect.GetAsync(new Uri(dashboard, "/?api_key=" + Uri.EscapeDataString(webuiKey)));
            Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
            Assert.DoesNotContain(webuiKey, response.Headers.Location?.ToString() ?? "", StringComparison.Ordinal);
            using var api = await noRedirect.GetAsync(new Uri(dashboard, "/api/v2/audit-logs?api_key=" + Uri.EscapeDataString(webuiKey)));
            Assert.True(api.StatusCode is HttpStatusCode.Redirect or HttpStatusCode.OK, $"dashboard ?api_key= answered {api.StatusCode}");
        }
        var wrongPassword = "wrong-password-" + Guid.NewGuid().ToString("N");
        made.Add(("offered wrong password", wrongPassword));
        using (var login = new FormUrlEncodedContent([new("username", "admin"), new("password", wrongPassword)]))
        {
            using var response = await http.PostAsync(new Uri(dashboard, "/login"), login);
        }
        using (var noRedirect = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { Timeout = TimeSpan.FromSeconds(15) })
        {
            using var login = new FormUrlEncodedContent([new("username", "admin"), new("password", app.GetParameterValue("admin-password"))]);
            using var signedIn = await noRedirect.PostAsync(new Uri(dashboard, "/login"), login);
            Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
            var session = signedIn.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("mutt.session=", StringComparison.Ordinal)).Split(';')[0];
            made.Add(("session cookie", session["mutt.session=".Length..]));

            using var create = Request(HttpMethod.Post, new Uri(dashboard, "/api/v2/api-keys"), "{\"name\":\"leak-scan-source\",\"role\":\"ingest\"}", ("Cookie", session));
            using var created = await noRedirect.SendAsync(create);
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            var secret = System.Text.Json.JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("secret").GetString()!;
            made.Add(("named ingest key", secret));
            await Eventually.WaitForAsync(async () =>
            {
                using var sent = await http.SendAsync(Request(HttpMethod.Post, ingest, body, ("X-API-KEY", secret)));
                return sent.StatusCode == HttpStatusCode.Accepted;
            }, TimeSpan.FromSeconds(30), "the named ingest key to be accepted by the Ingestor");

            var operatorPassword = "operator-password-" + Guid.NewGuid().ToString("N");
            made.Add(("new operator's password", operatorPassword));
            using var user = Request(HttpMethod.Post, new Uri(dashboard, "/api/v2/users"),
                $"{{\"username\":\"leak-scan-operator\",\"password\":\"{operatorPassword}\",\"role\":\"operator\"}}", ("Cookie", session));
            Assert.Equal(HttpStatusCode.Created, (await noRedirect.SendAsync(user)).StatusCode);
        }

        // The sink with wrong and right Basic credentials (the Forwarder's header).
        var sinkEvent = "{\"events\":[{\"signature\":\"leak-test\",\"source\":\"h\",\"description\":\"d\",\"severity\":2}]}";
        var wrongBasic = Convert.ToBase64String(Encoding.UTF8.GetBytes("mutt:wrong-key-0123456789"));
        await ExpectAsync(http, Request(HttpMethod.Post, new Uri(app.SinkUrl, "/api/v1/events"), sinkEvent, ("Authorization", "Basic " + wrongBasic)), HttpStatusCode.Unauthorized);
        return made;
    }

    /// <summary>/health and /metrics of every http endpoint of every replica: no API key in any body.</summary>
    public static async Task<List<string>> ScanEndpointsAsync(MuttAppHost app, HttpClient http, IReadOnlyList<(string Name, string Value)> secrets)
    {
        var findings = new List<string>();
        var scanned = 0;
        foreach (var (resource, replicas) in app.Replicas)
        {
            // Through Aspire's proxy, which spreads the requests over the replicas.
            foreach (var replica in replicas)
            {
                foreach (var endpoint in app.HttpEndpoints(resource))
                {
                    foreach (var path in new[] { "/health", "/metrics" })
                    {
                        var url = new Uri(app.GetEndpoint(resource, endpoint), path);
                        using var response = await http.GetAsync(url);
                        var text = await response.Content.ReadAsStringAsync();
                        if (response.StatusCode == HttpStatusCode.OK)
                        {
                            scanned++;
                        }
                        findings.AddRange(secrets.Where(s => text.Contains(s.Value, StringComparison.Ordinal)).Select(s => $"{s.Name} in {url}"));
                    }
                }
            }
        }
        Assert.True(scanned >= 2 * app.Replicas.Count, $"only {scanned} /health and /metrics bodies answered 200");
        return findings;
    }

    /// <summary>Every line of every log: each process's output as Aspire captured it (what its dashboard shows).</summary>
    public static List<string> ScanLogs(MuttAppHost app, IReadOnlyList<(string Name, string Value)> secrets)
    {
        var findings = new List<string>();
        foreach (var (source, line) in Lines(app))
        {
            findings.AddRange(secrets.Where(s => line.Contains(s.Value, StringComparison.Ordinal)).Select(s => $"{s.Name} in {source}: {Redact(line, s.Value)}"));
        }
        return findings;
    }

    public static int LinesScanned(MuttAppHost app) => Lines(app).Count();

    private static IEnumerable<(string Source, string Line)> Lines(MuttAppHost app) => app.Logs;

    private static string Redact(string line, string secret) => line.Replace(secret, "<SECRET>", StringComparison.Ordinal);

    private static HttpRequestMessage Request(HttpMethod method, Uri url, string? json = null, params (string Name, string Value)[] headers)
    {
        var request = new HttpRequestMessage(method, url);
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }
        return request;
    }

    private static async Task ExpectAsync(HttpClient http, HttpRequestMessage request, HttpStatusCode expected)
    {
        using (request)
        {
            using var response = await http.SendAsync(request);
            Assert.True(response.StatusCode == expected, $"{request.Method} {request.RequestUri?.AbsolutePath} answered {response.StatusCode}, expected {expected}");
        }
    }
}
