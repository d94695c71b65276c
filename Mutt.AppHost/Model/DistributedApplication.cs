namespace Mutt.AppHost.Model;

/// <summary>Builds the model the way Aspire's <c>DistributedApplication.CreateBuilder</c> does, with our own types.</summary>
public static class DistributedApplication
{
    public static DistributedApplicationBuilder CreateBuilder(string[] args) => new(args);
}

public sealed class DistributedApplicationBuilder(string[] args)
{
    public string[] Args { get; } = args;
    public List<Resource> Resources { get; } = [];

    public ResourceBuilder<RedisResource> AddRedis(string name) => Add(new RedisResource(name)
    {
        Endpoints = { new EndpointSpec("tcp", "tcp", EndpointProtocol.Tcp, 6379) },
    });

    /// <summary>Like Aspire, the server's password is a generated secret parameter named <c>{name}-password</c>.</summary>
    public ResourceBuilder<PostgresServerResource> AddPostgres(string name)
    {
        var password = AddParameter($"{name}-password", secret: true).Resource;
        return Add(new PostgresServerResource(name, password)
        {
            Endpoints = { new EndpointSpec("tcp", "tcp", EndpointProtocol.Tcp, 5432) },
        });
    }

    public ResourceBuilder<ParameterResource> AddParameter(string name, bool secret = false) => Add(new ParameterResource(name, secret));

    public ResourceBuilder<ProjectResource> AddProject(string name, string projectName) => Add(new ProjectResource(name, projectName));

    public ResourceBuilder<T> Add<T>(T resource) where T : Resource
    {
        if (Resources.Any(r => r.Name == resource.Name))
        {
            throw new InvalidOperationException($"A resource named '{resource.Name}' already exists.");
        }
        Resources.Add(resource);
        return new ResourceBuilder<T>(this, resource);
    }

    public AppModel Build() => new(Resources.ToList());
}

public sealed class ResourceBuilder<T>(DistributedApplicationBuilder application, T resource) where T : Resource
{
    public DistributedApplicationBuilder Application { get; } = application;
    public T Resource { get; } = resource;
}

public static class ResourceBuilderExtensions
{
    public static ResourceBuilder<PostgresDatabaseResource> AddDatabase(this ResourceBuilder<PostgresServerResource> server, string name, string? databaseName = null)
    {
        var database = new PostgresDatabaseResource(name, databaseName ?? name, server.Resource);
        server.Resource.Databases.Add(database);
        return server.Application.Add(database);
    }

    /// <summary>Aspire's connection-string reference: <c>ConnectionStrings__{name}</c>.</summary>
    public static ResourceBuilder<T> WithReference<T, TSource>(this ResourceBuilder<T> builder, ResourceBuilder<TSource> source)
        where T : Resource where TSource : Resource
    {
        switch (source.Resource)
        {
            case IResourceWithConnectionString withConnection:
                builder.Resource.SetEnvironment($"ConnectionStrings__{withConnection.Name}", $"{{{withConnection.Name}.connectionString}}");
                break;
            case ProjectResource project:
                // Aspire's service discovery keys: services__{name}__{endpoint}__{index}.
                foreach (var endpoint in project.Endpoints.Where(e => e.IsHttp))
                {
                    builder.Resource.SetEnvironment($"services__{project.Name}__{endpoint.Name}__0", project.UrlExpression(endpoint.Name));
                }
                break;
            default:
                throw new InvalidOperationException($"{source.Resource.Name} cannot be referenced.");
        }
        builder.Resource.References.Add(source.Resource);
        return builder;
    }

    public static ResourceBuilder<T> WaitFor<T, TSource>(this ResourceBuilder<T> builder, ResourceBuilder<TSource> dependency)
        where T : Resource where TSource : Resource
    {
        builder.Resource.WaitsFor.Add(dependency.Resource);
        return builder;
    }

    public static ResourceBuilder<T> WithHttpEndpoint<T>(this ResourceBuilder<T> builder, int port, string name = "http") where T : Resource
    {
        builder.Resource.Endpoints.Add(new EndpointSpec(name, "http", EndpointProtocol.Tcp, port));
        return builder;
    }

    public static ResourceBuilder<T> WithEndpoint<T>(this ResourceBuilder<T> builder, int port, string name, EndpointProtocol protocol) where T : Resource
    {
        builder.Resource.Endpoints.Add(new EndpointSpec(name, protocol == EndpointProtocol.Udp ? "udp" : "tcp", protocol, port));
        return builder;
    }

    public static ResourceBuilder<T> WithHttpHealthCheck<T>(this ResourceBuilder<T> builder, string path = "/health", string endpointName = "http") where T : Resource
    {
        builder.Resource.Endpoint(endpointName);
        builder.Resource.HealthCheckPath = path;
        builder.Resource.HealthCheckEndpoint = endpointName;
        return builder;
    }

    public static ResourceBuilder<T> WithReplicas<T>(this ResourceBuilder<T> builder, int replicas) where T : Resource
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(replicas, 1);
        builder.Resource.Replicas = replicas;
        return builder;
    }

    public static ResourceBuilder<T> WithEnvironment<T>(this ResourceBuilder<T> builder, string name, string value) where T : Resource
    {
        builder.Resource.SetEnvironment(name, value);
        return builder;
    }

    public static ResourceBuilder<T> WithEnvironment<T>(this ResourceBuilder<T> builder, string name, ResourceBuilder<ParameterResource> parameter) where T : Resource
    {
        builder.Resource.SetEnvironment(name, parameter.Resource.ValueExpression);
        builder.Resource.References.Add(parameter.Resource);
        return builder;
    }
}

/// <summary>The finished model: resources in declaration order plus the orderings every consumer needs.</summary>
public sealed class AppModel(IReadOnlyList<Resource> resources)
{
    public IReadOnlyList<Resource> Resources { get; } = resources;
    public IEnumerable<ParameterResource> Parameters => Resources.OfType<ParameterResource>();
    public IEnumerable<ProjectResource> Projects => Resources.OfType<ProjectResource>();

    public Resource this[string name] => Resources.FirstOrDefault(r => r.Name == name) ?? throw new KeyNotFoundException(name);

    /// <summary>
    /// Projects grouped in start waves: a project starts once everything it waits for is up.
    /// Infrastructure (redis, postgres, databases) always comes before any project.
    /// </summary>
    public IReadOnlyList<IReadOnlyList<ProjectResource>> ProjectStartWaves()
    {
        var waves = new List<IReadOnlyList<ProjectResource>>();
        var started = new HashSet<Resource>(Resources.Where(r => r is not ProjectResource));
        var pending = Projects.ToList();
        while (pending.Count > 0)
        {
            var wave = pending.Where(p => p.WaitsFor.All(started.Contains)).ToList();
            if (wave.Count == 0)
            {
                throw new InvalidOperationException("WaitFor cycle among: " + string.Join(", ", pending.Select(p => p.Name)));
            }
            waves.Add(wave);
            foreach (var p in wave)
            {
                started.Add(p);
                pending.Remove(p);
            }
        }
        return waves;
    }
}
