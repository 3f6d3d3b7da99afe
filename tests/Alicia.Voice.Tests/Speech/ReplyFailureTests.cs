using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Tools.Voice;
using Alicia.Voice.Speech.Output;

namespace Alicia.Voice.Tests.Speech;

/// <summary>
/// Every failure still reaches the user through another path, through the whole engine: no voice can speak (the text
/// comes back on the satellite's own connection), the configured Piper voice is missing (espeak-ng speaks), the room's
/// only speaker is offline (the reply ends failed at once, its text on the bus, and the next reply does not wait for that
/// speaker). The Sonos is a FAKE on 127.0.0.1 (no real speaker exists here).
/// </summary>
public sealed class ReplyFailureTests
{
    private static readonly TimeSpan Wait = VoiceEngineHarness.Wait;

    private static Task<IAsyncDisposable> RouterStandInAsync(AliciaBus bus, string text) =>
        bus.SubscribeAsync<SttResponse>(async (m, ct) => await bus.PublishAsync(new AiResponse
        {
            SessionId = m.Data.SessionId, DeviceId = m.Data.DeviceId, Room = "kitchen", ReplyId = "r-" + m.Data.SessionId, Text = text, IsFinal = true,
        }, cancellationToken: ct));

    [Fact]
    public async Task When_no_voice_can_speak_the_satellite_gets_the_reply_as_text_on_its_connection()
    {
        await using VoiceEngineHarness engine = await VoiceEngineHarness.StartAsync(o => o with { Speech = o.Speech with { EspeakVoice = "xx-no-such-voice" } });
        await using AliciaBus satellite = await engine.ClientAsync("kitchen-satellite");
        await using IAsyncDisposable router = await RouterStandInAsync(satellite, "The kitchen light is on.");

        VoiceSendResult result = await VoiceClient.SendAsync(satellite, VoiceEngineHarness.Command().Pcm, 16000, 1,
            new VoiceSendOptions { DeviceId = "kitchen-satellite", ReceiveReplies = true, Timeout = Wait });

        Assert.Null(result.Error);
        SpokenReply reply = Assert.Single(result.Replies.All);
        Assert.Equal((ReplyEndStatus.Failed, "The kitchen light is on."), (reply.Status, reply.Text));
        Assert.Equal(0, reply.Pcm.Length);
    }

    [Fact]
    public async Task A_missing_Piper_voice_leaves_espeak_to_speak_the_reply()
    {
        using var missing = new TempDirectory("alicia-no-piper");
        await using VoiceEngineHarness engine = await VoiceEngineHarness.StartAsync(o => o with
        {
            Speech = o.Speech with { PiperModelPath = Path.Combine(missing.Path, "en_US-lessac-medium.onnx") },
        });
        await using AliciaBus satellite = await engine.ClientAsync("kitchen-satellite");
        await using IAsyncDisposable router = await RouterStandInAsync(satellite, "The kitchen light is on.");

        VoiceSendResult result = await VoiceClient.SendAsync(satellite, VoiceEngineHarness.Command().Pcm, 16000, 1,
            new VoiceSendOptions { DeviceId = "kitchen-satellite", ReceiveReplies = true, Timeout = Wait });

        Assert.Null(result.Error);
        SpokenReply reply = Assert.Single(result.Replies.All);
        Assert.Equal(ReplyEndStatus.Spoken, reply.Status);
        Assert.Equal(22050, reply.SampleRate); // espeak-ng's rate
        Assert.InRange(ReplyAudio.SpeechSeconds(reply), 0.8, 3.0);
    }

    [Fact]
    public async Task When_the_rooms_only_speaker_is_offline_the_reply_ends_failed_with_its_text_and_the_speaker_is_left_out_for_a_while()
    {
        await using var unplugged = new FakeSonosDevice();
        unplugged.GoOffline();
        await using VoiceEngineHarness engine = await VoiceEngineHarness.StartAsync(o => o with
        {
            Speech = o.Speech with { SonosSpeakers = [("kitchen", new Uri($"http://{unplugged.Address}/"))] },
        });
        var ended = new System.Collections.Concurrent.ConcurrentQueue<(ReplyPlayback Reply, ReplyEndStatus Status)>();
        var twoEnded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        engine.Voice.Speech!.ReplyEnded += (p, s) =>
        {
            ended.Enqueue((p, s));
            if (ended.Count == 2) twoEnded.TrySetResult();
        };
        await using AliciaBus router = await engine.ClientAsync("router");
        var text = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using IAsyncDisposable listener = await router.SubscribeAsync<AiResponse>((m, _) => { text.TrySetResult(m.Data.Text); return default; }, new SubscribeOptions { ReceiveAll = true });

        await router.PublishAsync(new AiResponse { ReplyId = "first", Room = "kitchen", Text = "The oven is off.", IsFinal = true });
        await router.PublishAsync(new AiResponse { ReplyId = "second", Room = "kitchen", Text = "The kitchen light is on.", IsFinal = true });
        await twoEnded.Task.WaitAsync(Wait);

        Assert.Equal("The oven is off.", await text.Task.WaitAsync(Wait)); // the reply's text is on the bus for any client to show
        Assert.All(ended, e => Assert.Equal(ReplyEndStatus.Failed, e.Status)); // failed, not "stopped": no output could speak it
        Assert.False(engine.Voice.Speech.RoomSpeakers.All.Single().Output.IsAvailable); // left out for a while: later replies do not wait on it
    }
}
