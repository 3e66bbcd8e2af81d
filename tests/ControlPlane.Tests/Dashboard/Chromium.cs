using Microsoft.Playwright;

namespace EventMlOps.ControlPlane.Tests.Dashboard;

/// <summary>One headless Debian chromium per test class, driven by Playwright (its own browser download is never used:
/// <c>./emo test</c> installs the <c>chromium</c> package). Each test gets a fresh context (no shared cookies) that records
/// what a person would notice: console errors, script errors, and every request's address.</summary>
public sealed class Chromium : IAsyncLifetime
{
    /// <summary>Where the dashboard's screenshots go when asked for (<c>EMO_DASHBOARD_SCREENSHOTS=docs/dashboard</c>).</summary>
    public static readonly string? Screenshots = Environment.GetEnvironmentVariable("EMO_DASHBOARD_SCREENSHOTS");

    private IPlaywright _playwright = null!;
    public IBrowser Browser { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        var executable = Environment.GetEnvironmentVariable("EMO_CHROMIUM") ?? "/usr/bin/chromium";
        if (!File.Exists(executable))
            throw new InvalidOperationException($"{executable} is missing: install Debian's chromium (./emo test does, with apt)");
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = executable,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--disable-dev-shm-usage"],
        });
    }

    public async Task<Visit> OpenAsync(Uri baseAddress, int width = 1280, int height = 900)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = baseAddress.ToString(),
            ViewportSize = new ViewportSize { Width = width, Height = height },
            Locale = "en-GB",
            TimezoneId = "UTC",
        });
        var visit = new Visit(context, await context.NewPageAsync());
        context.Request += (_, request) => visit.Requests.Add(request.Url);
        visit.Page.Console += (_, message) =>
        {
            if (message.Type == "error") visit.Errors.Add(message.Text);
        };
        visit.Page.PageError += (_, error) => visit.Errors.Add(error);
        return visit;
    }

    public async ValueTask DisposeAsync()
    {
        await Browser.DisposeAsync();
        _playwright.Dispose();
    }
}

/// <summary>A browser context with one page, and what it saw.</summary>
public sealed class Visit(IBrowserContext context, IPage page) : IAsyncDisposable
{
    public IBrowserContext Context { get; } = context;
    public IPage Page { get; } = page;
    public List<string> Errors { get; } = [];
    public List<string> Requests { get; } = [];

    /// <summary>Signs in through the sign-in page, as a person pastes a token.</summary>
    public async Task SignInAsync(string token, string path = "/")
    {
        await Page.GotoAsync(path);
        Page.Url.ShouldContain("/signin");
        await Page.FillAsync("#token", token);
        await Page.ClickAsync("form.card button[type=submit]");
        await Page.WaitForURLAsync(url => !url.Contains("/signin"));
    }

    public ILocator Content => Page.Locator("#content");

    /// <summary>Saves what the page shows, when screenshots were asked for.</summary>
    public async Task ScreenshotAsync(string name)
    {
        if (Chromium.Screenshots is not { } folder) return;
        Directory.CreateDirectory(folder);
        await Page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(folder, name + ".png"), FullPage = true });
    }

    /// <summary>Nothing went wrong in the page, and nothing was asked of any host but the control plane on 127.0.0.1.</summary>
    public void ShouldBeClean()
    {
        Errors.ShouldBeEmpty();
        Requests.ShouldNotBeEmpty();
        Requests.Where(url => new Uri(url).Host != "127.0.0.1").ShouldBeEmpty();
    }

    public async ValueTask DisposeAsync()
    {
        await Page.CloseAsync();
        await Context.DisposeAsync();
    }
}
