using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Engine.Registry;
using Alicia.Engine.Security;
using Alicia.Tools.Simulation;
using Alicia.Tools.Voice;
using Alicia.Voice;
using Alicia.Voice.Audio;
using Alicia.Voice.Vad;

namespace Alicia.Assistant.Tests;

/// <summary>
/// The spoken path end to end: espeak-ng audio streamed by the kitchen satellite into a voice session (real audio
/// transport and Silero VAD), a scripted speech-to-text test double in place of Whisper, the command router, a
/// simulated light switched and its echo confirmed, and the reply for the satellite.
/// </summary>
public sealed class SpokenCommandTests
{
    [Fact]
    public async Task Turn_on_the_kitchen_light_spoken_into_the_kitchen_satellites_session_switches_the_light()
    {
        string vad = SileroVadModel.FindDefault(AppContext.BaseDirectory) ?? throw new InvalidOperationException("models/cache/silero_vad_v5.onnx is missing (scripts/fetch-models.sh)");
        var stt = new ScriptedSpeechToTextTestDouble();
        WavFile command = stt.Learn("turn on the kitchen light");
        stt.Learn("what is the temperature in the bedroom right now please");
        RegistryService registry = null!;
        var voice = new VoiceService(new VoiceOptions { VadModelPath = vad, MqttIdleTimeout = TimeSpan.FromSeconds(30) }, [stt]);
        await using TestEngine test = await TestEngine.StartAsync(services: e =>
        {
            e.AddService(registry = new RegistryService(new RegistryOptions()));
            e.AddService(voice);
            e.AddService(new AssistantService(new AssistantSettings(), registry));
        });
        Assert.Equal(["scripted-test-double"], voice.SpeechToTextEngines);

        var registered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        registry.Registry.Changed += c => { if (c.Device.DeviceId == "kitchen-light" && c.Device.IsLive) registered.TrySetResult(); };
        registry.Registry.Register(HomeEntry.Satellite("kitchen-satellite", "kitchen"), "sim-owner");
        await using var light = new SimulatedDevice("kitchen-light", SimulatedKind.Bulb, "kitchen", new EnvelopeSigner(test.Identity("sim-owner")), test.Verifier(), test.Endpoint, TimeSpan.FromHours(1));
        await light.StartAsync();
        await registered.Within();

        await using AliciaBus satellite = await test.ClientAsync("kitchen-satellite");
        var reply = new TaskCompletionSource<AiResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using IAsyncDisposable replies = await satellite.SubscribeAsync<AiResponse>((m, _) =>
        {
            if (m.Data.DeviceId == "kitchen-satellite" && m.Data.IsFinal) reply.TrySetResult(m.Data);
            return default;
        }, new SubscribeOptions { ReceiveAll = true });

        VoiceSendResult sent = await VoiceClient.SendAsync(satellite, command.Pcm, command.SampleRate, command.Channels, new VoiceSendOptions { DeviceId = "kitchen-satellite" });

        Assert.Null(sent.Error);
        Assert.Equal("turn on the kitchen light", Assert.Single(sent.Transcripts).Data.Text);
        AiResponse answer = await reply.Within();
        Assert.Equal("The kitchen light is on.", answer.Text);
        Assert.Equal(("kitchen", ReplySource.LocalIntent), (answer.Room, answer.Source));
        Assert.True(answer.Timings.ContainsKey("speech_ms")); // the voice session's timings, carried into the reply
        Assert.Equal("true", light.State["on"]);
        Assert.Equal(["turn on the kitchen light"], stt.Heard);
    }
}
