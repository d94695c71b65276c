using System.Net;
using System.Net.Sockets;

namespace Mutt.Tests.Deployment;

/// <summary>
/// deploy/rhel/deploy-mutt.sh run for real against a temporary root prefix (--root): what a dry
/// run announces, what a real run installs (paths, modes, contents), and that a second run is a no-op.
/// </summary>
[Trait("Category", "Integration")]
public sealed class DeployScriptTests : IDisposable
{
    private static readonly (string Assembly, string Folder, string Unit)[] Services =
    [
        ("Mutt.Ingestor", "ingestor", "mutt-ingestor"),
        ("Mutt.Alerter", "alerter", "mutt-alerter"),
        ("Mutt.Forwarder", "moog-forwarder", "mutt-moog-forwarder"),
        ("Mutt.Dashboard", "webui", "mutt-webui"),
        ("Mutt.Remediation", "remediation", "mutt-remediation"),
    ];

    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("mutt-deploy-");
    private readonly string _source;
    private readonly string _root;

    public DeployScriptTests()
    {
        _source = Path.Combine(_work.FullName, "publish");
        _root = Path.Combine(_work.FullName, "root");
        // Stand-ins for `dotnet publish` outputs: the script copies folders, it never runs them.
        foreach (var (assembly, _, _) in Services)
        {
            var dir = Directory.CreateDirectory(Path.Combine(_source, assembly)).FullName;
            File.WriteAllText(Path.Combine(dir, assembly + ".dll"), assembly + " v1");
            File.WriteAllText(Path.Combine(dir, assembly + ".runtimeconfig.json"), "{}");
            Directory.CreateDirectory(Path.Combine(dir, "wwwroot"));
            File.WriteAllText(Path.Combine(dir, "wwwroot", "app.css"), "body{}");
        }
    }

    public void Dispose() => _work.Delete(recursive: true);

    private static string Script => DeployTestSupport.PathIn("deploy", "rhel", "deploy-mutt.sh");

    private Task<DeployTestSupport.Result> Deploy(params string[] extra) =>
        DeployTestSupport.RunAsync("bash", [Script, "--source", _source, "--root", _root, .. extra]);

    private string Rooted(string path) => Path.Combine(_root, path.TrimStart('/'));

    private static string Mode(string path) => Convert.ToString((int)File.GetUnixFileMode(path) & 0x1FF, 8);

    private static string[] Actions(DeployTestSupport.Result result, string tag) =>
        result.StdOut.Split('\n').Where(l => l.StartsWith(tag, StringComparison.Ordinal)).ToArray();

    [Fact]
    public async Task Script_passes_bash_syntax_check()
    {
        var result = await DeployTestSupport.RunAsync("bash", ["-n", Script]);
        Assert.True(result.ExitCode == 0, result.All);
        Assert.True((File.GetUnixFileMode(Script) & UnixFileMode.UserExecute) != 0, "deploy-mutt.sh is not executable");
    }

    [ShellcheckFact]
    public async Task Script_passes_shellcheck()
    {
        var result = await DeployTestSupport.RunAsync("shellcheck", [Script]);
        Assert.True(result.ExitCode == 0, result.All);
    }

    [Fact]
    public async Task Dry_run_lists_every_action_and_changes_nothing()
    {
        var result = await Deploy("--skip-checks", "--dry-run");

        Assert.True(result.ExitCode == 0, result.All);
        var actions = Actions(result, "[dry-run]");
        Assert.Contains($"[dry-run] create directory {Rooted("/opt/mutt")} (mode 755)", actions);
        Assert.Contains($"[dry-run] create directory {Rooted("/etc/mutt")} (mode 700)", actions);
        Assert.Contains($"[dry-run] create directory {Rooted("/etc/mutt/certs")} (mode 750)", actions);
        Assert.Contains($"[dry-run] create directory {Rooted("/etc/mutt/secrets")} (mode 700)", actions);
        Assert.Contains($"[dry-run] create directory {Rooted("/var/log/mutt")} (mode 750)", actions);
        foreach (var (assembly, folder, unit) in Services)
        {
            Assert.Contains($"[dry-run] install published output {Path.Combine(_source, assembly)} -> {Rooted("/opt/mutt/" + folder)}", actions);
            Assert.Contains($"[dry-run] install {Rooted($"/etc/systemd/system/{unit}.service")} (mode 644)", actions);
        }
        Assert.Contains($"[dry-run] install {Rooted("/etc/systemd/system/mutt-alerter@.service")} (mode 644)", actions);
        Assert.Contains(actions, a => a.StartsWith($"[dry-run] install {Rooted("/etc/mutt/mutt.env")} from template (mode 600)", StringComparison.Ordinal));
        Assert.Contains($"{actions.Length} action(s) would be taken (dry run, nothing changed)", result.StdOut);
        Assert.False(Directory.Exists(_root), "a dry run created files");
    }

    [Fact]
    public async Task Real_run_installs_with_the_right_modes_and_a_second_run_is_a_no_op()
    {
        var first = await Deploy("--skip-checks");
        Assert.True(first.ExitCode == 0, first.All);
        Assert.NotEmpty(Actions(first, "[apply]"));

        Assert.Equal("755", Mode(Rooted("/opt/mutt")));
        Assert.Equal("700", Mode(Rooted("/etc/mutt")));
        Assert.Equal("750", Mode(Rooted("/etc/mutt/certs")));
        Assert.Equal("700", Mode(Rooted("/etc/mutt/secrets")));
        Assert.Equal("750", Mode(Rooted("/var/log/mutt")));
        Assert.Equal("600", Mode(Rooted("/etc/mutt/mutt.env")));
        Assert.Equal(File.ReadAllText(DeployTestSupport.PathIn("deploy", "env", "mutt.env.template")), File.ReadAllText(Rooted("/etc/mutt/mutt.env")));
        foreach (var (assembly, folder, unit) in Services)
        {
            Assert.Equal(assembly + " v1", File.ReadAllText(Rooted($"/opt/mutt/{folder}/{assembly}.dll")));
            Assert.True(File.Exists(Rooted($"/opt/mutt/{folder}/wwwroot/app.css")));
            var installed = Rooted($"/etc/systemd/system/{unit}.service");
            Assert.Equal(File.ReadAllText(DeployTestSupport.PathIn("deploy", "systemd", unit + ".service")), File.ReadAllText(installed));
            Assert.Equal("644", Mode(installed));
        }
        Assert.True(File.Exists(Rooted("/etc/systemd/system/mutt-alerter@.service")));

        var second = await Deploy("--skip-checks");
        Assert.True(second.ExitCode == 0, second.All);
        Assert.Empty(Actions(second, "[apply]"));
        Assert.Contains("nothing to do, everything is up to date", second.StdOut);

        var dry = await Deploy("--skip-checks", "--dry-run");
        Assert.Empty(Actions(dry, "[dry-run]"));
        Assert.Contains("nothing to do", dry.StdOut);
    }

    [Fact]
    public async Task Update_replaces_only_the_changed_service_and_never_the_edited_env_file()
    {
        Assert.Equal(0, (await Deploy("--skip-checks")).ExitCode);
        var env = Rooted("/etc/mutt/mutt.env");
        File.WriteAllText(env, "REDIS_HOST=redis.example.internal\n");
        File.SetUnixFileMode(env, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        File.WriteAllText(Path.Combine(_source, "Mutt.Alerter", "Mutt.Alerter.dll"), "Mutt.Alerter v2");
        File.Delete(Path.Combine(_source, "Mutt.Alerter", "wwwroot", "app.css"));

        var update = await Deploy("--skip-checks");

        Assert.True(update.ExitCode == 0, update.All);
        Assert.Equal(
            [
                $"[apply]   install published output {Path.Combine(_source, "Mutt.Alerter")} -> {Rooted("/opt/mutt/alerter")}",
                $"[apply]   set mode 600 on {env}",
            ],
            Actions(update, "[apply]"));
        Assert.Contains("enable/restart mutt-alerter: not called under --root", update.StdOut);
        Assert.Equal("Mutt.Alerter v2", File.ReadAllText(Rooted("/opt/mutt/alerter/Mutt.Alerter.dll")));
        Assert.False(File.Exists(Rooted("/opt/mutt/alerter/wwwroot/app.css")), "a file removed from the publish output stayed behind");
        Assert.Equal("REDIS_HOST=redis.example.internal\n", File.ReadAllText(env));
        Assert.Equal("600", Mode(env));
    }

    [Fact]
    public async Task Dry_run_on_the_host_announces_the_user_and_systemctl_steps_without_doing_them()
    {
        // On a machine where MUTT is really installed the plan differs; this box has none.
        Assert.False(File.Exists("/etc/systemd/system/mutt-ingestor.service"), "MUTT is installed on this machine; run elsewhere");
        var hadUser = (await DeployTestSupport.RunAsync("id", ["-u", "mutt"])).ExitCode == 0;
        var hadOpt = Directory.Exists("/opt/mutt");

        var result = await DeployTestSupport.RunAsync("bash", [Script, "--source", _source, "--skip-checks", "--dry-run"]);

        Assert.True(result.ExitCode == 0, result.All);
        var actions = Actions(result, "[dry-run]");
        if (!hadUser)
        {
            Assert.Equal("[dry-run] create system user mutt (shell /sbin/nologin, home /opt/mutt)", actions[0]);
        }
        Assert.Contains("[dry-run] chown mutt:mutt /etc/mutt/secrets", actions);
        Assert.Contains("[dry-run] systemctl daemon-reload", actions);
        foreach (var (_, _, unit) in Services)
        {
            Assert.Contains($"[dry-run] systemctl enable {unit}.service", actions);
            Assert.Contains($"[dry-run] systemctl restart {unit}.service (files changed)", actions);
        }
        Assert.Equal(hadUser, (await DeployTestSupport.RunAsync("id", ["-u", "mutt"])).ExitCode == 0);
        Assert.Equal(hadOpt, Directory.Exists("/opt/mutt"));
        Assert.False(File.Exists("/etc/systemd/system/mutt-ingestor.service"));
    }

    [Fact]
    public async Task Missing_published_output_stops_before_any_change()
    {
        Directory.Delete(Path.Combine(_source, "Mutt.Forwarder"), recursive: true);

        var result = await Deploy("--skip-checks");

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("missing published output", result.StdErr);
        Assert.Contains("Mutt.Forwarder.dll", result.StdErr);
        Assert.False(Directory.Exists(_root));
    }

    [Fact]
    public async Task Prerequisite_checks_probe_the_configured_redis_and_postgres()
    {
        using var redis = new TcpListener(IPAddress.Loopback, 0);
        using var postgres = new TcpListener(IPAddress.Loopback, 0);
        redis.Start();
        postgres.Start();
        var redisPort = ((IPEndPoint)redis.LocalEndpoint).Port;
        var postgresPort = ((IPEndPoint)postgres.LocalEndpoint).Port;
        Directory.CreateDirectory(Rooted("/etc/mutt"));
        var env = Rooted("/etc/mutt/mutt.env");
        File.WriteAllText(env, $"REDIS_HOST=127.0.0.1\nREDIS_PORT={redisPort}\nDB_HOST=127.0.0.1\nDB_PORT={postgresPort}\n");

        var reachable = await Deploy("--dry-run");
        Assert.True(reachable.ExitCode == 0, reachable.All);
        Assert.Contains("[check]   ASP.NET Core runtime 10: ok", reachable.StdOut);
        Assert.Contains($"[check]   Redis 127.0.0.1:{redisPort}: reachable", reachable.StdOut);
        Assert.Contains($"[check]   PostgreSQL 127.0.0.1:{postgresPort}: reachable", reachable.StdOut);

        postgres.Stop();
        var unreachable = await Deploy("--dry-run");
        Assert.NotEqual(0, unreachable.ExitCode);
        Assert.Contains($"PostgreSQL 127.0.0.1:{postgresPort} is not reachable", unreachable.StdErr);
        Assert.Contains("prerequisites not met", unreachable.StdErr);
        Assert.Empty(Actions(unreachable, "[dry-run]"));
    }
}

/// <summary>Runs only where shellcheck is installed; reported as skipped elsewhere (bash -n always runs).</summary>
public sealed class ShellcheckFactAttribute : FactAttribute
{
    public ShellcheckFactAttribute()
    {
        if (DeployTestSupport.FindOnPath("shellcheck") is null)
        {
            Skip = "shellcheck is not on PATH";
        }
    }
}
