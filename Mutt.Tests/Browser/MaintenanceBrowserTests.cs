using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Mutt.Alerter.Rules;
using Mutt.Core.Events;
using Mutt.Core.Redis;
using Mutt.Testing;
using Mutt.Tests.Infrastructure;
using Mutt.Tests.Integration;
using static Mutt.Tests.Integration.AlerterTestData;

namespace Mutt.Tests.Browser;

/// <summary>
/// An operator opens a maintenance window in the Dashboard (a real Kestrel child process, Debian's
/// Chromium through Playwright); two Alerters, a Forwarder and the sink then suppress the window's events:
/// audited Suppressed_maintenance with the window id, never at the sink, and explained by the audit page and the tester.
/// </summary>
[Collection(InfrastructureCollection.Name)]
[Trait("Category", "System")]
public sealed class MaintenanceBrowserTests(InfrastructureFixture infra, ChromiumFixture chromium) : DashboardBrowserTest(infra, chromium, "maintenance-browser-key-42")
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    /// <summary>The Alerters and the Forwarder share this Redis: it starts empty.</summary>
    protected override Task ResetRedisAsync() => FlushRedisAsync(Infra.RedisConnectionString);

    private static string Event(string id, string host) => JsonSerializer.Serialize(new MuttEvent
    {
        Timestamp = DateTime.UtcNow.ToString("O"), ReceivedAt = DateTimeOffset.UtcNow, Message = "CRITICAL: LINK-DOWN on Gi0/1",
        Hostname = host, SyslogSeverity = 2, CorrelationId = id,
    }, MuttJsonContext.Default.MuttEvent);

    [Fact]
    public async Task A_window_made_in_the_dashboard_suppresses_its_hosts_events_which_are_audited_and_never_reach_the_sink()
    {
        await using var stack = new ForwarderTestHost(Infra.RedisConnectionString);
        await stack.StartSinkAsync();
        await stack.StartForwarderAsync("moog-b1");
        await using var a = await AlerterTestHost.StartAsync(Infra.RedisConnectionString, Db, "alerter-b1");
        await using var b = await AlerterTestHost.StartAsync(Infra.RedisConnectionString, Db, "alerter-b2");

        await Dashboard.CreateUserAsync("maya", "operator");
        await Browser.SignInAsync("maya", "/maintenance");
        await Page.ClickAsync("#new-window");
        await Page.FillAsync("#window-hosts", "rack7-*, spare-sw-1");
        await Page.ClickAsync("#save-window");
        await Page.Locator(".field-error[data-field=reason]").WaitForAsync(); // no reason: refused, nothing written
        await Page.FillAsync("#window-reason", "CHG-77 rack 7 power work");
        await Page.ClickAsync("#save-window");
        await Page.Locator("#windows-grid").GetByText("CHG-77 rack 7 power work").WaitForAsync(new() { State = WaitForSelectorState.Attached });
        Assert.Equal("active", (await Page.Locator("#windows-grid .window-state").First.InnerTextAsync()).Trim());
        await Browser.ShotAsync("maintenance");
        var windowId = await ScalarAsync(Db, "SELECT id FROM maintenance_windows WHERE reason = 'CHG-77 rack 7 power work'");
        Assert.Equal(1, await ScalarAsync(Db, $"SELECT count(*) FROM config_audit_log WHERE table_name = 'maintenance_windows' AND record_id = '{windowId}' AND changed_by = 'maya'"));

        // Both Alerters reload on mutt:config:updates; from then on every event of the window's hosts is suppressed
        // (one Alerter suppressing a probe would not say the other has reloaded too).
        var redis = Infra.Multiplexer.GetDatabase();
        await Eventually.WaitForAsync(() => Task.FromResult(WindowsLoaded(a, b)), loaded => loaded == 2, Deadline, "the window loaded by both Alerters");
        await PushAsync(redis, MuttKeys.IngestQueue, Enumerable.Range(0, 100).Select(i => Event($"rack-{i}", i % 2 == 0 ? $"RACK7-sw{i}" : "spare-sw-1")));
        await PushAsync(redis, MuttKeys.IngestQueue, [Event("outside-1", "core-r1")]);
        await Eventually.WaitForAsync(() => ScalarAsync(Db, "SELECT count(*) FROM event_audit_log WHERE correlation_id LIKE 'rack-%' OR correlation_id = 'outside-1'"), c => c == 101, Deadline, "101 audit rows");
        var sink = await Eventually.WaitForAsync(() => stack.EventsAsync(), e => e.Any(x => x.GetProperty("external_id").GetString() == "outside-1"), Deadline, "the event outside the window at the sink");

        Assert.Equal(100, await ScalarAsync(Db, $"SELECT count(*) FROM event_audit_log WHERE correlation_id LIKE 'rack-%' AND handling_decision = 'Suppressed_maintenance' AND maintenance_window_id = {windowId} AND NOT forwarded_to_moog"));
        Assert.DoesNotContain(sink, x => x.GetProperty("external_id").GetString()!.StartsWith("rack-", StringComparison.Ordinal));
        // The sink answers before the Forwarder acks its processing list: wait for both lists to drain.
        await Eventually.WaitForAsync(() => RedisLists.TotalLengthAsync(redis, MuttKeys.AlertQueue, "mutt:processing:moog:moog-b1"),
            n => n == 0, Deadline, "the alert queue and the Forwarder's processing list empty");

        // The audit page filters by the new decision and says which window.
        await Browser.GoAsync("/audit");
        await Page.SelectOptionAsync("#f-decision", "Suppressed_maintenance");
        await Page.ClickAsync("#search-audit");
        await Page.Locator("#audit-grid").GetByText($"window #{windowId}").First.WaitForAsync(new() { State = WaitForSelectorState.Attached });
        // The grid re-renders after the search: wait for the filtered rows (the forwarded core-r1 row leaves).
        await Eventually.WaitForAsync(() => Page.Locator("#audit-grid").GetByText("core-r1").CountAsync(), c => c == 0, Deadline,
            "only suppressed rows in the filtered audit grid");
        await Browser.ShotAsync("audit-suppressed");

        // The tester explains it.
        await Browser.GoAsync("/rule-tester");
        await Page.FillAsync("#test-message", "CRITICAL: LINK-DOWN on Gi0/1");
        await Page.FillAsync("#test-hostname", "rack7-sw9");
        await Page.ClickAsync("#run-test");
        await Page.Locator("#test-result").WaitForAsync();
        Assert.Equal("Suppressed_maintenance", (await Page.InnerTextAsync("#result-decision")).Trim());
        Assert.Contains($"#{windowId}", await Page.InnerTextAsync("#result-maintenance"));
        Assert.Equal("no", (await Page.InnerTextAsync("#result-would-forward")).Trim());
        await Browser.ShotAsync("rule-tester-maintenance");

        // Ending it in the page: the next event of those hosts is forwarded again.
        await Browser.GoAsync("/maintenance");
        await Page.ClickAsync(".end-window");
        await Page.Locator("#windows-grid").GetByText("CHG-77 rack 7 power work").WaitForAsync(new() { State = WaitForSelectorState.Detached });
        await Eventually.WaitForAsync(() => Task.FromResult(WindowsLoaded(a, b)), loaded => loaded == 0, Deadline, "the ended window dropped by both Alerters");
        await PushAsync(redis, MuttKeys.IngestQueue, [Event("after-1", "rack7-sw3")]);
        await Eventually.WaitForAsync(() => stack.EventsAsync(), e => e.Any(x => x.GetProperty("external_id").GetString() == "after-1"),
            Deadline, "rack 7 forwarded again after the window ended");
    }

    /// <summary>How many of the Alerters hold a maintenance window in their rule cache.</summary>
    private static int WindowsLoaded(params AlerterTestHost[] alerters) =>
        alerters.Count(alerter => alerter.Services.GetRequiredService<RuleCache>().Noise.Maintenance.Count > 0);
}
