using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Tools.Simulation;

namespace Alicia.Assistant.Tests;

/// <summary>
/// Colour temperature and volume end to end: the simulated bulb and speaker obey and echo their new level, and the
/// assistant confirms only when the echoed level is the one it asked for.
/// </summary>
public sealed class DeviceLevelTests : IAsyncLifetime
{
    private AssistantHarness _h = null!;

    public async Task InitializeAsync() => _h = await AssistantHarness.StartAsync();

    public Task DisposeAsync() => _h.DisposeAsync().AsTask();

    [Theory]
    [InlineData("set the kitchen light to 2700 kelvin", "2700")]
    [InlineData("make the kitchen light warm", "2700")]
    [InlineData("set the kitchen light to daylight", "6500")]
    public async Task A_colour_temperature_is_set_on_the_simulated_bulb_and_confirmed_by_its_echo(string text, string kelvin)
    {
        await _h.HomeAsync("kitchen-light", "kitchen-satellite");
        Conversation c = await _h.TranscriptAsync("kitchen-satellite", text);

        Assert.Equal($"The kitchen light is set to {kelvin} kelvin.", c.Text);
        Assert.Equal(kelvin, _h.Devices["kitchen-light"].State["color_temp_kelvin"]);
        Assert.Equal("true", _h.Devices["kitchen-light"].State["on"]);
        Assert.Equal(("set_colour_temperature", "confirmed"), (c.Route.Intent, c.Route.Outcome));
        Assert.Equal("confirmed", c.Route.DeviceOutcomes["kitchen-light"]);
        Assert.Equal(double.Parse(kelvin, System.Globalization.CultureInfo.InvariantCulture), await _h.ReadingAsync("kitchen-light", "color_temp_kelvin"));
    }

    [Fact]
    public async Task A_volume_is_confirmed_by_the_speakers_reported_level()
    {
        await _h.HomeAsync("kitchen-speaker", "kitchen-satellite");
        Conversation c = await _h.TranscriptAsync("kitchen-satellite", "set the volume to thirty percent");

        Assert.Equal("The kitchen speaker volume is at 30 percent.", c.Text);
        Assert.Equal("0.3", _h.Devices["kitchen-speaker"].State["volume"]);
        Assert.Equal("confirmed", c.Route.DeviceOutcomes["kitchen-speaker"]);
    }

    [Fact]
    public async Task A_speaker_that_echoes_another_volume_is_not_taken_as_confirmed()
    {
        await _h.HomeAsync("kitchen-satellite");
        // A registered speaker whose echo (sent here by the test) reports a level other than the one commanded.
        await _h.MuteDeviceAsync("kitchen-speaker-0", SimulatedKind.Speaker, "kitchen");
        int commands = 0;
        await using IAsyncDisposable wrongEcho = await _h.Client.SubscribeAsync<DeviceCommand>(async (m, _) =>
        {
            Interlocked.Increment(ref commands);
            await _h.Client.PublishAsync(new DeviceData { Values = { ["on"] = 0, ["volume"] = 0.8 } }, new PublishOptions { Topic = DeviceData.BuildTopic("kitchen-speaker-0") });
        }, new SubscribeOptions { Filter = DeviceCommand.BuildTopic("kitchen-speaker-0"), ReceiveAll = true });

        Conversation c = await _h.TranscriptAsync("kitchen-satellite", "set the volume to thirty percent");

        Assert.Equal(1, Volatile.Read(ref commands));
        Assert.Equal(0.8, await _h.ReadingAsync("kitchen-speaker-0", "volume")); // the echo arrived, with the wrong level
        Assert.Equal("failed", c.Route.Outcome);
        Assert.Equal("no_echo", c.Route.DeviceOutcomes["kitchen-speaker-0"]);
        Assert.DoesNotContain("30 percent", c.Text);
    }
}
