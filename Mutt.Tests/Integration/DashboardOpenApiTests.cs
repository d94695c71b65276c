using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Mutt.Tests.Infrastructure;

namespace Mutt.Tests.Integration;

/// <summary>The management API's OpenAPI document and the correlation id on every response (issue 16 item 5).</summary>
[Collection(InfrastructureCollection.Name)]
[Trait("Category", "Integration")]
public sealed class DashboardOpenApiTests(InfrastructureFixture infra) : IAsyncLifetime
{
    private const string ApiKey = "test-webui-key-openapi-0123";
    private DashboardApiFactory _factory = null!;

    public async Task InitializeAsync() =>
        _factory = new DashboardApiFactory(infra.RedisConnectionString, await infra.CreateDatabaseAsync(), ApiKey);

    public async Task DisposeAsync() => await _factory.DisposeAsync();

    [Fact]
    public async Task Openapi_v2_document_lists_every_v2_route_with_a_summary_and_its_responses()
    {
        var client = _factory.CreateClient();
        var response = await client.GetAsync("/openapi/v2.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var document = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
        Assert.StartsWith("3.", (string)document["openapi"]!, StringComparison.Ordinal);
        var paths = document["paths"]!.AsObject();

        // Every mapped /api/v2 route is in the document, and nothing else (v1 is an alias, not documented twice).
        var mapped = _factory.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.StartsWith("/api/v2/", StringComparison.Ordinal) == true)
            .Select(e => e.RoutePattern.RawText!.Replace(":int", "", StringComparison.Ordinal))
            .ToHashSet();
        Assert.NotEmpty(mapped);
        Assert.Equal(mapped.Order(), paths.Select(p => p.Key).Order());
        foreach (var area in new[] { "/api/v2/rules", "/api/v2/dev-hosts", "/api/v2/teams", "/api/v2/audit-logs", "/api/v2/config", "/api/v2/dlq", "/api/v2/metrics", "/api/v2/webhook-mappings", "/api/v2/maintenance-windows", "/api/v2/users", "/api/v2/api-keys" })
        {
            Assert.True(paths.ContainsKey(area), $"{area} is missing from the document");
        }
        foreach (var (path, item) in paths)
        {
            foreach (var (method, operation) in item!.AsObject())
            {
                Assert.False(string.IsNullOrWhiteSpace((string?)operation!["summary"]), $"{method} {path} has no summary");
                Assert.NotEmpty(operation["responses"]!.AsObject());
            }
        }
        // TypedResults unions describe their outcomes: a rule update can be 200, 404, 409 (problem) or 400.
        var update = paths["/api/v2/rules/{id}"]!["put"]!["responses"]!.AsObject();
        foreach (var status in new[] { "200", "404", "400" })
        {
            Assert.True(update.ContainsKey(status), $"PUT /api/v2/rules/{{id}} does not document {status}");
        }
    }

    [Fact]
    public async Task Every_response_carries_a_correlation_id_refused_ones_included()
    {
        var client = _factory.CreateClient(new() { AllowAutoRedirect = false });

        var refused = await client.GetAsync("/api/v2/rules");
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.True(Guid.TryParse(refused.Headers.GetValues("X-Correlation-ID").Single(), out _));

        var echoed = new HttpRequestMessage(HttpMethod.Get, "/api/v2/rules") { Headers = { { "X-Correlation-ID", "caller-id-42" } } };
        Assert.Equal("caller-id-42", (await client.SendAsync(echoed)).Headers.GetValues("X-Correlation-ID").Single());

        var redirected = await client.GetAsync("/rules");
        Assert.Equal(HttpStatusCode.Redirect, redirected.StatusCode);
        Assert.Single(redirected.Headers.GetValues("X-Correlation-ID"));

        var ok = new HttpRequestMessage(HttpMethod.Get, "/api/v2/rules") { Headers = { { "X-API-KEY", ApiKey } } };
        var answered = await client.SendAsync(ok);
        Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        Assert.Single(answered.Headers.GetValues("X-Correlation-ID"));
    }
}
