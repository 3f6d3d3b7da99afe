using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Engine.Hosting;
using Alicia.Engine.Registry;

namespace Alicia.Voice.Tests.Speech;

/// <summary>
/// Speakers from the device registry (real registry, real SQLite), read by voice through the engine's public
/// <see cref="IDeviceDirectory"/>: a Sonos registered in the kitchen (a FAKE Sonos on 127.0.0.1) gets the kitchen's
/// announcement, with no speaker configured at all.
/// </summary>
public sealed class RegisteredSpeakerTests
{
    private static readonly TimeSpan Wait = VoiceEngineHarness.Wait;

    private static DeviceRegistration Sonos(string id, string room, FakeSonosDevice device) => new()
    {
        DeviceId = id,
        DeviceType = "speaker",
        Capabilities = new DeviceCapabilities { Capabilities = [new Capability { Name = "audio_playback" }] },
        Endpoints = new Dictionary<string, string> { ["sonos"] = $"http://{device.Address}/" },
        Metadata = new DeviceMetadata { Manufacturer = "Sonos", Model = "One", Location = room },
    };

    [Fact]
    public async Task A_speaker_registered_in_the_kitchen_receives_the_kitchen_announcement_and_not_the_living_rooms()
    {
        await using var kitchen = new FakeSonosDevice();
        await using var living = new FakeSonosDevice();
        var registry = new RegistryService();
        await using VoiceEngineHarness engine = await VoiceEngineHarness.StartAsync(before: e => e.AddService(registry));
        Assert.Empty(engine.Engine.DeviceDirectory().Find("audio_playback", "kitchen"));

        Assert.True(registry.Registry.Register(Sonos("kitchen-sonos", "kitchen", kitchen), "kitchen-sonos").Accepted);
        Assert.True(registry.Registry.Register(Sonos("living-sonos", "living_room", living), "living-sonos").Accepted);
        DirectoryDevice found = Assert.Single(engine.Engine.DeviceDirectory().Find("audio_playback", "Kitchen"));
        Assert.Equal("kitchen-sonos", found.DeviceId);
        Assert.True(found.IsLive);

        await using AliciaBus admin = await engine.ClientAsync("admin");
        await admin.PublishAsync(new SpeakerAnnouncement { Text = "Dinner is ready.", Location = "kitchen" });

        await kitchen.WaitForFetchesAsync(1, Wait);
        (string url, byte[] wav) = Assert.Single(kitchen.Fetched);
        Assert.StartsWith("http://127.0.0.1:", url);
        Assert.True(wav.Length > 44, "the clip has audio");
        Assert.Empty(living.Calls);
    }

    [Fact]
    public async Task A_registered_speaker_that_went_offline_or_has_no_address_is_not_used()
    {
        await using var kitchen = new FakeSonosDevice();
        var registry = new RegistryService();
        await using VoiceEngineHarness engine = await VoiceEngineHarness.StartAsync(before: e => e.AddService(registry));
        DeviceRegistration noAddress = Sonos("kitchen-speaker", "kitchen", kitchen);
        noAddress.Endpoints.Clear();
        Assert.True(registry.Registry.Register(noAddress, "kitchen-speaker").Accepted);
        Assert.True(registry.Registry.Register(Sonos("kitchen-sonos", "kitchen", kitchen), "kitchen-sonos").Accepted);
        Assert.True(registry.Registry.Death("kitchen-sonos", 0));

        Assert.Equal(0, engine.Voice.Speech!.Announce("Dinner is ready.", "kitchen"));
        Assert.Empty(kitchen.Calls);
    }
}
