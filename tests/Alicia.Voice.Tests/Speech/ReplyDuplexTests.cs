using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Tools.Voice;
using Alicia.Voice.Speech.Output;
using Xunit.Abstractions;

namespace Alicia.Voice.Tests.Speech;

/// <summary>
/// Full duplex on the satellite's own connection: a command streamed in, the transcript on the bus, a reply published
/// (by the test, standing in for the command router, which lives in another component), and the reply's real espeak-ng
/// audio back on the same TCP or WebSocket connection, checked with Silero VAD.
/// </summary>
public sealed class ReplyDuplexTests(ITestOutputHelper output) : IAsyncLifetime
{
    private VoiceEngineHarness _harness = null!;

    public async Task InitializeAsync() => _harness = await VoiceEngineHarness.StartAsync();

    public async Task DisposeAsync() => await _harness.DisposeAsync();

    /// <summary>Answers every accepted transcript of <paramref name="bus"/>'s sessions with <paramref name="pieces"/> (as the router would).</summary>
    private static Task<IAsyncDisposable> RouterStandInAsync(AliciaBus bus, Func<SttResponse, IEnumerable<AiResponse>> pieces) =>
        bus.SubscribeAsync<SttResponse>(async (m, ct) =>
        {
            foreach (AiResponse piece in pieces(m.Data)) await bus.PublishAsync(piece, cancellationToken: ct);
        });

    private static AiResponse Piece(SttResponse t, string replyId, int sequence, string text, bool final, bool fixedPhrase = false) => new()
    {
        SessionId = t.SessionId, DeviceId = t.DeviceId, Room = "kitchen", ReplyId = replyId, Sequence = sequence, Text = text, IsFinal = final,
        IsFixedPhrase = fixedPhrase, Source = ReplySource.LocalIntent, Language = "en",
    };

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_spoken_confirmation_comes_back_on_the_same_connection_as_real_espeak_speech(bool webSocket)
    {
        await using AliciaBus satellite = await _harness.ClientAsync("kitchen-satellite");
        await using IAsyncDisposable router = await RouterStandInAsync(satellite, t => [Piece(t, "r-" + t.SessionId, 0, "The kitchen light is on.", final: true, fixedPhrase: true)]);

        VoiceSendResult result = await VoiceClient.SendAsync(satellite, VoiceEngineHarness.Command().Pcm, 16000, 1,
            new VoiceSendOptions { DeviceId = "kitchen-satellite", ReceiveReplies = true, WebSocket = webSocket, Timeout = VoiceEngineHarness.Wait });

        Assert.Null(result.Error);
        Assert.Single(result.Transcripts);
        SpokenReply reply = Assert.Single(result.Replies.All);
        Assert.Equal(ReplyEndStatus.Spoken, reply.Status);
        Assert.Equal("r-" + result.SessionId, reply.ReplyId);
        Assert.Equal("The kitchen light is on.", reply.Text);
        Assert.Equal(22050, reply.SampleRate);
        Assert.True(reply.Chunks > 5, $"{reply.Chunks} chunks"); // 100 ms chunks, as made
        double speech = ReplyAudio.SpeechSeconds(reply);
        output.WriteLine($"reply {reply.DurationSeconds:0.00} s of audio in {reply.Chunks} chunks, {speech:0.00} s of it speech");
        Assert.InRange(speech, 0.8, 3.0); // five words of espeak-ng at 175 wpm
    }

    [Fact]
    public async Task A_streamed_answer_is_spoken_sentence_by_sentence_while_the_rest_still_arrives()
    {
        await using AliciaBus satellite = await _harness.ClientAsync("kitchen-satellite");
        await using AliciaBus router = await _harness.ClientAsync("router");
        var transcript = new TaskCompletionSource<SttResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using IAsyncDisposable watch = await router.SubscribeAsync<SttResponse>((m, _) => { transcript.TrySetResult(m.Data); return default; }, new SubscribeOptions { ReceiveAll = true });
        var firstAudio = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var replies = new VoiceReplies { OnAudio = (_, _) => firstAudio.TrySetResult() };

        Task<VoiceSendResult> send = VoiceClient.SendAsync(satellite, VoiceEngineHarness.Command().Pcm, 16000, 1,
            new VoiceSendOptions { DeviceId = "kitchen-satellite", ReceiveReplies = true, Timeout = VoiceEngineHarness.Wait }, replies: replies);
        SttResponse t = await transcript.Task.WaitAsync(VoiceEngineHarness.Wait);
        await router.PublishAsync(Piece(t, "answer", 0, "The capital of France is Paris.", final: false));
        // The second and third sentences are written only after the first is already heard.
        await firstAudio.Task.WaitAsync(VoiceEngineHarness.Wait);
        long heardFirst = replies.All[0].Pcm.Length;
        await router.PublishAsync(Piece(t, "answer", 2, "It is on the Seine.", final: true)); // out of order: held until piece 1
        await router.PublishAsync(Piece(t, "answer", 1, "About two million people live there.", final: false));
        VoiceSendResult result = await send;

        Assert.Null(result.Error);
        SpokenReply reply = Assert.Single(result.Replies.All);
        Assert.Equal(ReplyEndStatus.Spoken, reply.Status);
        Assert.Equal("The capital of France is Paris. About two million people live there. It is on the Seine.", reply.Text);
        Assert.True(heardFirst < reply.Pcm.Length / 3, $"{heardFirst} of {reply.Pcm.Length} bytes had arrived before the rest was written");
        double speech = ReplyAudio.SpeechSeconds(reply);
        output.WriteLine($"{reply.DurationSeconds:0.00} s, {speech:0.00} s speech");
        Assert.InRange(speech, 3.0, 9.0); // three sentences, 18 words
    }

    [Fact]
    public async Task Stop_interrupts_the_reply_within_one_chunk()
    {
        await using AliciaBus satellite = await _harness.ClientAsync("kitchen-satellite");
        string long_ = string.Join(" ", Enumerable.Repeat("This is a long answer that goes on and on.", 6));
        await using IAsyncDisposable router = await RouterStandInAsync(satellite, t => [Piece(t, "long", 0, long_, final: true)]);
        var ended = new TaskCompletionSource<ReplyPlayback>(TaskCreationOptions.RunContinuationsAsynchronously);
        _harness.Voice.Speech!.ReplyEnded += (p, _) => ended.TrySetResult(p);
        var stopAt = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int chunksAtStop = -1;
        var replies = new VoiceReplies
        {
            OnAudio = (r, _) =>
            {
                if (r.Chunks == 3 && stopAt.TrySetResult()) chunksAtStop = r.Chunks;
            },
        };
        _ = stopAt.Task.ContinueWith(_ => satellite.PublishAsync(new VoiceCommandRoute { Intent = "stop", DeviceId = "kitchen-satellite" }), TaskScheduler.Default);

        VoiceSendResult result = await VoiceClient.SendAsync(satellite, VoiceEngineHarness.Command().Pcm, 16000, 1,
            new VoiceSendOptions { DeviceId = "kitchen-satellite", ReceiveReplies = true, Timeout = VoiceEngineHarness.Wait }, replies: replies);

        Assert.Null(result.Error);
        SpokenReply reply = Assert.Single(result.Replies.All);
        Assert.Equal(ReplyEndStatus.Stopped, reply.Status);
        ReplyPlayback playback = await ended.Task.WaitAsync(VoiceEngineHarness.Wait);
        output.WriteLine($"stopped after {reply.Chunks} chunks ({reply.DurationSeconds:0.00} s); {playback.ChunksAfterStop} chunk(s) written after the stop");
        Assert.InRange(playback.ChunksAfterStop, 0, 1);
        Assert.True(reply.DurationSeconds < 5, $"{reply.DurationSeconds:0.00} s of a ~20 s answer"); // the lead (200 ms) + the bus's delivery of "stop"
    }

    [Fact]
    public async Task Without_listen_the_connection_closes_after_done_as_before()
    {
        await using AliciaBus satellite = await _harness.ClientAsync("old-satellite");
        VoiceSendResult result = await VoiceClient.SendAsync(satellite, VoiceEngineHarness.Command().Pcm, 16000, 1, new VoiceSendOptions { DeviceId = "old-satellite" });
        Assert.Null(result.Error);
        Assert.Empty(result.Replies.All);
        Assert.Null(_harness.Voice.Satellites.Find(result.SessionId, "old-satellite"));
    }
}
