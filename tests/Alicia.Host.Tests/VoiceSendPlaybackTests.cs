using System.Globalization;
using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Engine.Hosting;
using Alicia.Tools.Models;
using Alicia.Voice;
using Alicia.Voice.Audio;
using Alicia.Voice.Speech;
using Alicia.Voice.Speech.Espeak;
using Alicia.Voice.Stt;

namespace Alicia.Host.Tests;

/// <summary>
/// <c>alicia voice send</c> plays the spoken reply on a sound device through ALSA (libasound): the real library on ALSA's
/// <c>null</c> PCM device (in every ALSA configuration; it consumes the audio), and a device that does not exist is said
/// clearly while <c>--reply-out</c> still gets the reply. A real engine with the voice service (random-weight Whisper:
/// the transcript is meaningless) and a router stand-in that answers every transcript with a spoken confirmation.
/// </summary>
public sealed class VoiceSendPlaybackTests : IAsyncLifetime
{
    private readonly TempDirectory _dir = new("alicia-voice-send");
    private TestEngine _engine = null!;
    private AliciaBus _router = null!;
    private IAsyncDisposable _answering = null!;
    private string _command = "";

    public async Task InitializeAsync()
    {
        var voice = new VoiceService(new VoiceOptions
        {
            VadModelPath = Path.Combine(Repository.Root, "models", "cache", "silero_vad_v5.onnx"),
            WhisperModelPath = RandomWhisperModel.GetOrCreate(Path.Combine(Path.GetTempPath(), "alicia-voice-test-models"), WhisperDimensions.Micro),
            Quality = new QualityOptions { MinConfidence = 0, MaxNoSpeechProbability = 1 }, // random weights: let everything through
        });
        _engine = await TestEngine.StartAsync(services: e => e.AddService(voice));
        _router = await _engine.ClientAsync("router");
        _answering = await _router.SubscribeAsync<SttResponse>(async (m, ct) => await _router.PublishAsync(new AiResponse
        {
            SessionId = m.Data.SessionId, DeviceId = m.Data.DeviceId, ReplyId = "r-" + m.Data.SessionId, Text = "The kitchen light is on.",
            IsFinal = true, IsFixedPhrase = true, Language = "en",
        }, cancellationToken: ct), new SubscribeOptions { ReceiveAll = true });

        // The spoken command: espeak-ng's own voice (22050 Hz; the engine resamples), with silence around it.
        var pcm = new MemoryStream();
        pcm.Write(new byte[22050]);
        await foreach (ReadOnlyMemory<byte> chunk in new EspeakSynthesizer().SynthesizeAsync("turn on the kitchen light", SpeechSettings.Default, CancellationToken.None))
            pcm.Write(chunk.Span);
        pcm.Write(new byte[33075]);
        _command = Path.Combine(_dir.Path, "command.wav");
        await File.WriteAllBytesAsync(_command, WavFile.Build(pcm.ToArray(), EspeakLibrary.SampleRate));
    }

    public async Task DisposeAsync()
    {
        await _answering.DisposeAsync();
        await _router.DisposeAsync();
        await _engine.DisposeAsync();
        _dir.Dispose();
    }

    private Task<(int Code, string Out, string Err)> SendAsync(params string[] extra) => CliTests.Run(null,
        ["voice", "send", _command, "--port", _engine.Port.ToString(CultureInfo.InvariantCulture), "--keys", _engine.Directory.Keys,
            "--data", _engine.Directory.Data, "--device", "kitchen-satellite", "--timeout", "60", .. extra]);

    [Fact]
    public async Task The_reply_plays_on_the_sound_device()
    {
        (int code, string output, string error) = await SendAsync("--sound-device", "null");

        Assert.True(code == 0, error);
        Assert.Matches(@"reply r-\S+: spoken, [0-9.]+ s at 22050 Hz in \d+ chunk\(s\): ""The kitchen light is on.""", output);
        Assert.Matches(@"reply played on sound device 'null' \(1 reply\(ies\), [1-9]\d{4,} bytes\)", output); // over 10 kB: about a second of speech
        Assert.DoesNotContain("no sound device", error);
    }

    [Fact]
    public async Task A_missing_sound_device_is_said_clearly_and_the_reply_still_goes_to_the_file()
    {
        string file = Path.Combine(_dir.Path, "reply.wav");
        (int code, string output, string error) = await SendAsync("--sound-device", "alicia-no-such-device", "--reply-out", file);

        Assert.True(code == 0, error);
        Assert.Contains("alicia voice: no sound device: ALSA could not open the sound device 'alicia-no-such-device'", error);
        Assert.Contains($"the reply goes to {file} only", error);
        Assert.Contains($"reply written to {file}", output);
        Assert.DoesNotContain("reply played", output);
        WavFile reply = WavFile.Read(file);
        Assert.Equal(22050, reply.SampleRate);
        Assert.True(reply.DurationSeconds > 0.8, $"{reply.DurationSeconds:0.00} s");
    }

    [Fact]
    public async Task Without_a_sound_device_or_a_file_it_says_how_to_keep_the_reply()
    {
        (int code, string output, string error) = await SendAsync("--sound-device", "alicia-no-such-device");

        Assert.True(code == 0, error);
        Assert.Contains("no sound device", error);
        Assert.Contains("the reply is not played (--reply-out FILE writes it to a WAV)", error);
        Assert.Contains("utterance(s)", output); // the transcripts are printed as before
        Assert.DoesNotContain("reply r-", output); // the reply was not asked for
        Assert.DoesNotContain("reply played", output);
    }
}
