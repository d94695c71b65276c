using Microsoft.Playwright;
using Mutt.Tests.Infrastructure;
using Mutt.Tests.Integration;

namespace Mutt.Tests.Browser;

/// <summary>
/// What every Dashboard browser test starts from: Redis cleared of MUTT's keys, its own seeded
/// database, its own Dashboard process (<see cref="DashboardProcess"/>) and its own page in the
/// collection's Chromium (<see cref="BrowserSession"/>); all of it stopped after the test.
/// </summary>
public abstract class DashboardBrowserTest(InfrastructureFixture infra, ChromiumFixture chromium, string legacyKey) : IAsyncLifetime
{
    protected InfrastructureFixture Infra => infra;
    protected DashboardProcess Dashboard { get; private set; } = null!;
    protected BrowserSession Browser { get; private set; } = null!;
    protected IPage Page => Browser.Page;

    /// <summary>The test's own database (spec 002's sample data).</summary>
    protected string Db { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await ResetRedisAsync();
        Db = await infra.CreateDatabaseAsync(seed: true);
        Dashboard = await DashboardProcess.StartAsync(infra, Db, legacyKey);
        Browser = await BrowserSession.OpenAsync(chromium, Dashboard.BaseUrl);
    }

    /// <summary>Deletes MUTT's keys; a test that runs services of its own may empty Redis instead.</summary>
    protected virtual Task ResetRedisAsync() => DashboardApiTests.ClearMuttKeysAsync(infra.Multiplexer);

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }
        if (Dashboard is not null)
        {
            await Dashboard.DisposeAsync();
        }
    }
}
