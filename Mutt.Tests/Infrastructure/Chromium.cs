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
