using System.Text.Json;
using System.Text.Json.Nodes;
using Mutt.AppHost.Hosting;
using Mutt.AppHost.Model;

namespace Mutt.AppHost.Publishing;

/// <summary>
/// Writes the model in Aspire's manifest schema (aspire-8.0): <c>container.v0</c> for Redis and
/// PostgreSQL, <c>value.v0</c> for the database connection string, <c>parameter.v0</c> with
/// secret generated inputs, <c>project.v0</c> with env expressions and bindings. Deployment
/// tools that read Aspire manifests (azd, aspirate) can consume it unchanged.
/// </summary>
public static class ManifestPublisher
{
    public const string Schema = "https://json.schemastore.org/aspire-8.0.json";

    public static void Write(AppModel model, string outputPath, string? repositoryRoot = null)
    {
        var directory = Path.GetDirectoryName(outputPath)!;
        Directory.CreateDirectory(directory);
        File.WriteAllText(outputPath, Render(model, directory, repositoryRoot ?? ServiceProcess.FindRepositoryRoot()));
    }

    /// <summary>The manifest text; project paths are relative to <paramref name="manifestDirectory"/>, as Aspire writes them.</summary>
    public static string Render(AppModel model, string manifestDirectory, string repositoryRoot)
    {
        var resources = new JsonObject();
        foreach (var resource in model.Resources)
        {
            resources[resource.Name] = resource switch
            {
                RedisResource redis => Container(redis, $"{RedisResource.Image}:{RedisResource.Tag}", redis.ConnectionStringExpression,
                    env: [], args: ["--appendonly", "yes"]),
                PostgresServerResource postgres => Container(postgres, $"{PostgresServerResource.Image}:{PostgresServerResource.Tag}", postgres.ConnectionStringExpression,
                    env:
                    [
                        new("POSTGRES_HOST_AUTH_METHOD", "scram-sha-256"),
                        new("POSTGRES_INITDB_ARGS", "--auth-host=scram-sha-256 --auth-local=scram-sha-256"),
                        new("POSTGRES_USER", PostgresServerResource.UserName),
                        new("POSTGRES_PASSWORD", postgres.Password.ValueExpression),
                    ], args: []),
                PostgresDatabaseResource database => new JsonObject
                {
                    ["type"] = "value.v0",
                    ["connectionString"] = database.ConnectionStringExpression,
                },
                ParameterResource parameter => Parameter(parameter),
                ProjectResource project => Project(project, manifestDirectory, repositoryRoot),
                _ => throw new InvalidOperationException($"No manifest form for {resource.GetType().Name}."),
            };
        }
        var manifest = new JsonObject
        {
            ["$schema"] = Schema,
            ["resources"] = resources,
        };
        return manifest.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n";
    }

    private static JsonObject Container(Resource resource, string image, string connectionString, List<KeyValuePair<string, string>> env, string[] args)
    {
        var node = new JsonObject
        {
            ["type"] = "container.v0",
            ["connectionString"] = connectionString,
            ["image"] = image,
        };
        if (args.Length > 0)
        {
            node["args"] = new JsonArray(args.Select(a => (JsonNode?)JsonValue.Create(a)).ToArray());
        }
        if (env.Count > 0)
        {
            node["env"] = Env(env);
        }
        node["bindings"] = Bindings(resource, includeHostPort: false);
        return node;
    }

    private static JsonObject Parameter(ParameterResource parameter)
    {
        var input = new JsonObject { ["type"] = "string" };
        if (parameter.Secret)
        {
            input["secret"] = true;
        }
        input["default"] = new JsonObject { ["generate"] = new JsonObject { ["minLength"] = parameter.GeneratedLength } };
        return new JsonObject
        {
            ["type"] = "parameter.v0",
            ["value"] = $"{{{parameter.Name}.inputs.value}}",
            ["inputs"] = new JsonObject { ["value"] = input },
        };
    }

    private static JsonObject Project(ProjectResource project, string manifestDirectory, string repositoryRoot)
    {
        var path = Path.GetRelativePath(manifestDirectory, Path.Combine(repositoryRoot, project.ProjectPath)).Replace('\\', '/');
        var env = new List<KeyValuePair<string, string>>
        {
            new("OTEL_DOTNET_EXPERIMENTAL_OTLP_EMIT_EXCEPTION_LOG_ATTRIBUTES", "true"),
            new("OTEL_DOTNET_EXPERIMENTAL_OTLP_EMIT_EVENT_LOG_ATTRIBUTES", "true"),
            new("OTEL_DOTNET_EXPERIMENTAL_OTLP_RETRY", "in_memory"),
            new("ASPNETCORE_FORWARDEDHEADERS_ENABLED", "true"),
            new("HTTP_PORTS", string.Join(';', project.Endpoints.Where(e => e.IsHttp).Select(e => project.TargetPortExpression(e.Name)))),
        };
        env.AddRange(project.Environment);
        var node = new JsonObject
        {
            ["type"] = "project.v0",
            ["path"] = path,
            ["env"] = Env(env),
            ["bindings"] = Bindings(project, includeHostPort: true),
        };
        return node;
    }

    private static JsonObject Env(IEnumerable<KeyValuePair<string, string>> env)
    {
        var node = new JsonObject();
        foreach (var (name, value) in env)
        {
            node[name] = value;
        }
        return node;
    }

    private static JsonObject Bindings(Resource resource, bool includeHostPort)
    {
        var bindings = new JsonObject();
        foreach (var endpoint in resource.Endpoints)
        {
            var binding = new JsonObject
            {
                ["scheme"] = endpoint.Scheme,
                ["protocol"] = endpoint.Protocol == EndpointProtocol.Udp ? "udp" : "tcp",
                ["transport"] = endpoint.Transport,
            };
            if (includeHostPort)
            {
                binding["port"] = endpoint.Port;
            }
            binding["targetPort"] = endpoint.Port;
            bindings[endpoint.Name] = binding;
        }
        return bindings;
    }
}
