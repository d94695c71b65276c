using System.Net.Sockets;
using System.Text.Json;
using Mutt.Testing;
using Mutt.Core.Events;
using Mutt.Tests.Infrastructure;

namespace Mutt.Tests.Integration;

/// <summary>net-snmp's snmptrap and snmpinform against the running Ingestor's SNMP listener.</summary>
[Collection(InfrastructureCollection.Name)]
[Trait("Category", "Integration")]
public sealed class SnmpListenerTests(InfrastructureFixture infrastructure)
{
    [Fact]
    public async Task V1_trap_arrives_with_rfc3584_oid_agent_and_varbinds()
    {
        await using var host = await IngestorTestHost.StartAsync(infrastructure);
        await NativeProcess.RunAsync("snmptrap", ["-v", "1", "-c", "public", $"127.0.0.1:{host.SnmpPort}",
            "1.3.6.1.4.1.8072.2.3", "10.1.2.3", "6", "17", "12345",
            "1.3.6.1.2.1.2.2.1.1.2", "i", "2", "1.3.6.1.2.1.2.2.1.2.2", "s", "eth0 down"], TimeSpan.FromSeconds(20));

        var evt = Assert.Single(await host.WaitForItemsAsync(1, "the v1 trap")).Deserialize(MuttJsonContext.Default.MuttEvent)!;
        Assert.Equal("snmp", evt.Source);
        Assert.Equal("1.3.6.1.4.1.8072.2.3.0.17", evt.TrapOid);
        Assert.Equal("10.1.2.3", evt.Hostname);
        Assert.Equal("v1", evt.Extra!["snmp_version"].GetString());
        Assert.Equal(12345, evt.Extra["uptime"].GetInt64());
        Assert.Equal("127.0.0.1", evt.Extra["sender"].GetString());
        var varbinds = evt.Extra["varbinds"].EnumerateArray().Select(v => (v.GetProperty("oid").GetString(), v.GetProperty("type").GetString(), v.GetProperty("value").GetString())).ToList();
        Assert.Equal([("1.3.6.1.2.1.2.2.1.1.2", "Integer32", "2"), ("1.3.6.1.2.1.2.2.1.2.2", "OctetString", "eth0 down")], varbinds);
        Assert.DoesNotContain("public", (await host.Redis.ListRangeAsync(host.QueueName))[0].ToString());
    }

    [Fact]
    public async Task V2c_trap_arrives_with_snmpTrapOID_uptime_and_typed_varbinds()
    {
        await using var host = await IngestorTestHost.StartAsync(infrastructure);
        await NativeProcess.RunAsync("snmptrap", ["-v", "2c", "-c", "public", $"127.0.0.1:{host.SnmpPort}", "4242", "1.3.6.1.6.3.1.1.5.3",
            "1.3.6.1.2.1.2.2.1.2.2", "s", "GigabitEthernet0/1", "1.3.6.1.2.1.4.20.1.1.10.0.0.1", "a", "10.0.0.1",
            "1.3.6.1.2.1.2.2.1.10.2", "c", "4294967295", "1.3.6.1.2.1.1.2.0", "o", "1.3.6.1.4.1.9.1.1"], TimeSpan.FromSeconds(20));

        var evt = Assert.Single(await host.WaitForItemsAsync(1, "the v2c trap")).Deserialize(MuttJsonContext.Default.MuttEvent)!;
        Assert.Equal("1.3.6.1.6.3.1.1.5.3", evt.TrapOid);
        Assert.Equal("127.0.0.1", evt.Hostname);
        Assert.Equal(4242, evt.Extra!["uptime"].GetInt64());
        var varbinds = evt.Extra["varbinds"].EnumerateArray().ToDictionary(v => v.GetProperty("oid").GetString()!, v => (v.GetProperty("type").GetString(), v.GetProperty("value").GetString()));
        Assert.Equal(("OctetString", "GigabitEthernet0/1"), varbinds["1.3.6.1.2.1.2.2.1.2.2"]);
        Assert.Equal(("IpAddress", "10.0.0.1"), varbinds["1.3.6.1.2.1.4.20.1.1.10.0.0.1"]);
        Assert.Equal(("Counter32", "4294967295"), varbinds["1.3.6.1.2.1.2.2.1.10.2"]);
        Assert.Equal(("ObjectIdentifier", "1.3.6.1.4.1.9.1.1"), varbinds["1.3.6.1.2.1.1.2.0"]);
    }

    [Fact]
    public async Task Inform_is_acknowledged_and_enqueued()
    {
        await using var host = await IngestorTestHost.StartAsync(infrastructure);
        // snmpinform exits non-zero ("Timeout") unless it receives the Response PDU.
        await NativeProcess.RunAsync("snmpinform", ["-v", "2c", "-c", "public", "-r", "2", "-t", "3", $"127.0.0.1:{host.SnmpPort}", "777",
            "1.3.6.1.4.1.8072.2.3.0.1", "1.3.6.1.4.1.8072.2.3.2.1", "i", "5"], TimeSpan.FromSeconds(30));

        var items = await host.WaitForItemsAsync(1, "the inform");
        var evt = items[0].Deserialize(MuttJsonContext.Default.MuttEvent)!;
        Assert.Equal("1.3.6.1.4.1.8072.2.3.0.1", evt.TrapOid);
        Assert.Equal("inform", evt.Extra!["pdu_type"].GetString());
    }

    [Fact]
    public async Task Inform_is_not_answered_while_redis_is_down_and_is_answered_once_it_is_stored()
    {
        var (started, stopped) = await IngestorTestHost.StartWithRedisDownAsync(infrastructure, "inform-redis");
        await using var host = started;
        await using var redisDown = stopped;
        // snmpinform exits non-zero ("Timeout") when no Response PDU arrives: the Ingestor must stay silent.
        await Assert.ThrowsAsync<InvalidOperationException>(() => NativeProcess.RunAsync("snmpinform", ["-v", "2c", "-c", "public", "-r", "1", "-t", "2",
            $"127.0.0.1:{host.SnmpPort}", "1", "1.3.6.1.4.1.8072.2.3.0.1", "1.3.6.1.4.1.8072.2.3.2.1", "s", "while-down"], TimeSpan.FromSeconds(30)));
        await Eventually.WaitForAsync(async () => (await host.MetricsAsync()).Contains("mutt_snmp_dropped_total{reason=\"redis_unavailable\"}"),
            TimeSpan.FromSeconds(30), "the unanswered inform to be counted");

        var redis = await stopped.StartAgainAsync();
        using var client = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        // With Redis back the inform is answered (exit 0), and it is already in the queue when the answer arrives: read
        // once, no polling, because the Response is sent only after the LPUSH returned.
        await NativeProcess.RunAsync("snmpinform", ["-v", "2c", "-c", "public", "-r", "10", "-t", "2", $"127.0.0.1:{host.SnmpPort}", "2",
            "1.3.6.1.4.1.8072.2.3.0.1", "1.3.6.1.4.1.8072.2.3.2.1", "s", "after-recovery"], TimeSpan.FromSeconds(60));
        var items = (await client.GetDatabase().ListRangeAsync(host.QueueName)).Select(v => (string)v!).ToList();
        // More than one copy when the agent retransmitted before the first Response reached it (e.g. while the
        // Ingestor reconnected): at-least-once, and every copy carries the one id derived from the datagram.
        var stored = items.Where(i => i.Contains("after-recovery")).ToList();
        Assert.NotEmpty(stored);
        var ids = stored.Select(i => JsonDocument.Parse(i).RootElement.GetProperty("correlation_id").GetString()).Distinct().ToList();
        Assert.StartsWith("snmp-", Assert.Single(ids));
    }

    [Fact]
    public async Task Wrong_community_and_garbage_are_counted_and_dropped()
    {
        await using var host = await IngestorTestHost.StartAsync(infrastructure, new Dictionary<string, string?> { ["SNMP_COMMUNITIES"] = "s3cret,other" });
        await NativeProcess.RunAsync("snmptrap", ["-v", "2c", "-c", "public", $"127.0.0.1:{host.SnmpPort}", "1", "1.3.6.1.6.3.1.1.5.1"], TimeSpan.FromSeconds(20));
        using (var udp = new UdpClient())
        {
            await udp.SendAsync(new byte[] { 0xde, 0xad, 0xbe, 0xef }, "127.0.0.1", host.SnmpPort);
        }
        await Eventually.WaitForAsync(async () =>
        {
            var metrics = await host.MetricsAsync();
            return metrics.Contains("reason=\"community\"") && metrics.Contains("mutt_snmp_decode_errors_total 1");
        }, TimeSpan.FromSeconds(30), "the drops to be counted");

        // An allowed community still gets through afterwards, and it was the only thing enqueued.
        await NativeProcess.RunAsync("snmptrap", ["-v", "2c", "-c", "s3cret", $"127.0.0.1:{host.SnmpPort}", "1", "1.3.6.1.6.3.1.1.5.1"], TimeSpan.FromSeconds(20));
        var items = await host.WaitForItemsAsync(1, "the allowed trap");
        Assert.Single(items);
        Assert.DoesNotContain(host.Output, line => line.Contains("s3cret") || line.Contains("public"));
    }
}
