using System.Globalization;
using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Engine.Registry;
using Alicia.Tools.Voice;

namespace Alicia.Voice.Tests.Speech;

/// <summary>
/// Ducking: while a satellite's voice session in a room is open, the room's media speaker (a FAKE Sonos on 127.0.0.1,
/// recording its SOAP calls) is turned down, and afterwards gets its own volume back; speakers of other rooms are left alone.
/// </summary>
public sealed class DuckingTests
{
    private static readonly TimeSpan Wait = VoiceEngineHarness.Wait;

    [Fact]
    public async Task Media_in_the_room_is_ducked_while_a_session_there_listens_and_restored_afterwards()
    {
        await using var kitchen = new FakeSonosDevice();
        await using var living = new FakeSonosDevice();
        await using VoiceEngineHarness engine = await VoiceEngineHarness.StartAsync(o => o with
        {
            Speech = o.Speech with
            {
                SonosSpeakers = [("kitchen", new Uri($"http://{kitchen.Address}/")), ("living room", new Uri($"http://{living.Address}/"))],
                DuckVolume = 4,
            },
        });
        await using AliciaBus satellite = await engine.ClientAsync("kitchen-satellite");

        VoiceSendResult result = await VoiceClient.SendAsync(satellite, VoiceEngineHarness.Command().Pcm, 16000, 1,
            new VoiceSendOptions { DeviceId = "kitchen-satellite", Room = "kitchen", Timeout = Wait });
        Assert.Null(result.Error);

        string initial = FakeSonosDevice.InitialVolume.ToString(CultureInfo.InvariantCulture);
        await kitchen.WaitForCallAsync(c => c.Action == "SetVolume" && c.Arguments["DesiredVolume"] == initial, Wait);
        await engine.Voice.Ducking!.Last.WaitAsync(Wait);
        SoapCall[] calls = [.. kitchen.Calls];
        Assert.Equal(["GetVolume", "SetVolume", "SetVolume"], calls.Select(c => c.Action));
        Assert.Equal("4", calls[1].Arguments["DesiredVolume"]);
        Assert.Equal(initial, calls[2].Arguments["DesiredVolume"]);
        Assert.Equal(FakeSonosDevice.InitialVolume, kitchen.Volume);
        Assert.Empty(living.Calls); // another room's media plays on
    }

    [Fact]
    public async Task Two_sessions_in_a_room_duck_once_and_restore_when_the_last_one_ends()
    {
        await using var kitchen = new FakeSonosDevice();
        await using VoiceEngineHarness engine = await VoiceEngineHarness.StartAsync(o => o with
        {
            Speech = o.Speech with { SonosSpeakers = [("kitchen", new Uri($"http://{kitchen.Address}/"))], DuckVolume = 4 },
        });
        Speakers.RoomDucking ducking = engine.Voice.Ducking!;

        ducking.Begin("kitchen");
        ducking.Begin("Kitchen");
        await ducking.Last.WaitAsync(Wait);
        Assert.Equal(4, kitchen.Volume);
        ducking.End("kitchen");
        await ducking.Last.WaitAsync(Wait);
        Assert.Equal(4, kitchen.Volume); // one session still listens
        ducking.End("kitchen");
        await ducking.Last.WaitAsync(Wait);
        Assert.Equal(FakeSonosDevice.InitialVolume, kitchen.Volume);
        Assert.Equal(["GetVolume", "SetVolume", "SetVolume"], kitchen.Calls.Select(c => c.Action));
    }

    [Fact]
    public async Task A_session_that_names_no_room_ducks_its_satellites_registered_room_and_one_from_nowhere_known_ducks_nothing()
    {
        await using var kitchen = new FakeSonosDevice();
        await using var living = new FakeSonosDevice();
        var registry = new RegistryService();
        await using VoiceEngineHarness engine = await VoiceEngineHarness.StartAsync(o => o with
        {
            Speech = o.Speech with
            {
                SonosSpeakers = [("kitchen", new Uri($"http://{kitchen.Address}/")), ("living room", new Uri($"http://{living.Address}/"))],
                DuckVolume = 4,
            },
        }, before: e => e.AddService(registry));
        Assert.True(registry.Registry.Register(new DeviceRegistration
        {
            DeviceId = "kitchen-satellite",
            DeviceType = "controller",
            Capabilities = new DeviceCapabilities { Capabilities = [new Capability { Name = "audio_capture" }] },
            Metadata = new DeviceMetadata { Manufacturer = "Alicia", Model = "Satellite", Location = "kitchen" },
        }, "kitchen-satellite").Accepted);
        await using AliciaBus satellite = await engine.ClientAsync("kitchen-satellite");
        Speakers.RoomDucking ducking = engine.Voice.Ducking!;

        // The request names no room: the satellite's registered room is ducked, and restored after.
        VoiceSendResult result = await VoiceClient.SendAsync(satellite, VoiceEngineHarness.Command().Pcm, 16000, 1,
            new VoiceSendOptions { DeviceId = "kitchen-satellite", Timeout = Wait });
        Assert.Null(result.Error);
        string initial = FakeSonosDevice.InitialVolume.ToString(CultureInfo.InvariantCulture);
        await kitchen.WaitForCallAsync(c => c.Action == "SetVolume" && c.Arguments["DesiredVolume"] == initial, Wait);
        await ducking.Last.WaitAsync(Wait);
        Assert.Equal(["GetVolume", "SetVolume", "SetVolume"], kitchen.Calls.Select(c => c.Action));
        Assert.Equal("4", kitchen.Calls[1].Arguments["DesiredVolume"]);

        // A device the registry does not know, with no room: nothing is ducked anywhere.
        Assert.Equal("", ducking.BeginSession("s-unknown", "", "unknown-satellite"));
        Assert.Equal("", ducking.BeginSession("s-cli", "", ""));
        ducking.EndSession("s-unknown");
        ducking.EndSession("s-cli");
        Assert.Equal(3, kitchen.Calls.Count);
        Assert.Empty(living.Calls);
    }
}
