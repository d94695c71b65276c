using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace Mutt.AppHost;

/// <summary>Debian's redis-server (or <c>Redis:Executable</c>) as a local executable (AOF on, data in the state folder), with a connection string.</summary>
public sealed class LocalRedisResource(string name, string executable, string dataDir)
    : ExecutableResource(name, executable, dataDir), IResourceWithConnectionString
{
    public EndpointReference PrimaryEndpoint => new(this, "tcp");

    public ReferenceExpression ConnectionStringExpression =>
        ReferenceExpression.Create($"{PrimaryEndpoint.Property(EndpointProperty.Host)}:{PrimaryEndpoint.Property(EndpointProperty.Port)}");
}

/// <summary>
/// Debian's PostgreSQL as a local executable through postgres-run.sh (initdb on first start, run as
/// the postgres user when we are root, fast shutdown on SIGTERM). Its connection string is the
/// superuser's: only the DbManager gets it.
/// </summary>
public sealed class LocalPostgresResource(string name, string script, string dataDir, ParameterResource password)
    : ExecutableResource(name, script, dataDir), IResourceWithConnectionString
{
    public const string SuperUser = "postgres";

    public ParameterResource Password { get; } = password;

    public EndpointReference PrimaryEndpoint => new(this, "tcp");

    public ReferenceExpression ConnectionStringExpression => ReferenceExpression.Create(
        $"Host={PrimaryEndpoint.Property(EndpointProperty.Host)};Port={PrimaryEndpoint.Property(EndpointProperty.Port)};Username={SuperUser};Password={Password}");
}

/// <summary>A database of the local server (the DbManager creates it when missing).</summary>
public sealed class LocalDatabaseResource(string name, string databaseName, LocalPostgresResource parent)
    : Resource(name), IResourceWithParent<LocalPostgresResource>, IResourceWithConnectionString
{
    public LocalPostgresResource Parent { get; } = parent;

    public string DatabaseName { get; } = databaseName;

    public ReferenceExpression ConnectionStringExpression => ReferenceExpression.Create($"{Parent};Database={DatabaseName}");
}

public static class LocalServerExtensions
{
    public static IResourceBuilder<LocalRedisResource> AddLocalRedis(this IDistributedApplicationBuilder builder, string name, LocalRun local)
    {
        var resource = new LocalRedisResource(name, local.Executable("Redis:Executable", "redis-server", "redis-server"), local.Folder(name));
        var check = name + "_ping";
        builder.Services.AddHealthChecks().AddAsyncCheck(check, async ct =>
        {
            try
            {
                var endpoint = resource.PrimaryEndpoint;
                using var tcp = new TcpClient();
                await tcp.ConnectAsync(endpoint.Host, endpoint.Port, ct);
                var stream = tcp.GetStream();
                await stream.WriteAsync("PING\r\n"u8.ToArray(), ct);
                var buffer = new byte[64];
                var read = await stream.ReadAsync(buffer, ct);
                var reply = Encoding.ASCII.GetString(buffer, 0, read);
                // "-LOADING": the AOF is still being replayed after a restart.
                return reply.StartsWith("+PONG", StringComparison.Ordinal) ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy(reply.Trim());
            }
            catch (Exception ex) when (ex is SocketException or IOException or InvalidOperationException)
            {
                return HealthCheckResult.Unhealthy(ex.Message);
            }
        });
        return builder.AddResource(resource)
            .WithEndpoint(port: local.ListenerPort(6379, ProtocolType.Tcp), name: "tcp", scheme: "tcp", isProxied: false)
            .WithArgs(context =>
            {
                context.Args.Add("--port");
                context.Args.Add(resource.PrimaryEndpoint.Property(EndpointProperty.TargetPort));
                context.Args.Add("--bind");
                context.Args.Add("127.0.0.1");
                context.Args.Add("--dir");
                context.Args.Add(resource.WorkingDirectory);
                context.Args.Add("--appendonly");
                context.Args.Add("yes");
                context.Args.Add("--save");
                context.Args.Add("");
                // Every event passes through the AOF twice (pushed, then moved to a processing list) although
                // the data set stays small: at the default 64 MB a 30k events/s flow forked a full rewrite
                // every couple of seconds (14 in a 30 s run); at 512 MB it is a few per million events.
                context.Args.Add("--auto-aof-rewrite-min-size");
                context.Args.Add("512mb");
                context.Args.Add("--daemonize");
                context.Args.Add("no");
            })
            .WithHealthCheck(check);
    }

    public static IResourceBuilder<LocalPostgresResource> AddLocalPostgres(this IDistributedApplicationBuilder builder, string name,
        LocalRun local, IResourceBuilder<ParameterResource> password)
    {
        var script = Path.Combine(AppContext.BaseDirectory, "postgres-run.sh");
        var resource = new LocalPostgresResource(name, script, local.Folder(name), password.Resource);
        var check = name + "_sql";
        builder.Services.AddHealthChecks().AddAsyncCheck(check, async ct =>
        {
            try
            {
                var connectionString = await resource.ConnectionStringExpression.GetValueAsync(ct);
                await using var connection = new NpgsqlConnection(connectionString + ";Database=postgres;Timeout=3;Pooling=false");
                await connection.OpenAsync(ct);
                await using var command = new NpgsqlCommand("SELECT 1", connection);
                await command.ExecuteScalarAsync(ct);
                return HealthCheckResult.Healthy();
            }
            catch (Exception ex) when (ex is NpgsqlException or SocketException or IOException or TimeoutException or InvalidOperationException)
            {
                return HealthCheckResult.Unhealthy(ex.Message);
            }
        });
        return builder.AddResource(resource)
            .WithEndpoint(port: local.ListenerPort(5432, ProtocolType.Tcp), name: "tcp", scheme: "tcp", isProxied: false)
            .WithArgs(context =>
            {
                context.Args.Add(resource.WorkingDirectory);
                context.Args.Add(resource.PrimaryEndpoint.Property(EndpointProperty.TargetPort));
            })
            .WithEnvironment("POSTGRES_PASSWORD", password)
            .WithEnvironment("POSTGRES_BIN_DIR", local.PostgresBinDirectory())
            .WithHealthCheck(check);
    }

    /// <summary>A database of the local server; Running (for the dashboard and WaitFor) once the server is healthy.</summary>
    public static IResourceBuilder<LocalDatabaseResource> AddLocalDatabase(this IResourceBuilder<LocalPostgresResource> server, string name, string databaseName)
    {
        var database = new LocalDatabaseResource(name, databaseName, server.Resource);
        server.ApplicationBuilder.Eventing.Subscribe<ResourceReadyEvent>(server.Resource, async (ready, _) =>
            await ready.Services.GetRequiredService<ResourceNotificationService>().PublishUpdateAsync(database, snapshot => snapshot with
            {
                State = KnownResourceStates.Running,
                Properties = [.. snapshot.Properties, new("database", databaseName)],
            }));
        return server.ApplicationBuilder.AddResource(database)
            .WithInitialState(new CustomResourceSnapshot { ResourceType = "Database", State = KnownResourceStates.Waiting, Properties = [] });
    }

    /// <summary>
    /// POD_NAME for a local run: the resource name and the replica's own id, which DCP fills in per
    /// replica (the template Aspire itself uses for OTEL_RESOURCE_ATTRIBUTES' service.instance.id).
    /// Published manifests leave POD_NAME to the platform (Kubernetes: the pod's name).
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithPodName(this IResourceBuilder<ProjectResource> project)
    {
        if (project.ApplicationBuilder.ExecutionContext.IsRunMode)
        {
            project.WithEnvironment("POD_NAME", project.Resource.Name + "-{{- index .Annotations \"otel-service-instance-id\" -}}");
        }
        return project;
    }
}
