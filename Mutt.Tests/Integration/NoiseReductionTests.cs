using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Mutt.Core.Configuration;
using Mutt.Core.Events;
using Mutt.Core.Noise;
using Mutt.Core.Redis;
using Mutt.Core.Rules;
using Mutt.Tests.Infrastructure;
using Npgsql;
using StackExchange.Redis;
using static Mutt.Tests.Integration.AlerterTestData;

namespace Mutt.Tests.Integration;

/// <summary>
/// Issue 15's "done when" cases against real Redis and PostgreSQL with TWO Alerters (in-process hosts
/// with the service's own DI), a real Forwarder and the Moogsoft sink as child processes.
/// </summary>
[Collection(InfrastructureCollection.Name)]
[Trait("Category", "Integration")]
public sealed class NoiseReductionTests(InfrastructureFixture infra)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);
    private const string LinkDownOid = "1.3.6.1.6.3.1.1.5.3";
    private IDatabase Redis => infra.Multiplexer.GetDatabase();

    private async Task<string> FreshAsync()
    {
        await FlushRedisAsync(infra.RedisConnectionString);
        return await infra.CreateDatabaseAsync();
    }

    private Task<AlerterTestHost> AlerterAsync(string db, string pod) =>
        AlerterTestHost.StartAsync(infra.RedisConnectionString, db, pod, new Dictionary<string, string?> { ["ALERTER_FLAPPING_SWEEP_INTERVAL_MS"] = "200" });

    private static string Trap(string id, string host = "10.1.1.1") => JsonSerializer.Serialize(new MuttEvent
    {
        Timestamp = DateTime.UtcNow.ToString("O"),
        ReceivedAt = DateTimeOffset.UtcNow,
        Message = $"SNMP trap {LinkDownOid} from {host} 1.3.6.1.2.1.2.2.1.1.3=3",
        Hostname = host,
        Source = "snmp",
        TrapOid = LinkDownOid,
        CorrelationId = id,
    }, MuttJsonContext.Default.MuttEvent);

    private static string Syslog(string id, string message, string host) => JsonSerializer.Serialize(new MuttEvent
    {
        Timestamp = DateTime.UtcNow.ToString("O"),
        ReceivedAt = DateTimeOffset.UtcNow,
        Message = message,
        Hostname = host,
        Source = "syslog",
        SyslogSeverity = 3,
        CorrelationId = id,
    }, MuttJsonContext.Default.MuttEvent);

    private static async Task<Dictionary<string, long>> DecisionsAsync(string db, string? host = null)
    {
        await using var connection = new NpgsqlConnection(db);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT handling_decision, count(*) FROM event_audit_log WHERE $1::text IS NULL OR hostname = $1 GROUP BY 1", connection)
        {
            Parameters = { new() { Value = (object?)host ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text } },
        };
        var result = new Dictionary<string, long>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            result[reader.GetString(0)] = reader.GetInt64(1);
        }
        return result;
    }

    /// <summary>Both Alerters idle with nothing in flight and the Forwarder done: what the sink has now is final.</summary>
    private async Task DrainedAsync() => await Eventually.WaitForAsync(async () =>
        await Redis.ListLengthAsync(MuttKeys.IngestQueue) == 0 && await Redis.ListLengthAsync(MuttKeys.AlertQueue) == 0
        && (await Task.WhenAll(new[] { "alerter-n1", "alerter-n2", "moog-n1" }.Select(p => Redis.ListLengthAsync(
            p.StartsWith("moog", StringComparison.Ordinal) ? $"{MuttKeys.MoogProcessingPrefix}:{p}" : $"{MuttKeys.AlerterProcessingPrefix}:{p}")))).All(n => n == 0),
        Deadline, "queues and processing lists empty");

    [Fact]
    public async Task Ten_thousand_identical_traps_with_two_alerters_make_one_moogsoft_event_and_9999_deduplicated_audit_rows()
    {
        var db = await FreshAsync();
        await InsertRuleAsync(db, MatchTypes.OidPrefix, "", 10, Handling.TicketOnly, Handling.LogOnly, "NETO", oid: LinkDownOid);
        await new DynamicConfig(infra.Multiplexer).SetAsync(DynamicConfigKeys.DedupWindowSeconds, "600");
        await using var stack = new ForwarderTestHost(infra.RedisConnectionString);
        await stack.StartSinkAsync();
        await stack.StartForwarderAsync("moog-n1");
        await using var a = await AlerterAsync(db, "alerter-n1");
        await using var b = await AlerterAsync(db, "alerter-n2");

        // Pushed in chunks while both Alerters consume, so both take batches of the same stream.
        await PushAsync(Redis, MuttKeys.IngestQueue, Enumerable.Range(0, 10_000).Select(i => Trap($"trap-{i}")));

        await Eventually.WaitForAsync(() => ScalarAsync(db, "SELECT count(*) FROM event_audit_log"), n => n == 10_000, Deadline, "10,000 audit rows");
        await DrainedAsync();
        var decisions = await DecisionsAsync(db);
        Assert.Equal(9_999, decisions[Handling.Deduplicated]);
        Assert.Equal(1, decisions[Handling.TicketOnly]);
        Assert.Equal(1, await ScalarAsync(db, "SELECT count(*) FROM event_audit_log WHERE forwarded_to_moog"));
        // Each repeat carries its number in the window: 1..9,999, none twice (no replay happened).
        Assert.Equal(9_999, await ScalarAsync(db, "SELECT count(DISTINCT decision_count) FROM event_audit_log WHERE handling_decision = 'Deduplicated'"));
        Assert.Equal(9_999, await ScalarAsync(db, "SELECT max(decision_count) FROM event_audit_log WHERE handling_decision = 'Deduplicated'"));
        var sink = await Eventually.WaitForAsync(() => stack.EventsAsync(), e => e.Length >= 1, Deadline, "the one Moogsoft event");
        Assert.Single(sink);
        Assert.True(a.State.Consuming && b.State.Consuming);
        // The repeats wait in Redis for the next forward of the same trap (the next window's first).
        var hash = NoiseKeys.DedupHash("10.1.1.1", $"SNMP trap {LinkDownOid} from 10.1.1.1 1.3.6.1.2.1.2.2.1.1.3=3", LinkDownOid);
        Assert.Equal(9_999, (long)await Redis.StringGetAsync(NoiseKeys.DedupRepeats(hash)));
    }

    [Fact]
    public async Task The_first_event_of_the_next_window_carries_the_repeat_count_to_moogsoft()
    {
        var db = await FreshAsync();
        await InsertRuleAsync(db, MatchTypes.Contains, "FAN-FAIL", 10, Handling.TicketOnly, Handling.LogOnly, "FAC");
        await AlerterTestData.ExecuteAsync(db, "UPDATE alert_rules SET dedup_window_seconds = 2"); // the rule's window wins over the global default (off)
        await using var stack = new ForwarderTestHost(infra.RedisConnectionString);
        await stack.StartSinkAsync();
        await stack.StartForwarderAsync("moog-n1");
        await using var a = await AlerterAsync(db, "alerter-n1");
        await using var b = await AlerterAsync(db, "alerter-n2");

        await PushAsync(Redis, MuttKeys.IngestQueue, Enumerable.Range(0, 5).Select(i => Syslog($"fan-{i}", "FAN-FAIL tray 2", "core-r7")));
        await Eventually.WaitForAsync(() => ScalarAsync(db, "SELECT count(*) FROM event_audit_log"), n => n == 5, Deadline, "5 audit rows");
        var hash = NoiseKeys.DedupHash("core-r7", "FAN-FAIL tray 2", null);
        await Eventually.WaitForAsync(async () => !await Redis.KeyExistsAsync(NoiseKeys.DedupWindow(hash)), Deadline, "the 2 s window to close");

        await PushAsync(Redis, MuttKeys.IngestQueue, [Syslog("fan-next", "FAN-FAIL   tray 2 ", "core-r7")]);
        var sink = await Eventually.WaitForAsync(() => stack.EventsAsync(), e => e.Length == 2, Deadline, "two Moogsoft events");
        var next = sink.Single(e => e.GetProperty("external_id").GetString() == "fan-next");
        Assert.Equal(4, next.GetProperty("custom_info").GetProperty("repeat_count").GetInt64());
        Assert.False(sink.Single(e => e.GetProperty("external_id").GetString() != "fan-next").GetProperty("custom_info").TryGetProperty("repeat_count", out _));
        Assert.Equal(4, (await DecisionsAsync(db))[Handling.Deduplicated]);
    }

    [Fact]
    public async Task Twenty_link_transitions_page_once_as_flapping_and_a_restarted_alerter_sends_the_clear_when_quiet()
    {
        var db = await FreshAsync();
        await InsertRuleAsync(db, MatchTypes.Contains, "LINK-", 10, Handling.PageAndTicket, Handling.LogOnly, "NETO");
        await AlerterTestData.ExecuteAsync(db, """
            INSERT INTO correlation_rules (name, open_pattern, close_pattern, window_seconds, threshold, team_assignment)
            VALUES ('link flap', 'LINK-DOWN', 'LINK-UP', 10, 3, 'NETO')
            """);
        await using var stack = new ForwarderTestHost(infra.RedisConnectionString);
        await stack.StartSinkAsync();
        await stack.StartForwarderAsync("moog-n1");
        var a = await AlerterAsync(db, "alerter-n1");
        var b = await AlerterAsync(db, "alerter-n2");
        try
        {
            // 20 transitions, one by one, so both Alerters take some, well within the 10 s window (a
            // loaded machine can stall the sender or the Alerters for seconds: a shorter window then
            // slides and lets a third transition through before the threshold).
            for (var i = 0; i < 20; i++)
            {
                await PushAsync(Redis, MuttKeys.IngestQueue, [Syslog($"flap-{i}", $"%LINK-3-UPDOWN: {(i % 2 == 0 ? "LINK-DOWN" : "LINK-UP")} Interface Gi0/3", "core-r2")]);
                await Task.Delay(50); // pacing the sender, not waiting for an outcome
            }
            await Eventually.WaitForAsync(() => ScalarAsync(db, "SELECT count(*) FROM event_audit_log"), n => n == 20, Deadline, "20 audit rows");
        }
        finally
        {
            // Both Alerters stop before the interface goes quiet: the clear must come from Redis state alone.
            await a.DisposeAsync();
            await b.DisposeAsync();
        }
        var decisions = await DecisionsAsync(db);
        Assert.True(decisions[Handling.Flapping] >= 17, $"most transitions audited Flapping: {string.Join(", ", decisions)}");
        Assert.Equal(20, decisions.Values.Sum());
        Assert.Equal(1, await ScalarAsync(db, "SELECT count(*) FROM event_audit_log WHERE handling_decision = 'Flapping' AND forwarded_to_moog"));
        Assert.Equal(1, await ScalarAsync(db, "SELECT count(DISTINCT correlation_rule_id) FROM event_audit_log WHERE handling_decision = 'Flapping'"));

        // Delivery to Moogsoft is at-least-once (a request that timed out under load is sent again):
        // what reached the sink is counted once per event, by its external_id and severity (a
        // Flapping page and its clear share the episode's id; the clear has severity 0).
        async Task<List<JsonElement>> DeliveredAsync() => (await stack.EventsAsync())
            .DistinctBy(x => (x.GetProperty("external_id").GetString(), x.GetProperty("severity").GetInt32())).ToList();
        var flapping = await Eventually.WaitForAsync(DeliveredAsync, e => e.Any(x => x.GetProperty("type").GetString() == "MUTT_FLAPPING"), Deadline, "the Flapping page");
        var pages = flapping.Where(x => x.GetProperty("type").GetString() == "MUTT_FLAPPING").ToList();
        var page = Assert.Single(pages);
        Assert.Equal("started", page.GetProperty("custom_info").GetProperty("flapping").GetString());
        Assert.True(page.GetProperty("custom_info").GetProperty("transition_count").GetInt64() >= 3);
        Assert.Equal("Gi0/3", page.GetProperty("custom_info").GetProperty("interface").GetString());

        // A new Alerter (another pod) sweeps the state the stopped ones left in Redis.
        await using var c = await AlerterAsync(db, "alerter-n3");
        var all = await Eventually.WaitForAsync(DeliveredAsync,
            e => e.Count(x => x.GetProperty("type").GetString() == "MUTT_FLAPPING") == 2, Deadline, "the clear after 10 s of quiet");
        var clear = all.Where(x => x.GetProperty("type").GetString() == "MUTT_FLAPPING").Single(x => x.GetProperty("custom_info").GetProperty("flapping").GetString() == "cleared");
        Assert.Equal(0, clear.GetProperty("severity").GetInt32());
        Assert.Equal(page.GetProperty("signature").GetString(), clear.GetProperty("signature").GetString());
        Assert.Equal(0, await Redis.SortedSetLengthAsync(NoiseKeys.FlappingActive));
        Assert.False(await Redis.KeyExistsAsync(NoiseKeys.FlappingState(1, "core-r2", "Gi0/3")));
        // Pages for core-r2: at most the two transitions before the threshold, the Flapping page and its clear.
        Assert.InRange(all.Count(x => x.GetProperty("source").GetString() == "core-r2"), 3, 4);
    }

    [Fact]
    public async Task Events_in_a_maintenance_window_made_through_the_api_are_audited_with_its_id_and_never_reach_the_sink()
    {
        var db = await FreshAsync();
        await InsertRuleAsync(db, MatchTypes.Contains, "BGP-DOWN", 10, Handling.PageAndTicket, Handling.LogOnly, "NETO");
        const string apiKey = "noise-test-key-0123456789";
        await using var dashboard = new DashboardApiFactory(infra.RedisConnectionString, db, apiKey);
        using var api = dashboard.CreateClient();
        api.DefaultRequestHeaders.Add("X-API-KEY", apiKey);
        await using var stack = new ForwarderTestHost(infra.RedisConnectionString);
        await stack.StartSinkAsync();
        await stack.StartForwarderAsync("moog-n1");
        await using var a = await AlerterAsync(db, "alerter-n1");
        await using var b = await AlerterAsync(db, "alerter-n2");

        var invalid = await api.PostAsJsonAsync("/api/v2/maintenance-windows", new { hosts = new[] { "edge 1" }, ends_at = DateTimeOffset.UtcNow.AddMinutes(-1) });
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        var problem = await invalid.Content.ReadFromJsonAsync<JsonObject>();
        Assert.NotNull(problem!["errors"]!["hosts"]);
        Assert.NotNull(problem["errors"]!["ends_at"]);
        Assert.NotNull(problem["errors"]!["reason"]);

        var created = await api.PostAsJsonAsync("/api/v2/maintenance-windows",
            new { hosts = new[] { "edge-*" }, ends_at = DateTimeOffset.UtcNow.AddHours(1), reason = "CHG-42 line card swap" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var window = (await created.Content.ReadFromJsonAsync<MaintenanceWindow>())!;
        Assert.Equal("/api/v2/maintenance-windows/" + window.Id, created.Headers.Location!.ToString());
        Assert.Equal(window.Id, (await api.GetFromJsonAsync<MaintenanceWindow>($"/api/v1/maintenance-windows/{window.Id}"))!.Id);
        Assert.Equal(1, await ScalarAsync(db, $"SELECT count(*) FROM config_audit_log WHERE table_name = 'maintenance_windows' AND operation = 'CREATE' AND record_id = '{window.Id}' AND reason = 'CHG-42 line card swap'"));

        // The publish on mutt:config:updates reloads both Alerters' caches at once; poll until both suppress.
        var n = 0;
        await Eventually.WaitForAsync(async () =>
        {
            await PushAsync(Redis, MuttKeys.IngestQueue, [Syslog($"probe-{n++}", "BGP-DOWN neighbor 10.0.0.2", "edge-1")]);
            return await ScalarAsync(db, "SELECT count(*) FROM event_audit_log WHERE handling_decision = 'Suppressed_maintenance'");
        }, c => c > 0, Deadline, "the window to reach the Alerters");
        await PushAsync(Redis, MuttKeys.IngestQueue, Enumerable.Range(0, 200).Select(i => Syslog($"maint-{i}", "BGP-DOWN neighbor 10.0.0.2", $"edge-{i % 5}")));
        await Eventually.WaitForAsync(() => ScalarAsync(db, "SELECT count(*) FROM event_audit_log WHERE correlation_id LIKE 'maint-%'"), c => c == 200, Deadline, "200 audit rows");
        await DrainedAsync();

        Assert.Equal(200, await ScalarAsync(db, $"SELECT count(*) FROM event_audit_log WHERE correlation_id LIKE 'maint-%' AND handling_decision = 'Suppressed_maintenance' AND maintenance_window_id = {window.Id} AND NOT forwarded_to_moog AND matched_rule_id = 1"));
        var probes = await ScalarAsync(db, "SELECT count(*) FROM event_audit_log WHERE correlation_id LIKE 'probe-%' AND forwarded_to_moog");
        Assert.Equal(probes, (await stack.EventsAsync()).Length); // only probes sent before the reload can have been forwarded
        Assert.DoesNotContain(await stack.EventsAsync(), e => e.GetProperty("external_id").GetString()!.StartsWith("maint-", StringComparison.Ordinal));
        var page = await api.GetFromJsonAsync<JsonObject>("/api/v2/audit-logs?decision=Suppressed_maintenance&page_size=5");
        Assert.Equal(window.Id, (int)page!["items"]![0]!["maintenance_window_id"]!);
        Assert.Empty(infra.Multiplexer.GetServer(infra.Multiplexer.GetEndPoints()[0]).Keys(0, "mutt:dedup:*"));

        // Ending it: audited, and the next event is forwarded again; no state is left anywhere.
        var ended = await api.PostAsync($"/api/v2/maintenance-windows/{window.Id}/end", null);
        Assert.Equal(HttpStatusCode.OK, ended.StatusCode);
        Assert.Equal(1, await ScalarAsync(db, $"SELECT count(*) FROM config_audit_log WHERE table_name = 'maintenance_windows' AND operation = 'UPDATE' AND record_id = '{window.Id}'"));
        Assert.Equal(HttpStatusCode.BadRequest, (await api.PostAsync($"/api/v2/maintenance-windows/{window.Id}/end", null)).StatusCode);
        await Eventually.WaitForAsync(async () =>
        {
            await PushAsync(Redis, MuttKeys.IngestQueue, [Syslog($"after-{n++}", "BGP-DOWN neighbor 10.0.0.2", "edge-1")]);
            return (await stack.EventsAsync()).Count(e => e.GetProperty("external_id").GetString()!.StartsWith("after-", StringComparison.Ordinal));
        }, c => c > 0, Deadline, "events forwarded again after the window ended");
    }
}
