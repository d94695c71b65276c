using System.Text.RegularExpressions;

namespace Mutt.Tests.Deployment;

/// <summary>
/// The systemd units in deploy/systemd, read as INI files and checked key by key (always), and
/// by systemd's own parser, <c>systemd-analyze verify</c>, when it is on PATH (a separate test
/// that is reported as skipped otherwise).
/// </summary>
[Trait("Category", "Unit")]
public sealed class SystemdUnitTests
{
    public sealed record Expected(string Unit, string Folder, string Assembly, int[] Ports, string PodName, bool BindsPrivilegedPorts);

    private static readonly Expected[] Services =
    [
        new("mutt-ingestor", "ingestor", "Mutt.Ingestor", [8080], "%H-ingestor", true),
        new("mutt-alerter", "alerter", "Mutt.Alerter", [8081, 8082], "%H-alerter", false),
        new("mutt-moog-forwarder", "moog-forwarder", "Mutt.Forwarder", [8083, 8084], "%H-moog-forwarder", false),
        new("mutt-webui", "webui", "Mutt.Dashboard", [8090], "%H-webui", false),
        new("mutt-remediation", "remediation", "Mutt.Remediation", [8086, 8087], "%H-remediation", false),
    ];

    private static readonly Dictionary<string, string> Hardening = new()
    {
        ["NoNewPrivileges"] = "true",
        ["ProtectSystem"] = "strict",
        ["ProtectHome"] = "true",
        ["PrivateTmp"] = "true",
        ["ProtectKernelTunables"] = "true",
        ["ProtectKernelModules"] = "true",
        ["ProtectControlGroups"] = "true",
        ["RestrictAddressFamilies"] = "AF_INET AF_INET6 AF_UNIX",
        ["LockPersonality"] = "true",
        // The JIT needs writable+executable pages; true would crash every service at start.
        ["MemoryDenyWriteExecute"] = "false",
    };

    public static TheoryData<string> UnitNames() => new(Services.Select(s => s.Unit));

    private static string UnitPath(string fileName) => DeployTestSupport.PathIn("deploy", "systemd", fileName);

    private static Expected For(string unit) => Services.Single(s => s.Unit == unit);

    [Fact]
    public void There_is_one_unit_per_service_plus_the_alerter_template_and_nothing_else()
    {
        var files = Directory.GetFiles(DeployTestSupport.PathIn("deploy", "systemd"), "*.service")
            .Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray();
        var expected = Services.Select(s => s.Unit + ".service").Append("mutt-alerter@.service").Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(expected, files);
    }

    [Theory]
    [MemberData(nameof(UnitNames))]
    public void Unit_runs_the_published_service_as_mutt_with_the_shared_env_file(string name)
    {
        var expected = For(name);
        var unit = UnitFile.Load(UnitPath(name + ".service"));

        Assert.Equal(["Unit", "Service", "Install"], unit.Sections);
        Assert.StartsWith("MUTT ", unit.Get("Unit", "Description"));
        Assert.Contains("network-online.target", unit.Get("Unit", "After")!.Split(' '));
        Assert.Equal("simple", unit.Get("Service", "Type"));
        Assert.Equal("mutt", unit.Get("Service", "User"));
        Assert.Equal("mutt", unit.Get("Service", "Group"));
        // Mandatory (no leading '-'): a service must not start without its configuration.
        Assert.Equal("/etc/mutt/mutt.env", unit.All("Service", "EnvironmentFile").First());
        Assert.Equal($"/opt/mutt/{expected.Folder}", unit.Get("Service", "WorkingDirectory"));
        Assert.Equal($"/usr/bin/dotnet /opt/mutt/{expected.Folder}/{expected.Assembly}.dll", unit.Get("Service", "ExecStart"));
        // The dll named is the one the project really produces.
        Assert.True(File.Exists(DeployTestSupport.PathIn(expected.Assembly, expected.Assembly + ".csproj")), expected.Assembly);
        Assert.Equal("multi-user.target", unit.Get("Install", "WantedBy"));

        var environment = unit.Environment();
        Assert.Equal(expected.PodName, environment["POD_NAME"]);
        Assert.Equal(expected.Ports, PortsOf(environment["ASPNETCORE_URLS"]));
        Assert.Equal("Production", environment["DOTNET_ENVIRONMENT"]);
    }

    [Theory]
    [MemberData(nameof(UnitNames))]
    public void Unit_restarts_on_failure_and_stops_gracefully_within_a_longer_timeout(string name)
    {
        var unit = UnitFile.Load(UnitPath(name + ".service"));
        AssertLifecycle(unit);
    }

    [Theory]
    [MemberData(nameof(UnitNames))]
    public void Unit_is_hardened_and_keeps_no_capability_beyond_binding_low_ports(string name)
    {
        var expected = For(name);
        var unit = UnitFile.Load(UnitPath(name + ".service"));
        AssertHardened(unit);
        if (expected.BindsPrivilegedPorts)
        {
            Assert.Equal("CAP_NET_BIND_SERVICE", unit.Get("Service", "AmbientCapabilities"));
            Assert.Equal("CAP_NET_BIND_SERVICE", unit.Get("Service", "CapabilityBoundingSet"));
        }
        else
        {
            Assert.Equal("", unit.Get("Service", "CapabilityBoundingSet"));
            Assert.Equal("", unit.Get("Service", "AmbientCapabilities") ?? "");
        }
    }

    [Fact]
    public void Ingestor_unit_listens_on_all_interfaces_explicitly_the_code_default_being_loopback()
    {
        var environment = UnitFile.Load(UnitPath("mutt-ingestor.service")).Environment();
        Assert.Equal("0.0.0.0", environment["SYSLOG_BIND"]);
        Assert.Equal("0.0.0.0", environment["SNMP_BIND"]);
        Assert.Equal("127.0.0.1", new Mutt.Ingestor.Syslog.SyslogOptions().SYSLOG_BIND);
        Assert.Equal("127.0.0.1", new Mutt.Ingestor.Snmp.SnmpOptions().SNMP_BIND);
    }

    [Fact]
    public void No_two_services_listen_on_the_same_port()
    {
        var ports = Services
            .SelectMany(s => PortsOf(UnitFile.Load(UnitPath(s.Unit + ".service")).Environment()["ASPNETCORE_URLS"]))
            .ToList();
        Assert.Equal(ports.Count, ports.Distinct().Count());
    }

    [Fact]
    public void Alerter_template_gives_each_instance_its_own_pod_name_and_port()
    {
        var template = UnitFile.Load(UnitPath("mutt-alerter@.service"));
        var single = UnitFile.Load(UnitPath("mutt-alerter.service"));

        Assert.Equal(single.Get("Service", "ExecStart"), template.Get("Service", "ExecStart"));
        Assert.Equal(["/etc/mutt/mutt.env", "-/etc/mutt/mutt-alerter@%i.env"], template.All("Service", "EnvironmentFile"));
        var environment = template.Environment();
        Assert.Equal("%H-alerter-%i", environment["POD_NAME"]);
        Assert.Equal("http://0.0.0.0:%i", environment["ASPNETCORE_URLS"]);
        Assert.Equal("", template.Get("Service", "CapabilityBoundingSet"));
        AssertLifecycle(template);
        AssertHardened(template);
    }

    /// <summary>The units through systemd's own parser (an external process).</summary>
    [Trait("Category", "Integration")]
    public sealed class Verify
    {
        [SystemdAnalyzeFact]
        public async Task Systemd_analyze_verify_accepts_every_unit_and_rejects_a_broken_one()
        {
            var work = Directory.CreateTempSubdirectory("mutt-units-");
            try
            {
                var names = Services.Select(s => s.Unit + ".service").Append("mutt-alerter@.service").ToList();
                foreach (var name in names)
                {
                    File.Copy(UnitPath(name), Path.Combine(work.FullName, name));
                }
                // A concrete instance of the template, as `systemctl start mutt-alerter@8181` would load it.
                File.CreateSymbolicLink(Path.Combine(work.FullName, "mutt-alerter@8181.service"), "mutt-alerter@.service");
                names.Add("mutt-alerter@8181.service");

                foreach (var name in names)
                {
                    var result = await DeployTestSupport.RunAsync("systemd-analyze", ["verify", Path.Combine(work.FullName, name)], work.FullName);
                    Assert.True(result.ExitCode == 0, $"{name}: exit {result.ExitCode}\n{result.All}");
                    // verify reports unknown keys and bad values as warnings with exit code 0.
                    Assert.DoesNotContain("mutt-", result.StdErr);
                    Assert.DoesNotContain("mutt-", result.StdOut);
                }

                // The check has teeth here: a misspelt key and a bad Restart= value are reported.
                var broken = Path.Combine(work.FullName, "mutt-broken.service");
                File.WriteAllText(broken, File.ReadAllText(UnitPath("mutt-webui.service"))
                    .Replace("Restart=on-failure", "Restart=sometimes")
                    .Replace("NoNewPrivileges=true", "NoNewPrivilege=true"));
                var bad = await DeployTestSupport.RunAsync("systemd-analyze", ["verify", broken], work.FullName);
                Assert.Contains("sometimes", bad.All);
                Assert.Contains("NoNewPrivilege", bad.All);
            }
            finally
            {
                work.Delete(recursive: true);
            }
        }
    }

    private static void AssertLifecycle(UnitFile unit)
    {
        Assert.Equal("on-failure", unit.Get("Service", "Restart"));
        Assert.Equal("10s", unit.Get("Service", "RestartSec"));
        Assert.Equal("SIGTERM", unit.Get("Service", "KillSignal"));
        var drain = int.Parse(unit.Environment()["DOTNET_SHUTDOWNTIMEOUTSECONDS"]);
        var stop = Seconds(unit.Get("Service", "TimeoutStopSec")!);
        Assert.True(stop > drain, $"TimeoutStopSec {stop}s must exceed the drain time {drain}s");
    }

    private static void AssertHardened(UnitFile unit)
    {
        foreach (var (key, value) in Hardening)
        {
            Assert.True(unit.Get("Service", key) == value, $"{unit.Path}: expected {key}={value}, found {unit.Get("Service", key) ?? "(missing)"}");
        }
        var writable = unit.Get("Service", "ReadWritePaths")!.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["/opt/mutt", "/var/log/mutt"], writable);
        Assert.Contains("/etc/mutt/mutt.env", unit.All("Service", "EnvironmentFile"));
    }

    private static int[] PortsOf(string urls) =>
        urls.Split(';').Select(u => int.Parse(Regex.Match(u, @":(\d+)$").Groups[1].Value)).ToArray();

    private static int Seconds(string value)
    {
        var match = Regex.Match(value, @"^(\d+)\s*(s|sec|min|m)?$");
        Assert.True(match.Success, $"unexpected time span {value}");
        var n = int.Parse(match.Groups[1].Value);
        return match.Groups[2].Value is "min" or "m" ? n * 60 : n;
    }
}

/// <summary>A fact that runs only where <c>systemd-analyze</c> is installed, and is reported as skipped elsewhere.</summary>
public sealed class SystemdAnalyzeFactAttribute : FactAttribute
{
    public SystemdAnalyzeFactAttribute()
    {
        if (DeployTestSupport.FindOnPath("systemd-analyze") is null)
        {
            Skip = "systemd-analyze is not on PATH; the unit files are still checked by the parser tests";
        }
    }
}
