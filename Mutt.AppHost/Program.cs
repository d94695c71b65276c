using Mutt.AppHost;
using Mutt.AppHost.Model;

var builder = DistributedApplication.CreateBuilder(args);
MuttSystem.Declare(builder);
return await AppHostCommand.RunAsync(builder.Build(), args);

namespace Mutt.AppHost
{
    /// <summary>
    /// The whole MUTT system, declared once. <c>run</c>, the manifest publisher, the Kubernetes
    /// publisher and the tests all read this model.
    /// </summary>
    public static class MuttSystem
    {
        public static void Declare(DistributedApplicationBuilder builder)
        {
            var redis = builder.AddRedis("redis");
            var postgres = builder.AddPostgres("postgres");
            var muttdb = postgres.AddDatabase("muttdb");

            var ingestKey = builder.AddParameter("ingest-api-key", secret: true);
            var webuiKey = builder.AddParameter("webui-api-key", secret: true);
            var moogKey = builder.AddParameter("moog-api-key", secret: true);

            var sink = builder.AddProject("moog-sink", "Mutt.MoogSink")
                .WithHttpEndpoint(port: 8095, name: "http")
                .WithHttpHealthCheck("/health")
                .WithEnvironment("MOOG_API_KEY", moogKey);

            var ingestor = builder.AddProject("ingestor", "Mutt.Ingestor")
                .WithReference(redis).WaitFor(redis)
                .WithHttpEndpoint(port: 8080, name: "http")
                .WithEndpoint(port: 5514, name: "syslog-udp", EndpointProtocol.Udp)
                .WithEndpoint(port: 5514, name: "syslog-tcp", EndpointProtocol.Tcp)
                .WithEndpoint(port: 1162, name: "snmp", EndpointProtocol.Udp)
                .WithHttpHealthCheck("/health")
                .WithEnvironment("INGEST_API_KEY", ingestKey);
            ingestor.WithEnvironment("SYSLOG_PORT", ingestor.Resource.TargetPortExpression("syslog-udp"))
                .WithEnvironment("SNMP_PORT", ingestor.Resource.TargetPortExpression("snmp"));

            var alerter = builder.AddProject("alerter", "Mutt.Alerter")
                .WithReference(redis).WaitFor(redis)
                .WithReference(muttdb).WaitFor(muttdb)
                .WithHttpEndpoint(port: 8081, name: "http")
                .WithHttpEndpoint(port: 8082, name: "health")
                .WithHttpHealthCheck("/health", endpointName: "health")
                .WithReplicas(2);

            var forwarder = builder.AddProject("forwarder", "Mutt.Forwarder")
                .WithReference(redis).WaitFor(redis)
                .WithReference(muttdb).WaitFor(muttdb)
                .WithReference(sink).WaitFor(sink)
                .WithHttpEndpoint(port: 8083, name: "http")
                .WithHttpEndpoint(port: 8084, name: "health")
                .WithHttpHealthCheck("/health", endpointName: "health")
                .WithEnvironment("MOOG_WEBHOOK_URL", sink.Resource.UrlExpression("http") + "/api/v1/events")
                .WithEnvironment("MOOG_API_KEY", moogKey);

            var remediation = builder.AddProject("remediation", "Mutt.Remediation")
                .WithReference(redis).WaitFor(redis)
                .WithReference(muttdb).WaitFor(muttdb)
                .WithReference(sink)
                .WithHttpEndpoint(port: 8086, name: "http")
                .WithHttpEndpoint(port: 8087, name: "health")
                .WithHttpHealthCheck("/health", endpointName: "health")
                .WithEnvironment("MOOG_WEBHOOK_URL", sink.Resource.UrlExpression("http") + "/api/v1/events")
                .WithEnvironment("MOOG_API_KEY", moogKey);

            builder.AddProject("dashboard", "Mutt.Dashboard")
                .WithReference(redis).WaitFor(redis)
                .WithReference(muttdb).WaitFor(muttdb)
                .WithReference(ingestor).WithReference(alerter).WithReference(forwarder).WithReference(remediation)
                .WaitFor(remediation)
                .WithHttpEndpoint(port: 8090, name: "http")
                .WithHttpHealthCheck("/health")
                .WithEnvironment("WEBUI_API_KEY", webuiKey);
        }

        public static AppModel Build(params string[] args)
        {
            var builder = DistributedApplication.CreateBuilder(args);
            Declare(builder);
            return builder.Build();
        }
    }
}
