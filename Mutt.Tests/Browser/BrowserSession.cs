using Microsoft.Playwright;
using Mutt.Tests.Infrastructure;

namespace Mutt.Tests.Browser;

/// <summary>
/// One test's page on a site (its own browser context of the collection's <see cref="ChromiumFixture"/>),
/// with what the browser tests share: paths relative to the site, waiting for the Blazor circuit,
/// the sign-in form, screenshots, polling an element's text, and the Content-Security-Policy
/// violations the page has met (the console's and the DOM's <c>securitypolicyviolation</c> events).
/// </summary>
public sealed class BrowserSession : IAsyncDisposable
{
    private static readonly TimeSpan TextDeadline = TimeSpan.FromSeconds(30);
    private readonly List<string> _consoleCsp = [];

    private BrowserSession(IPage page, string baseUrl)
    {
        Page = page;
        BaseUrl = baseUrl;
    }

    public IPage Page { get; }
    public string BaseUrl { get; }

    public static async Task<BrowserSession> OpenAsync(ChromiumFixture chromium, string baseUrl, int width = 1400, int height = 900)
    {
        var session = new BrowserSession(await chromium.NewPageAsync(width, height), baseUrl);
        await session.WatchCspAsync();
        return session;
    }

    /// <summary>Both ways a violation shows: the console error and the DOM event (which also catches report-only cases).</summary>
    private async Task WatchCspAsync()
    {
        Page.Console += (_, message) =>
        {
            if (message.Text.Contains("Content Security Policy", StringComparison.OrdinalIgnoreCase))
            {
                lock (_consoleCsp)
                {
                    _consoleCsp.Add(message.Text);
                }
            }
        };
        await Page.AddInitScriptAsync("""
            window.__csp = [];
            document.addEventListener('securitypolicyviolation', e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sample));
            """);
    }

    /// <summary>Navigates to <paramref name="path"/> on the site without waiting for the circuit (a login page, a 403).</summary>
    public Task<IResponse?> GotoAsync(string path) => Page.GotoAsync(BaseUrl + path);

    /// <summary>Navigates to <paramref name="path"/> and waits until the page is interactive.</summary>
    public async Task<IResponse?> GoAsync(string path)
    {
        var response = await GotoAsync(path);
        await WaitInteractiveAsync();
        return response;
    }

    /// <summary>The Dashboard's layout renders #circuit-ready once the Blazor circuit is connected.</summary>
    public Task WaitInteractiveAsync() => Page.Locator("#circuit-ready").WaitForAsync(new() { State = WaitForSelectorState.Attached });

    /// <summary>Fills and submits the sign-in form the page shows.</summary>
    public async Task SubmitLoginAsync(string username, string password)
    {
        await Page.FillAsync("#username", username);
        await Page.FillAsync("#password", password);
        await Page.ClickAsync("#sign-in");
    }

    /// <summary>
    /// Opens <paramref name="path"/> signed out, which shows the sign-in form, signs in and waits to be back
    /// on <paramref name="path"/> (on the overview when it was /login), interactive.
    /// </summary>
    public async Task SignInAsync(string username, string path = "/login")
    {
        await GotoAsync(path);
        Assert.Contains("/login", Page.Url, StringComparison.Ordinal);
        await SubmitLoginAsync(username, DashboardProcess.Password);
        await Page.WaitForURLAsync(BaseUrl + (path == "/login" ? "/" : path));
        await WaitInteractiveAsync();
    }

    public Task ShotAsync(string name) => Page.ScreenshotAsync(name);

    /// <summary>Polls the inner text of <paramref name="selector"/> until <paramref name="done"/> holds (30 s).</summary>
    public Task WaitTextAsync(string selector, Func<string, bool> done, string what) =>
        Eventually.WaitForAsync(async () => done(await Page.Locator(selector).InnerTextAsync()), TextDeadline, what);

    public async Task AssertNoCspViolationsAsync()
    {
        var dom = await Page.EvaluateAsync<string[]>("() => window.__csp || []");
        lock (_consoleCsp)
        {
            Assert.True(_consoleCsp.Count == 0 && dom.Length == 0, "CSP violations: " + string.Join(" | ", _consoleCsp.Concat(dom)));
        }
    }

    public async ValueTask DisposeAsync() => await Page.Context.CloseAsync();
}
