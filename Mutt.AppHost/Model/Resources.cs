namespace Mutt.AppHost.Model;

/// <summary>
/// The Aspire-shaped application model: plain data. Run mode, the manifest publisher and the
/// Kubernetes publisher all read the same objects, so they cannot drift apart.
/// Environment values are Aspire manifest expressions (<c>{redis.connectionString}</c>,
/// <c>{moog-sink.bindings.http.url}</c>, <c>{ingest-api-key.value}</c>) or literals; each
/// consumer resolves them in its own world (local processes, manifest, Kubernetes).
/// </summary>
public abstract class Resource(string name)
{
    public string Name { get; } = name;
    public List<EndpointSpec> Endpoints { get; } = [];
    public List<Resource> WaitsFor { get; } = [];
    public List<Resource> References { get; } = [];

    /// <summary>Insertion-ordered environment: name → manifest expression or literal.</summary>
    public List<KeyValuePair<string, string>> Environment { get; } = [];

    public string? HealthCheckPath { get; set; }
    public string? HealthCheckEndpoint { get; set; }
    public int Replicas { get; set; } = 1;

    public EndpointSpec Endpoint(string name) =>
        Endpoints.FirstOrDefault(e => e.Name == name) ?? throw new InvalidOperationException($"{Name} has no endpoint '{name}'.");

    public string UrlExpression(string endpoint = "http") => $"{{{Name}.bindings.{Endpoint(endpoint).Name}.url}}";
    public string TargetPortExpression(string endpoint) => $"{{{Name}.bindings.{Endpoint(endpoint).Name}.targetPort}}";

    public void SetEnvironment(string name, string value)
    {
        Environment.RemoveAll(kv => kv.Key == name);
        Environment.Add(new(name, value));
    }
}

/// <summary>Something with a connection string another resource can reference (redis, postgres, a database).</summary>
public interface IResourceWithConnectionString
{
    string Name { get; }
    /// <summary>The manifest expression of the connection string.</summary>
    string ConnectionStringExpression { get; }
}

public enum EndpointProtocol { Tcp, Udp }

/// <summary>A named port. <see cref="Port"/> is the spec's port, preferred locally and used as the container target port.</summary>
public sealed record EndpointSpec(string Name, string Scheme, EndpointProtocol Protocol, int Port)
{
    public bool IsHttp => Scheme is "http" or "https";
    public string Transport => IsHttp ? "http" : Protocol == EndpointProtocol.Udp ? "udp" : "tcp";
}

public sealed class RedisResource(string name) : Resource(name), IResourceWithConnectionString
{
    public const string Image = "docker.io/library/redis";
    public const string Tag = "7.4";
    public string ConnectionStringExpression => $"{{{Name}.bindings.tcp.host}}:{{{Name}.bindings.tcp.port}}";
}

public sealed class PostgresServerResource(string name, ParameterResource password) : Resource(name), IResourceWithConnectionString
{
    public const string Image = "docker.io/library/postgres";
    public const string Tag = "16.4";
    public const string UserName = "postgres";
    public ParameterResource Password { get; } = password;
    public List<PostgresDatabaseResource> Databases { get; } = [];

    public string ConnectionStringExpression =>
        $"Host={{{Name}.bindings.tcp.host}};Port={{{Name}.bindings.tcp.port}};Username={UserName};Password={{{Password.Name}.value}}";
}

public sealed class PostgresDatabaseResource(string name, string databaseName, PostgresServerResource parent) : Resource(name), IResourceWithConnectionString
{
    public string DatabaseName { get; } = databaseName;
    public PostgresServerResource Parent { get; } = parent;
    public string ConnectionStringExpression => $"{{{Parent.Name}.connectionString}};Database={DatabaseName}";
}

public sealed class ParameterResource(string name, bool secret) : Resource(name)
{
    public bool Secret { get; } = secret;
    /// <summary>Length of a generated value (Aspire's generate input).</summary>
    public int GeneratedLength { get; init; } = 32;
    public string ValueExpression => $"{{{Name}.value}}";
    /// <summary>The environment variable spec 004 gives this secret (e.g. INGEST_API_KEY), when it is one.</summary>
    public string ConfigurationKey => "Parameters:" + Name;
}

/// <summary>A .NET project run as <c>dotnet Mutt.X.dll</c> locally and as a container in Kubernetes.</summary>
public sealed class ProjectResource(string name, string projectName) : Resource(name)
{
    public string ProjectName { get; } = projectName;
    public string ProjectPath => $"{ProjectName}/{ProjectName}.csproj";
}
