using Alicia.Tools.Voice;
using Alicia.Tools.Models;
using System.Net.Sockets;
using System.Text;
using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Engine.Hosting;
using Alicia.Engine.Monitoring;
using Alicia.Engine.Security;
using Alicia.Voice;
using Alicia.Voice.Audio;
using Alicia.Voice.Stt;
using Alicia.Voice.Transport;
using Xunit.Abstractions;

namespace Alicia.Voice.Tests;

/// <summary>
/// A satellite against a real engine (embedded broker over TCP) with the voice service: session on the
/// bus, audio over the negotiated stream, segments and transcripts back on the bus. Whisper runs on the
/// micro random-weight model, so transcripts are meaningless text: the tests check the plumbing.
/// </summary>
public sealed class EndToEndTests(ITestOutputHelper output) : IAsyncLifetime
{
    private VoiceEngineHarness _harness = null!;
    private static readonly TimeSpan Wait = VoiceEngineHarness.Wait;

    public async Task InitializeAsync() => _harness = await VoiceEngineHarness.StartAsync();

    public async Task DisposeAsync() => await _harness.DisposeAsync();

    private Task<AliciaBus> Client(string name) => _harness.ClientAsync(name);

    private static WavFile Command() => VoiceEngineHarness.Command();

    [Fact]
    public async Task A_satellite_streams_a_command_and_gets_the_transcript_with_stage_timings()
    {
        await using AliciaBus satellite = await Client("satellite");
        WavFile speech = TestAudio.Speech("turn on the kitchen light"); // 22050 Hz: converted at the edge

        VoiceSendResult result = await VoiceClient.SendAsync(satellite, speech.Pcm, speech.SampleRate, speech.Channels, new VoiceSendOptions { DeviceId = "kitchen" });

        Assert.Null(result.Error);
        Assert.Equal(1, result.Utterances);
        BusMessage<SttResponse> transcript = Assert.Single(result.Transcripts);
        output.WriteLine($"'{transcript.Data.Text}' {string.Join(", ", transcript.Data.Timings.Select(t => $"{t.Key}={t.Value:0.#}"))}");
        Assert.Equal(result.SessionId, transcript.Data.SessionId);
        Assert.Equal("alicia-engine", transcript.Source);
        Assert.Equal("ok", transcript.Envelope.Metadata!["status"]);
        Assert.Equal("kitchen", transcript.Envelope.Metadata["device_id"]);
        foreach (string stage in new[] { "speech_ms", "vad_endpoint_ms", "stt_queue_ms", "stt_ms", "end_of_speech_to_result_ms", "endpoint_to_result_ms", "audio_ctx", "tokens" })
            Assert.True(transcript.Data.Timings.ContainsKey(stage), stage);
        Assert.True(transcript.Data.Timings["tokens"] <= 32); // the command token cap
        Assert.Equal(AudioContext.ForSamples((int)Math.Round(transcript.Data.Timings["speech_ms"] * 16)), transcript.Data.Timings["audio_ctx"], 0);
        SpeechSegment segment = Assert.Single(result.Segments);
        Assert.InRange(segment.EndSeconds - segment.StartSeconds, 1.0, speech.DurationSeconds + 0.1);
    }

    [Fact]
    public async Task Streamed_in_real_time_the_transcript_is_the_speculation_started_in_the_hangover()
    {
        await using AliciaBus satellite = await Client("satellite");
        var traces = new List<UtteranceTrace>();
        _harness.Voice.Published += t => { lock (traces) traces.Add(t); };
        WavFile command = Command();

        VoiceSendResult result = await VoiceClient.SendAsync(satellite, command.Pcm, 16000, 1, new VoiceSendOptions { RealTime = true, Timeout = Wait });

        Assert.Null(result.Error);
        SttResponse transcript = Assert.Single(result.Transcripts).Data;
        output.WriteLine(string.Join(", ", transcript.Timings.Select(t => $"{t.Key}={t.Value:0.#}")));
        Assert.Equal(1, transcript.Timings["speculative"]);
        Assert.True(transcript.Timings["speculation_lead_ms"] > 0); // submitted before the endpoint
        Assert.True(_harness.Voice.SpeculationsStarted >= 1);
        // Speculation changes when, not what: the engine transcribes the final utterance's audio to the same text.
        UtteranceTrace trace = Assert.Single(traces);
        SttResult again = await _harness.Voice.Pool!.Engine.TranscribeAsync(trace.Utterance.Samples, new SttOptions { MaxTokens = _harness.Voice.Options.CommandMaxTokens }, CancellationToken.None);
        Assert.Equal(again.Text, transcript.Text);
    }

    [Fact]
    public async Task Dictation_is_not_transcribed_speculatively()
    {
        await using AliciaBus satellite = await Client("dictaphone");
        WavFile command = Command();

        VoiceSendResult result = await VoiceClient.SendAsync(satellite, command.Pcm, 16000, 1, new VoiceSendOptions { Kind = VoiceSessionKind.Dictation, RealTime = true, Timeout = Wait });

        Assert.Null(result.Error);
        Assert.Equal(0, Assert.Single(result.Transcripts).Data.Timings["speculative"]);
        Assert.Equal(0, _harness.Voice.SpeculationsStarted);
    }

    [Fact]
    public async Task Stereo_48k_audio_is_converted_at_the_edge()
    {
        await using AliciaBus satellite = await Client("stereo");
        float[] mono48 = TestAudio.Concat(new float[24000], Upsample3(TestAudio.Speech("open the garage door").ToMono16k()), new float[24000]);
        var stereo = new float[mono48.Length * 2];
        for (int i = 0; i < mono48.Length; i++) { stereo[2 * i] = mono48[i]; stereo[2 * i + 1] = mono48[i]; }
        VoiceSendResult result = await VoiceClient.SendAsync(satellite, TestAudio.ToPcm(stereo), 48000, 2);
        Assert.Null(result.Error);
        Assert.Equal(1, result.Utterances);
        Assert.Single(result.Transcripts);

        static float[] Upsample3(float[] s) => Enumerable.Range(0, s.Length * 3).Select(i => s[i / 3]).ToArray();
    }

    [Fact]
    public async Task A_malformed_frame_ends_that_session_with_a_clear_error_while_another_goes_on()
    {
        await using AliciaBus satellite = await Client("bad");
        await using AliciaBus good = await Client("good");
        var failed = new TaskCompletionSource<VoiceSessionStatus>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using IAsyncDisposable sub = await satellite.SubscribeAsync<VoiceSessionStatus>((m, _) =>
        {
            if (m.Data.State == VoiceSessionState.Failed) failed.TrySetResult(m.Data);
            return default;
        });

        WavFile command = Command();
        Task<VoiceSendResult> healthy = VoiceClient.SendAsync(good, command.Pcm, 16000, 1, new VoiceSendOptions { RealTime = false });

        VoiceSessionResponse session = (await satellite.RequestAsync<VoiceSessionRequest, VoiceSessionResponse>(new VoiceSessionRequest(), "alicia-engine", timeout: Wait)).Data;
        Assert.True(session.Accepted);
        (AudioFrameType type, string text) = await RawAsync(session, stream =>
        [
            AudioFrameCodec.Encode(AudioFrameType.Hello, Encoding.UTF8.GetBytes(session.Token)),
            AudioFrameCodec.Encode(AudioFrameType.Audio, new byte[640]),
            [0x7f, 0, 0, 0, 0],
        ]);
        Assert.Equal(AudioFrameType.Error, type);
        Assert.Equal("malformed frame: unknown frame type 0x7f", text);
        VoiceSessionStatus status = await failed.Task.WaitAsync(Wait);
        Assert.Equal(session.SessionId, status.SessionId);
        Assert.Contains("unknown frame type", status.Reason);

        VoiceSendResult ok = await healthy.WaitAsync(Wait);
        Assert.Null(ok.Error);
        Assert.Single(ok.Transcripts);
    }

    [Fact]
    public async Task Truncated_frames_odd_audio_and_reused_tokens_are_named()
    {
        await using AliciaBus satellite = await Client("edge");
        async Task<VoiceSessionResponse> Open() => (await satellite.RequestAsync<VoiceSessionRequest, VoiceSessionResponse>(new VoiceSessionRequest(), "alicia-engine", timeout: Wait)).Data;

        VoiceSessionResponse s1 = await Open();
        byte[] hello = AudioFrameCodec.Encode(AudioFrameType.Hello, Encoding.UTF8.GetBytes(s1.Token));
        (AudioFrameType t1, string e1) = await RawAsync(s1, _ => [hello, AudioFrameCodec.Encode(AudioFrameType.Audio, new byte[640])[..100]], closeAfter: true);
        Assert.Equal(AudioFrameType.Error, t1);
        Assert.StartsWith("truncated frame", e1);

        (AudioFrameType t2, string e2) = await RawAsync(s1, _ => [hello]); // the token was used
        Assert.Equal("unknown or already used session token", e2);
        Assert.Equal(AudioFrameType.Error, t2);

        VoiceSessionResponse s3 = await Open();
        (_, string e3) = await RawAsync(s3, _ => [AudioFrameCodec.Encode(AudioFrameType.Hello, Encoding.UTF8.GetBytes(s3.Token)), AudioFrameCodec.Encode(AudioFrameType.Audio, new byte[641])]);
        Assert.Contains("not a whole number of 2-byte samples", e3);

        VoiceSessionResponse s4 = await Open();
        (_, string e4) = await RawAsync(s4, _ => [AudioFrameCodec.Encode(AudioFrameType.Audio, new byte[640])]);
        Assert.Contains("first frame must be hello", e4);

        VoiceSessionResponse refused = (await satellite.RequestAsync<VoiceSessionRequest, VoiceSessionResponse>(new VoiceSessionRequest { SampleRate = 96000 }, "alicia-engine", timeout: Wait)).Data;
        Assert.False(refused.Accepted);
        Assert.Contains("96000", refused.Error);
    }

    [Fact]
    public async Task A_simple_device_sends_MQTT_audio_chunks_into_the_same_pipeline()
    {
        await using AliciaBus device = await Client("plug");
        string sessionId = Guid.NewGuid().ToString("N");
        var transcript = new TaskCompletionSource<BusMessage<SttResponse>>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using IAsyncDisposable sub = await device.SubscribeAsync<SttResponse>((m, _) =>
        {
            if (m.Data.SessionId == sessionId) transcript.TrySetResult(m);
            return default;
        });
        byte[] pcm = Command().Pcm;
        const int chunk = 3200; // 100 ms
        long sequence = 0;
        string topic = DeviceAudio.BuildTopic("plug-1");
        for (int i = 0; i < pcm.Length; i += chunk)
            await device.PublishAsync(new DeviceAudio { SessionId = sessionId, Sequence = sequence++, Pcm = pcm[i..Math.Min(pcm.Length, i + chunk)] }, new PublishOptions { Topic = topic });
        await device.PublishAsync(new DeviceAudio { SessionId = sessionId, Sequence = sequence }, new PublishOptions { Topic = topic }); // end

        BusMessage<SttResponse> response = await transcript.Task.WaitAsync(Wait);
        Assert.Equal("ok", response.Envelope.Metadata!["status"]);
        Assert.Equal("plug-1", response.Envelope.Metadata["device_id"]);
        Assert.True(response.Data.Timings["speech_ms"] > 1000);
    }

    [Fact]
    public async Task Sixteen_concurrent_streams_each_get_their_answer()
    {
        const int sessions = 16;
        WavFile command = Command();
        var buses = new List<AliciaBus>();
        for (int i = 0; i < sessions; i++) buses.Add(await Client("sat" + i));
        try
        {
            VoiceSendResult[] results = await Task.WhenAll(buses.Select((b, i) =>
                VoiceClient.SendAsync(b, command.Pcm, 16000, 1, new VoiceSendOptions { Timeout = Wait, FrameBytes = 640 + 64 * i })));
            foreach (VoiceSendResult r in results)
            {
                Assert.Null(r.Error);
                Assert.Equal(1, r.Utterances);
                BusMessage<SttResponse> t = Assert.Single(r.Transcripts);
                Assert.Contains(t.Envelope.Metadata!["status"], new[] { "ok", "busy" }); // busy is a clear answer under overload
            }
            output.WriteLine(string.Join("\n", results.Select(r => r.Transcripts[0].Envelope.Metadata!["status"] + " " + r.Transcripts[0].Envelope.Metadata!.GetValueOrDefault("reason") + " stt_ms=" + r.Transcripts[0].Data.Timings["stt_ms"] + " queue_ms=" + r.Transcripts[0].Data.Timings["stt_queue_ms"])));
        }
        finally
        {
            foreach (AliciaBus b in buses) await b.DisposeAsync();
        }
    }

    private static async Task<(AudioFrameType, string)> RawAsync(VoiceSessionResponse session, Func<Stream, byte[][]> frames, bool closeAfter = false)
    {
        var endpoint = new Uri(session.Endpoint);
        using var client = new TcpClient();
        await client.ConnectAsync(endpoint.Host, endpoint.Port);
        NetworkStream stream = client.GetStream();
        foreach (byte[] f in frames(stream)) await stream.WriteAsync(f);
        if (closeAfter) client.Client.Shutdown(SocketShutdown.Send);
        using var cts = new CancellationTokenSource(Wait);
        while (true)
        {
            (AudioFrameType type, byte[] payload) = await VoiceClient.ReadFrameAsync(stream, cts.Token);
            if (type == AudioFrameType.Ready) continue;
            return (type, Encoding.UTF8.GetString(payload));
        }
    }
}
