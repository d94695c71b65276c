using System.Text.Json;
using System.Text.RegularExpressions;
using Mutt.Testing;
using Mutt.Core.Events;
using Mutt.Ingestor.Snmp;
using Mutt.Tests.Infrastructure;
using Mutt.Tests.Integration;

namespace Mutt.Tests.Deployment;

/// <summary>
/// The shipped collector configs (deploy/rsyslog/*.conf, deploy/snmptrapd/snmptrapd.conf) run in the
/// real daemons, pointed at a running Ingestor on high ports, while logger and snmptrap feed them.
/// The default rsyslog file (99-mutt.conf, omrelp) is run end to end by RelpListenerTests.
/// </summary>
[Collection(InfrastructureCollection.Name)]
[Trait("Category", "Integration")]
public sealed partial class CollectorConfigTests(InfrastructureFixture infrastructure) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mutt-collector-").FullName;

    private static string Deploy(string path) => Path.Combine(ServiceProcess.FindRepositoryRoot(), "deploy", path);

    /// <summary>A shipped rsyslog file with only target and port changed, plus a UDP input to feed it and a private work directory.</summary>
    private string RsyslogConfig(int ingestorPort, int inputPort, string file = "99-mutt-tcp.conf")
    {
        var adapted = RsyslogDaemon.ShippedForwarding(file, 5514, ingestorPort);
        Directory.CreateDirectory(Path.Combine(_dir, "work"));
        var path = Path.Combine(_dir, "rsyslog.conf");
        File.WriteAllText(path, $"""
            global(workDirectory="{Path.Combine(_dir, "work")}")
            module(load="imudp")
            input(type="imudp" address="127.0.0.1" port="{inputPort}")
            {adapted}
            """);
        return path;
    }

    [Fact]
    public void Default_rsyslog_config_forwards_over_relp()
    {
        // The file operators install by default is the acknowledged path; plain TCP is the named alternative.
        var shipped = File.ReadAllText(Deploy("rsyslog/99-mutt.conf"));
        Assert.Contains("action(type=\"omrelp\"", shipped);
        Assert.DoesNotContain("omfwd", shipped);
        Assert.Contains("queue.saveOnShutdown=\"on\"", shipped);
        Assert.Contains("action(type=\"omfwd\"", File.ReadAllText(Deploy("rsyslog/99-mutt-tcp.conf")));
    }

    [Theory]
    [InlineData("99-mutt.conf", 2514)]
    [InlineData("99-mutt-tcp.conf", 5514)]
    [InlineData("99-mutt-tls.conf", 6514)]
    public async Task Shipped_rsyslog_forwarding_configs_validate(string file, int port)
    {
        var shipped = File.ReadAllText(Deploy("rsyslog/" + file));
        var config = Path.Combine(_dir, "rsyslog.conf");
        Directory.CreateDirectory(Path.Combine(_dir, "work"));
        File.WriteAllText(config, $"""
            global(workDirectory="{Path.Combine(_dir, "work")}")
            {shipped.Replace("mutt-ingestor.example.com", "127.0.0.1")}
            """);
        Assert.Contains($"port=\"{port}\"", shipped);
        await NativeProcess.RunAsync("rsyslogd", ["-N1", "-f", config], TimeSpan.FromSeconds(30)); // throws on a non-zero exit
    }

    [Fact]
    public async Task Shipped_rsyslog_config_validates()
    {
        var config = RsyslogConfig(5514, 5515);
        await NativeProcess.RunAsync("rsyslogd", ["-N1", "-f", config], TimeSpan.FromSeconds(30)); // throws on a non-zero exit

        // The check has teeth: the same file with a bad framing value is refused.
        File.WriteAllText(config, File.ReadAllText(config).Replace("octet-counted", "octet-bogus"));
        await Assert.ThrowsAsync<InvalidOperationException>(() => NativeProcess.RunAsync("rsyslogd", ["-N1", "-f", config], TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Rsyslog_forwards_over_tcp_octet_counted_into_mutt()
    {
        await using var host = await IngestorTestHost.StartAsync(infrastructure);
        var inputPort = NativeProcess.FreeUdpPort();
        var config = RsyslogConfig(host.SyslogPort, inputPort);
        await using var rsyslog = ServiceProcess.StartExecutable("rsyslogd", "rsyslogd", ["-n", "-f", config, "-i", Path.Combine(_dir, "rsyslogd.pid")]);
        var text = $"multi\nline message from rsyslog {Guid.NewGuid():N}";
        // rsyslog needs a moment to open its input; resend until the first message arrives.
        await Eventually.WaitForAsync(async () =>
        {
            if (await host.QueueLengthAsync() > 0)
            {
                return true;
            }
            await NativeProcess.RunAsync("logger", ["--server", "127.0.0.1", "--port", inputPort.ToString(), "--udp", "--rfc5424",
                "-t", "relayed", "-p", "daemon.warning", "--sd-id", "origin@32473", "--sd-param", "site=\"lon1\"", text], TimeSpan.FromSeconds(10));
            return await host.QueueLengthAsync() > 0;
        }, TimeSpan.FromSeconds(45), "a message relayed by rsyslogd");

        var evt = (await host.QueueItemsAsync())[0].Deserialize(MuttJsonContext.Default.MuttEvent)!;
        Assert.Equal(text.Replace("\n", "#012"), evt.Message); // rsyslog escapes control characters on input
        Assert.Equal(4, evt.SyslogSeverity);
        Assert.Equal("syslog", evt.Source);
        Assert.Equal(Environment.MachineName, evt.Hostname, ignoreCase: true);
        Assert.Equal("relayed", evt.Extra!["app_name"].GetString());
        Assert.Equal(3, evt.Extra["facility"].GetInt32());
        Assert.Equal("rfc5424", evt.Extra["syslog_format"].GetString());
        Assert.Equal("tcp", evt.Extra["transport"].GetString());
        Assert.Equal("lon1", evt.Extra["structured_data"].GetProperty("origin@32473").GetProperty("site").GetString());
    }

    [Fact]
    public async Task Snmptrapd_forwards_traps_into_mutt()
    {
        await using var host = await IngestorTestHost.StartAsync(infrastructure);
        var inputPort = NativeProcess.FreeUdpPort();
        await using var snmptrapd = StartShippedSnmptrapd(forwardTo: host.SnmpPort, listenOn: inputPort);
        var marker = "relayed-" + Guid.NewGuid().ToString("N")[..8];
        await Eventually.WaitForAsync(async () =>
        {
            if (await host.QueueLengthAsync() >= 2)
            {
                return true;
            }
            await NativeProcess.RunAsync("snmptrap", ["-v", "2c", "-c", "public", $"127.0.0.1:{inputPort}", "555", "1.3.6.1.6.3.1.1.5.4",
                "1.3.6.1.2.1.2.2.1.2.3", "s", marker], TimeSpan.FromSeconds(10));
            await NativeProcess.RunAsync("snmptrap", ["-v", "1", "-c", "public", $"127.0.0.1:{inputPort}", "1.3.6.1.4.1.8072.2.3", "10.9.8.7", "6", "3", "99",
                "1.3.6.1.2.1.2.2.1.2.3", "s", marker], TimeSpan.FromSeconds(10));
            return await host.QueueLengthAsync() >= 2;
        }, TimeSpan.FromSeconds(45), "traps relayed by snmptrapd");

        var events = (await host.QueueItemsAsync()).Select(i => i.Deserialize(MuttJsonContext.Default.MuttEvent)!).ToList();
        var v2 = events.First(e => e.Extra!["snmp_version"].GetString() == "v2c");
        Assert.Equal("1.3.6.1.6.3.1.1.5.4", v2.TrapOid);
        Assert.Contains(v2.Extra!["varbinds"].EnumerateArray(), v => v.GetProperty("value").GetString() == marker);
        var v1 = events.First(e => e.Extra!["snmp_version"].GetString() == "v1");
        Assert.Equal("1.3.6.1.4.1.8072.2.3.0.3", v1.TrapOid);
        Assert.Equal("10.9.8.7", v1.Hostname);
        Assert.Contains(v1.Extra!["varbinds"].EnumerateArray(), v => v.GetProperty("value").GetString() == marker);
    }

    /// <summary>
    /// Why deploy/snmptrapd is best effort and not the durable path: snmptrapd answers an agent's
    /// inform itself, whether or not the forward reached MUTT, and forwards the inform once without
    /// waiting for a Response or retransmitting (net-snmp's forward_handler closes its session at once).
    /// </summary>
    [Fact]
    public async Task Snmptrapd_relay_acknowledges_an_inform_that_mutt_never_answered()
    {
        // A receiver that never answers stands in for an Ingestor whose Redis is down (it stays silent too).
        using var silent = new System.Net.Sockets.UdpClient(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        var silentPort = ((System.Net.IPEndPoint)silent.Client.LocalEndPoint!).Port;
        var inputPort = NativeProcess.FreeUdpPort();
        await using var snmptrapd = StartShippedSnmptrapd(forwardTo: silentPort, listenOn: inputPort);
        // snmpinform exits 0 only when a Response arrives: snmptrapd gives it one (retries cover its start-up).
        await NativeProcess.RunAsync("snmpinform", ["-v", "2c", "-c", "public", "-r", "10", "-t", "1", $"127.0.0.1:{inputPort}", "1",
            "1.3.6.1.4.1.8072.2.3.0.1", "1.3.6.1.4.1.8072.2.3.2.1", "s", "relayed-inform"], TimeSpan.FromSeconds(30));

        // The forward went out as an inform, once: no Response came back and snmptrapd did not retransmit.
        var forwarded = new List<SnmpTrap>();
        using var quiet = new CancellationTokenSource(TimeSpan.FromSeconds(4));
        try
        {
            while (true)
            {
                var datagram = await silent.ReceiveAsync(quiet.Token);
                forwarded.Add(SnmpDecoder.Decode(datagram.Buffer));
            }
        }
        catch (OperationCanceledException)
        {
        }
        var inform = Assert.Single(forwarded);
        Assert.Equal("inform", inform.PduType);
        Assert.Equal("1.3.6.1.4.1.8072.2.3.0.1", inform.TrapOid);
    }

    /// <summary>Real snmptrapd with the shipped deploy/snmptrapd/snmptrapd.conf, its forward target rewritten to a local port.</summary>
    private ServiceProcess StartShippedSnmptrapd(int forwardTo, int listenOn)
    {
        var config = Path.Combine(_dir, "snmptrapd.conf");
        File.WriteAllText(config, File.ReadAllText(Deploy("snmptrapd/snmptrapd.conf")).Replace("udp:mutt-ingestor.example.com:1162", $"udp:127.0.0.1:{forwardTo}"));
        Assert.Contains($"udp:127.0.0.1:{forwardTo}", File.ReadAllText(config));
        return ServiceProcess.StartExecutable("snmptrapd", "snmptrapd",
            ["-f", "-Lo", "-C", "-c", config, "-p", Path.Combine(_dir, "snmptrapd.pid"), $"udp:127.0.0.1:{listenOn}"],
            new Dictionary<string, string?> { ["SNMP_PERSISTENT_DIR"] = Path.Combine(_dir, "snmp") });
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
