using System.Net.Sockets;
using Mutt.AppHost;

// MUTT, declared once. `dotnet run` starts it locally with the Aspire dashboard; `--publisher manifest`
// writes the Aspire manifest from the same model; `kubernetes MANIFEST DIR` renders deploy/k8s from it.
if (args is ["kubernetes", var manifest, var output, ..])
{
    return KubernetesGenerator.Write(manifest, output);
}

var builder = DistributedApplication.CreateBuilder(new DistributedApplicationOptions
{
    Args = LocalRun.AspireArgs(args),
    // Aspire 13.6 has no configuration key for this, only the option.
    DisableDashboard = LocalRun.DashboardDisabled(args),
});
var local = LocalRun.From(builder);

// Secrets: Aspire parameters. A local run takes them from configuration (Parameters__<name>) or
// generates them once into .mutt/parameters.json; a published manifest asks for them.
var ingestKey = local.Parameter("ingest-api-key");
var webuiKey = local.Parameter("webui-api-key");
var moogKey = local.Parameter("moog-api-key");
var postgresPassword = local.Parameter("postgres-password");
var dbPassword = local.Parameter("db-password");
const string DbUser = "mutt_user";

// Redis and PostgreSQL: Debian's servers as local executables (no container engine needed),
// containers with volumes in the published model.
IResourceBuilder<IResourceWithConnectionString> redis;
IResourceBuilder<IResourceWithEndpoints> postgres;
IResourceBuilder<IResourceWithConnectionString> muttdbAdmin;
if (builder.ExecutionContext.IsPublishMode)
{
    redis = builder.AddRedis("redis").WithDataVolume("mutt-redis-data").WithPersistence();
    var server = builder.AddPostgres("postgres", password: postgresPassword).WithDataVolume("mutt-postgres-data");
    postgres = server;
    muttdbAdmin = server.AddDatabase("muttdb-admin", "muttdb");
}
else
{
    redis = builder.AddLocalRedis("redis", local);
    var server = builder.AddLocalPostgres("postgres", local, postgresPassword);
    postgres = server;
    muttdbAdmin = server.AddLocalDatabase("muttdb-admin", "muttdb");
}

// The services' database connection: the least-privilege role the DbManager creates, never the superuser.
var pg = postgres.Resource.GetEndpoint("tcp");
var muttdb = builder.AddConnectionString("muttdb", ReferenceExpression.Create(
    $"Host={pg.Property(EndpointProperty.Host)};Port={pg.Property(EndpointProperty.Port)};Username={DbUser};Password={dbPassword};Database=muttdb"));

var dbManager = builder.AddProject<Projects.Mutt_DbManager>("dbmanager")
    .WithReference(muttdbAdmin).WaitFor(postgres)
    .WithEnvironment("DB_USER", DbUser)
    .WithEnvironment("DB_PASS_CURRENT", dbPassword)
    .WithEnvironment("DB_SEED", builder.ExecutionContext.IsRunMode ? "true" : "false");
// A local run gets a first admin ("admin", password generated into .mutt/parameters.json as admin-password).
// A deployment bootstraps its first admin as docs/operations.md says (BOOTSTRAP_ADMIN_* or WEBUI_API_KEY).
if (local.IsRunMode)
{
    dbManager.WithEnvironment("BOOTSTRAP_ADMIN_USER", "admin").WithEnvironment("BOOTSTRAP_ADMIN_PASSWORD", local.Parameter("admin-password"));
}

var sink = builder.AddProject<Projects.Mutt_MoogSink>("moog-sink")
    .WithHttpEndpoint(port: local.Port(8095), targetPort: local.TargetPort(8095), name: "http")
    .WithHttpHealthCheck("/health")
    .WithEnvironment("MOOG_API_KEY", moogKey);

// Syslog (UDP and TCP on one SYSLOG_PORT) and SNMP are not proxied: Aspire's proxy is TCP-only.
// RELP is not proxied either: its acknowledgement must come from the Ingestor, and a proxy that
// accepted the connection while the Ingestor is down would hold the sender's frames unanswered.
var syslogPort = local.ListenerPort(5514, ProtocolType.Udp, ProtocolType.Tcp);
var relpPort = local.ListenerPort(2514, ProtocolType.Tcp);
var snmpPort = local.ListenerPort(1162, ProtocolType.Udp);
var ingestor = builder.AddProject<Projects.Mutt_Ingestor>("ingestor")
    .WithHttpEndpoint(port: local.Port(8080), targetPort: local.TargetPort(8080), name: "http")
    .WithEndpoint(port: syslogPort, targetPort: syslogPort, name: "syslog-udp", scheme: "udp", protocol: ProtocolType.Udp, isProxied: false)
    .WithEndpoint(port: syslogPort, targetPort: syslogPort, name: "syslog-tcp", scheme: "tcp", protocol: ProtocolType.Tcp, isProxied: false)
    .WithEndpoint(port: relpPort, targetPort: relpPort, name: "relp", scheme: "tcp", protocol: ProtocolType.Tcp, isProxied: false)
    .WithEndpoint(port: snmpPort, targetPort: snmpPort, name: "snmp", scheme: "udp", protocol: ProtocolType.Udp, isProxied: false)
    .WithHttpHealthCheck("/health")
    .WithReference(redis).WaitFor(redis)
    // PostgreSQL holds the named ingest keys (issue 17, api_keys) and the mapped webhook sources' mappings, both
    // cached: the Ingestor does not wait for the database (the legacy key needs none, the key ring and the mapping
    // cache retry; neither does the generated Kubernetes Deployment wait for the DbManager Job), and keeps taking
    // events with the last loaded keys while it is away.
    .WithReference(muttdb)
    .WithEnvironment("INGEST_API_KEY", ingestKey)
    .WithEnvironment("SYSLOG_PORT", syslogPort.ToString(System.Globalization.CultureInfo.InvariantCulture))
    .WithEnvironment("RELP_PORT", relpPort.ToString(System.Globalization.CultureInfo.InvariantCulture))
    .WithEnvironment("SNMP_PORT", snmpPort.ToString(System.Globalization.CultureInfo.InvariantCulture))
    // The listeners take unauthenticated traffic: a local run keeps them on loopback; a published
    // model (a Kubernetes pod behind its Service) listens on every interface, explicitly.
    .WithEnvironment("SYSLOG_BIND", local.IsRunMode ? "127.0.0.1" : "0.0.0.0")
    .WithEnvironment("SNMP_BIND", local.IsRunMode ? "127.0.0.1" : "0.0.0.0");
// Syslog over TLS in a local run: a generated CA and server certificate (<state>/tls/ca.crt for the
// sender), given to the syslog-TLS listener only so HTTP stays plain. Not in the published model: a
// deployment needs a real certificate (TLS_CERT_PATH or SYSLOG_TLS_CERT_PATH) and then its own port.
if (local.IsRunMode)
{
    var syslogTls = LocalTls.Ensure(local.Folder("tls"));
    var syslogTlsPort = local.ListenerPort(6514, ProtocolType.Tcp);
    ingestor
        .WithEndpoint(port: syslogTlsPort, targetPort: syslogTlsPort, name: "syslog-tls", scheme: "tcp", protocol: ProtocolType.Tcp, isProxied: false)
        .WithEnvironment("SYSLOG_TLS_PORT", syslogTlsPort.ToString(System.Globalization.CultureInfo.InvariantCulture))
        .WithEnvironment("SYSLOG_TLS_CERT_PATH", syslogTls.CertPath)
        .WithEnvironment("SYSLOG_TLS_KEY_PATH", syslogTls.KeyPath);
}

var alerter = builder.AddProject<Projects.Mutt_Alerter>("alerter")
    .WithHttpEndpoint(port: local.Port(8081), targetPort: local.TargetPort(8081), name: "http")
    .WithHttpEndpoint(port: local.Port(8082), targetPort: local.TargetPort(8082), name: "health")
    .WithHttpHealthCheck("/health", endpointName: "health")
    .WithReference(redis).WaitFor(redis)
    .WithReference(muttdb).WaitForCompletion(dbManager)
    .WithReplicas(local.Replicas("alerter", 2))
    .WithPodName();

var forwarder = builder.AddProject<Projects.Mutt_Forwarder>("forwarder")
    .WithHttpEndpoint(port: local.Port(8083), targetPort: local.TargetPort(8083), name: "http")
    .WithHttpEndpoint(port: local.Port(8084), targetPort: local.TargetPort(8084), name: "health")
    .WithHttpHealthCheck("/health", endpointName: "health")
    .WithReference(redis).WaitFor(redis)
    .WithReference(sink).WaitFor(sink)
    .WithEnvironment("MOOG_WEBHOOK_URL", ReferenceExpression.Create($"{sink.GetEndpoint("http")}/api/v1/events"))
    .WithEnvironment("MOOG_API_KEY", moogKey)
    .WithPodName();

var remediation = builder.AddProject<Projects.Mutt_Remediation>("remediation")
    .WithHttpEndpoint(port: local.Port(8086), targetPort: local.TargetPort(8086), name: "http")
    .WithHttpEndpoint(port: local.Port(8087), targetPort: local.TargetPort(8087), name: "health")
    .WithHttpHealthCheck("/health", endpointName: "health")
    .WithReference(redis).WaitFor(redis)
    .WithReference(muttdb).WaitForCompletion(dbManager)
    .WithPodName();
if (local.IsRunMode)
{
    // The audit archive of a local run lives in the state folder; a deployment mounts its own (docs/operations.md).
    remediation.WithEnvironment("AUDIT_ARCHIVE_DIR", Path.Combine(local.StateDir, "audit-archive"));
}

var dashboard = builder.AddProject<Projects.Mutt_Dashboard>("dashboard")
    .WithHttpEndpoint(port: local.Port(8090), targetPort: local.TargetPort(8090), name: "http")
    .WithHttpHealthCheck("/health")
    .WithReference(redis).WaitFor(redis)
    .WithReference(muttdb).WaitForCompletion(dbManager)
    .WithReference(ingestor).WithReference(alerter).WithReference(forwarder).WithReference(remediation)
    .WithEnvironment("WEBUI_API_KEY", webuiKey)
    .WithUrlForEndpoint("http", url => url.DisplayText = "MUTT operator console");

// Run mode: Debian's Prometheus scraping every replica of every service, with MUTT's rules, so the SLO
// page computes from real PromQL (on by default; --no-prometheus turns it off). Published models have
// none: the operator's own Prometheus uses deploy/prometheus.
if (builder.AddLocalPrometheus("prometheus", local, ingestor, alerter, forwarder, remediation, dashboard) is { } prometheus)
{
    dashboard.WithEnvironment("PROMETHEUS_URL", prometheus.Resource.HttpEndpoint);
}

// A missing redis-server or PostgreSQL is said in plain words (with the apt package) before anything starts.
if (local.ReportMissing())
{
    return 1;
}
local.ForwardLogLevel();
local.NoTelemetryExportWithoutDashboard();
local.WriteEndpointsFile(dashboard);
builder.Build().Run();
return 0;
