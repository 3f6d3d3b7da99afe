using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Tools.Simulation;
using Microsoft.Playwright;

namespace Alicia.Web.Tests;

/// <summary>Debian's chromium, driven by Playwright (never a downloaded browser), on one engine for the class.</summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    /// <summary>The binary itself: /usr/bin/chromium is a shell wrapper that prints noise on stderr.</summary>
    public const string Chromium = "/usr/lib/chromium/chromium";

    public ObservedEngine Engine { get; } = new();
    public IPlaywright Playwright { get; private set; } = null!;
    public IBrowser Browser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await Engine.InitializeAsync();
        Playwright = await Microsoft.Playwright.Playwright.CreateAsync();
        Browser = await Playwright.Chromium.LaunchAsync(new() { ExecutablePath = Chromium, Headless = true });
    }

    public async Task DisposeAsync()
    {
        await Browser.DisposeAsync();
        Playwright.Dispose();
        await Engine.DisposeAsync();
    }
}

public sealed class DashboardBrowserTests : IClassFixture<BrowserFixture>
{
    private static readonly string Screenshots = Path.Combine(AppContext.BaseDirectory, "screenshots");
    private readonly BrowserFixture _fixture;

    public DashboardBrowserTests(BrowserFixture fixture) => _fixture = fixture;

    private ObservedEngine Engine => _fixture.Engine;

    [Fact]
    public async Task A_newcomer_sees_devices_come_and_go_an_alert_fire_and_clear_and_a_voice_trace_without_reloading()
    {
        await using IBrowserContext context = await _fixture.Browser.NewContextAsync();
        IPage page = await context.NewPageAsync();
        List<string> errors = [];
        page.Console += (_, message) => { if (message.Type == "error") errors.Add(message.Text); };
        page.PageError += (_, error) => errors.Add(error);
        Directory.CreateDirectory(Screenshots);
        var wait = new LocatorAssertionsToBeVisibleOptions { Timeout = (float)Waits.Long.TotalMilliseconds };

        await page.GotoAsync(Engine.Url.ToString());
        await Assertions.Expect(page.GetByTestId("stream")).ToHaveTextAsync("live", new() { Timeout = wait.Timeout });
        await Assertions.Expect(page.Locator($"tr[data-service='{Engine.Engine.Name}']")).ToBeVisibleAsync(wait);

        // A device is simulated: it appears without a reload.
        SimulatedDevice bulb = await Engine.DeviceAsync("porch-light", "porch", identity: "sim-porch");
        await Assertions.Expect(page.Locator("tr[data-device='porch-light'][data-state='online']")).ToBeVisibleAsync(wait);
        await page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots, "1-device-online.png"), FullPage = true });

        // It dies without a goodbye (its MQTT will): it turns offline and the offline alert fires.
        await bulb.KillAsync();
        await bulb.DisposeAsync();
        await Assertions.Expect(page.Locator("tr[data-device='porch-light'][data-state='offline']")).ToBeVisibleAsync(wait);
        await Assertions.Expect(page.Locator("li[data-alert='offline:porch-light'][data-state='firing']")).ToBeVisibleAsync(wait);
        await page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots, "2-device-offline-alert.png"), FullPage = true });

        // It comes back: online again, and the alert clears.
        await using SimulatedDevice again = await Engine.DeviceAsync("porch-light", "porch", identity: "sim-porch");
        await Assertions.Expect(page.Locator("tr[data-device='porch-light'][data-state='online']")).ToBeVisibleAsync(wait);
        await Assertions.Expect(page.Locator("li[data-alert='offline:porch-light'][data-state='cleared']")).ToBeVisibleAsync(wait);

        // A voice request's transcript, as the voice service publishes it with its stage timings, shows as a waterfall.
        await using AliciaBus voice = await Engine.Test.ClientAsync("voice-node");
        await voice.PublishAsync(new SttResponse
        {
            SessionId = "browser-session", DeviceId = "porch-satellite", Text = "turn on the porch light",
            Timings = new() { ["vad_endpoint_ms"] = 80, ["stt_queue_ms"] = 3, ["stt_ms"] = 140, ["end_of_speech_to_result_ms"] = 230 },
        });
        ILocator trace = page.Locator("div.trace[data-session='browser-session']");
        await Assertions.Expect(trace).ToBeVisibleAsync(wait);
        await Assertions.Expect(trace.Locator("[data-stage='stt']")).ToHaveTextAsync("stt 140 ms");
        await Assertions.Expect(trace.Locator("[data-stage='vad_endpoint']")).ToBeVisibleAsync(wait);
        await Assertions.Expect(page.Locator("#stage-latency tr[data-stage='stt'] td").Nth(4)).ToHaveTextAsync("140 ms");
        await page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots, "3-voice-trace.png"), FullPage = true });

        Assert.Empty(errors);
    }
}
