using Mutt.Core.Configuration;
using Mutt.Core.Rules;
using Mutt.Tests.Infrastructure;
using StackExchange.Redis;
using static Mutt.Tests.Integration.AlerterTestData;

namespace Mutt.Tests.Integration;

[Collection(InfrastructureCollection.Name)]
[Trait("Category", "Integration")]
public sealed class AlerterTests(InfrastructureFixture infra)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    private IDatabase Redis => infra.Multiplexer.GetDatabase();

    private async Task<string> FreshAsync()
    {
        await FlushRedisAsync(infra.RedisConnectionString);
        return await infra.CreateDatabaseAsync();
    }

    private static Task<long> AuditCountAsync(string db) => ScalarAsync(db, "SELECT count(*) FROM event_audit_log");

    [Fact]
    public async Task Batch_is_matched_audited_alerted_and_acked()
    {
        var db = await FreshAsync();
        await InsertRuleAsync(db, MatchTypes.Contains, "LINK-DOWN", 10, Handling.PageAndTicket, Handling.Suppress, "NETO");
        await InsertRuleAsync(db, MatchTypes.Regex, "^NOISE-\\d+", 20, Handling.LogOnly, Handling.LogOnly, "NETO");
        await InsertRuleAsync(db, MatchTypes.OidPrefix, "", 30, Handling.TicketOnly, Handling.TicketOnly, "TRAPS", oid: "1.3.6.1.4.1.9");
        await ExecuteAsync(db, "INSERT INTO development_hosts (hostname) VALUES ('lab-1'); INSERT INTO device_teams (hostname, team_assignment) VALUES ('fw-1', 'SECOPS')");
        await using var alerter = await AlerterTestHost.StartAsync(infra.RedisConnectionString, db, "alerter-it-1");

        await PushAsync(Redis, "mutt:ingest_queue",
        [
            Event("e1", "%LINK-DOWN Gi0/1", "core-r1"),
            Event("e2", "%LINK-DOWN Gi0/2", "lab-1"),
            Event("e3", "%LINK-DOWN Gi0/3", "fw-1"),
            Event("e4", "NOISE-42 chatter", "core-r1"),
            Event("e5", "coldStart", "core-r1", oid: "1.3.6.1.4.1.9.9.41.2"),
            Event("e6", "something nobody matches", "core-r9"),
        ]);

        await Eventually.WaitForAsync(() => AuditCountAsync(db), n => n == 6, Deadline, "6 audit rows");
        await Eventually.WaitForAsync(async () => await Redis.ListLengthAsync("mutt:processing:alerter:alerter-it-1") == 0, Deadline, "batch acked");
        Assert.Equal(0, await Redis.ListLengthAsync("mutt:ingest_queue"));

        var decisions = new Dictionary<string, (string Handling, bool Forwarded, long? Rule)>();
        await using (var connection = new Npgsql.NpgsqlConnection(db))
        {
            await connection.OpenAsync();
            await using var command = new Npgsql.NpgsqlCommand("SELECT correlation_id, handling_decision, forwarded_to_moog, matched_rule_id, raw_message->>'message' FROM event_audit_log", connection);
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                decisions[reader.GetString(0)] = (reader.GetString(1), reader.GetBoolean(2), reader.IsDBNull(3) ? null : reader.GetInt32(3));
                Assert.False(reader.IsDBNull(4)); // raw message kept as jsonb
            }
        }
        Assert.Equal((Handling.PageAndTicket, true, 1L), decisions["e1"]);
        Assert.Equal((Handling.Suppress, false, 1L), decisions["e2"]);
        Assert.Equal((Handling.PageAndTicket, true, 1L), decisions["e3"]);
        Assert.Equal((Handling.LogOnly, false, 2L), decisions["e4"]);
        Assert.Equal((Handling.TicketOnly, true, 3L), decisions["e5"]);
        Assert.Equal((Handling.Unhandled, false, (long?)null), decisions["e6"]);

        var alerts = (await AlertsAsync(Redis)).ToDictionary(a => a.CorrelationId);
        Assert.Equal(["e1", "e3", "e5"], alerts.Keys.Order());
        Assert.Equal("NETO", alerts["e1"].Team);
        Assert.Equal("SECOPS", alerts["e3"].Team);
        Assert.Equal(("TRAPS", 3), (alerts["e5"].Team, alerts["e5"].RuleId!.Value));
    }

    [Fact]
    public async Task Poison_message_goes_to_dlq_with_reason()
    {
        var db = await FreshAsync();
        await using var alerter = await AlerterTestHost.StartAsync(infra.RedisConnectionString, db, "alerter-it-poison");
        await PushAsync(Redis, "mutt:ingest_queue", ["{this is not json", Event("ok-1", "fine")]);

        var dead = await Eventually.WaitForAsync(() => DeadLettersAsync(Redis), d => d.Count == 1, Deadline, "one dead letter");
        Assert.Equal("{this is not json", dead[0].Payload);
        Assert.StartsWith("poison", dead[0].Reason);
        Assert.Equal("mutt:ingest_queue", dead[0].SourceQueue);
        await Eventually.WaitForAsync(() => AuditCountAsync(db), n => n == 1, Deadline, "the good event audited");
    }

    [Fact]
    public async Task Item_that_keeps_failing_is_retried_then_dead_lettered_after_max_retries()
    {
        var db = await FreshAsync();
        await using var alerter = await AlerterTestHost.StartAsync(infra.RedisConnectionString, db, "alerter-it-retry",
            new Dictionary<string, string?> { ["ALERTER_MAX_RETRIES"] = "2" });
        // A correlation id too large for a btree index entry (PostgreSQL caps them near 2.7 kB): the
        // audit row of this event can never be written, however often it is retried. (A hostname that
        // long is refused before the audit now, with reason validation: InputLimitsTests.)
        var hugeId = "nul-1-" + string.Concat(Enumerable.Range(0, 400).Select(_ => Guid.NewGuid().ToString("N")));
        var refused = $$"""{"timestamp":"2025-06-01T12:00:00Z","message":"fine text","hostname":"core-r1","correlation_id":"{{hugeId}}"}""";
        await PushAsync(Redis, "mutt:ingest_queue", [refused, Event("ok-2", "fine")]);

        var dead = await Eventually.WaitForAsync(() => DeadLettersAsync(Redis), d => d.Count == 1, Deadline, "one dead letter");
        Assert.Equal("max_retries_exceeded", dead[0].Reason);
        Assert.Contains("nul-1", dead[0].Payload);
        Assert.Contains("\"retry_count\":2", dead[0].Payload);
        Assert.NotNull(dead[0].Error);
        await Eventually.WaitForAsync(() => AuditCountAsync(db), n => n == 1, Deadline, "the good event audited");
        Assert.Equal(0, await Redis.ListLengthAsync("mutt:ingest_queue"));
    }

    [Fact]
    public async Task Unhandled_threshold_fires_exactly_once_with_three_concurrent_alerters()
    {
        var db = await FreshAsync();
        var settings = new Dictionary<string, string?> { ["UNHANDLED_THRESHOLD"] = "10", ["ALERTER_BATCH_SIZE"] = "3" };
        await using var a = await AlerterTestHost.StartAsync(infra.RedisConnectionString, db, "alerter-u-a", settings);
        await using var b = await AlerterTestHost.StartAsync(infra.RedisConnectionString, db, "alerter-u-b", settings);
        await using var c = await AlerterTestHost.StartAsync(infra.RedisConnectionString, db, "alerter-u-c", settings);

        // A host name that needs JSON escaping: the script fills it into the meta-alert's template.
        const string Noisy = "noisy \"1\" <sw-ü>";
        var events = Enumerable.Range(0, 300).Select(i => Event($"u-{i}", $"unmatched {i}", Noisy))
            .Concat(Enumerable.Range(0, 9).Select(i => Event($"q-{i}", $"unmatched {i}", "quiet-1")))
            .ToList();
        await PushAsync(Redis, "mutt:ingest_queue", events);

        await Eventually.WaitForAsync(() => AuditCountAsync(db), n => n == events.Count, Deadline, "all events audited");
        Assert.Equal(events.Count, await ScalarAsync(db, "SELECT count(*) FROM event_audit_log WHERE handling_decision = 'unhandled'"));
        var alerts = await AlertsAsync(Redis);
        var meta = Assert.Single(alerts);
        Assert.True(meta.MetaAlert);
        Assert.Equal((Noisy, "NETO", Handling.TicketOnly), (meta.Hostname, meta.Team, meta.Handling));
        Assert.StartsWith($"meta-unhandled-{Noisy}-", meta.CorrelationId, StringComparison.Ordinal);
        Assert.Contains($"from {Noisy} within", meta.Message, StringComparison.Ordinal);
        Assert.True(await Redis.KeyExistsAsync($"mutt:unhandled:triggered:{Noisy}"));
        Assert.True(await Redis.KeyTimeToLiveAsync($"mutt:unhandled:triggered:{Noisy}") > TimeSpan.Zero);
        Assert.Equal(9, (long)await Redis.StringGetAsync("mutt:unhandled:quiet-1"));
        Assert.True(await Redis.KeyTimeToLiveAsync("mutt:unhandled:quiet-1") > TimeSpan.Zero);
    }

    [Fact]
    public async Task Rule_cache_reloads_when_a_config_update_is_published()
    {
        var db = await FreshAsync();
        await using var alerter = await AlerterTestHost.StartAsync(infra.RedisConnectionString, db, "alerter-it-reload");
        await PushAsync(Redis, "mutt:ingest_queue", [Event("before", "FAN-FAIL tray 1")]);
        await Eventually.WaitForAsync(() => ScalarAsync(db, "SELECT count(*) FROM event_audit_log WHERE correlation_id = 'before' AND handling_decision = 'unhandled'"), n => n == 1, Deadline, "unhandled before the rule");

        await InsertRuleAsync(db, MatchTypes.Contains, "FAN-FAIL", 5, Handling.TicketOnly, Handling.LogOnly, "FACILITIES");
        var probe = 0;
        await Eventually.WaitForAsync(async () =>
        {
            // Publishing is the only trigger (the interval is 300 s); repeated per probe because
            // Redis pub/sub is fire-and-forget and a message sent before a subscription settles is gone.
            await Redis.PublishAsync(RedisChannel.Literal("mutt:config:updates"), "alert_rules");
            var id = $"after-{probe++}";
            await PushAsync(Redis, "mutt:ingest_queue", [Event(id, "FAN-FAIL tray 2")]);
            await Eventually.WaitForAsync(() => ScalarAsync(db, $"SELECT count(*) FROM event_audit_log WHERE correlation_id = '{id}'"), n => n == 1, Deadline, "probe audited");
            return await ScalarAsync(db, $"SELECT count(*) FROM event_audit_log WHERE correlation_id = '{id}' AND matched_rule_id IS NOT NULL") == 1;
        }, Deadline, "an event matched by the new rule");
    }

    [Fact]
    public async Task Alert_queue_over_shed_threshold_in_dlq_mode_sheds_ingest_items_to_the_dlq()
    {
        var db = await FreshAsync();
        var config = new DynamicConfig(infra.Multiplexer);
        await config.SetAsync(DynamicConfigKeys.AlerterQueueWarnThreshold, "1");
        await config.SetAsync(DynamicConfigKeys.AlerterQueueShedThreshold, "2");
        await config.SetAsync(DynamicConfigKeys.AlerterShedMode, "dlq");
        await Redis.ListLeftPushAsync("mutt:alert_queue", ["x1", "x2", "x3"]);
        await using var alerter = await AlerterTestHost.StartAsync(infra.RedisConnectionString, db, "alerter-it-shed");
        await PushAsync(Redis, "mutt:ingest_queue", Enumerable.Range(0, 20).Select(i => Event($"s-{i}", "anything")));

        var dead = await Eventually.WaitForAsync(() => DeadLettersAsync(Redis), d => d.Count == 20, Deadline, "20 shed events");
        Assert.All(dead, d => Assert.Equal("shed", d.Reason));
        Assert.Equal(0, await AuditCountAsync(db));
    }
}
