using Microsoft.Playwright;
using Mutt.Testing;

namespace Mutt.Tests.Infrastructure;

/// <summary>Debian's Chromium under Playwright (no browser download, no node), and where screenshots go.</summary>
public static class Chromium
{
    /// <summary>TestResults/screenshots at the repository root.</summary>
    public static string Screenshots { get; } = Path.Combine(ChildService.RepositoryRoot, "TestResults", "screenshots");

    public static Task<IBrowser> LaunchAsync(IPlaywright playwright)
    {
        var chromium = NativeProcess.FindExecutable("chromium") ?? throw new InvalidOperationException("Debian's chromium is not on PATH (./mutt.sh setup installs it).");
        Directory.CreateDirectory(Screenshots);
        return playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
    }

    public static Task ScreenshotAsync(this IPage page, string name) =>
        page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots, name + ".png"), FullPage = true });
}

/// <summary>
/// One Chromium process for a test collection, launched when a test first asks for a page (a run of
/// the collection's other tests never starts it) and closed with the collection. Every page comes in
/// its own browser context, so cookies, storage and sign-ins never pass from one test to the next.
/// </summary>
public sealed class ChromiumFixture : IAsyncLifetime
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public Task InitializeAsync() => Task.CompletedTask;

    /// <summary>A page in a new context of the shared browser, with a 30 s default timeout.</summary>
    public async Task<IPage> NewPageAsync(int width, int height)
    {
        var browser = await BrowserAsync();
        var context = await browser.NewContextAsync(new() { ViewportSize = new() { Width = width, Height = height } });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(30_000);
        return page;
    }

    private async Task<IBrowser> BrowserAsync()
    {
        await _gate.WaitAsync();
        try
        {
            // A browser that went away (crashed, killed) is replaced rather than failing every later test.
            if (_browser is not { IsConnected: true })
            {
                await CloseAsync();
                _playwright = await Playwright.CreateAsync();
                _browser = await Chromium.LaunchAsync(_playwright);
            }
            return _browser;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task CloseAsync()
    {
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
            _browser = null;
        }
        _playwright?.Dispose();
        _playwright = null;
    }

    public async Task DisposeAsync()
    {
        await CloseAsync();
        _gate.Dispose();
    }
}
