using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Tools.Models;
using Alicia.Tools.Voice;
using Alicia.Voice.Speech;
using Alicia.Voice.Speech.Espeak;
using Alicia.Voice.Speech.Output;
using Alicia.Voice.Speech.Piper;

namespace Alicia.Voice.Tests.Speech;

/// <summary>
/// The Piper path for real (espeak-ng phonemes, Piper ids, ONNX Runtime, streaming) on the Piper-shaped random-weight
/// voice: no Piper weights can be downloaded here, so lengths and plumbing are checked, never how it sounds.
/// </summary>
public sealed class PiperTests
{
    private static string Voice(int speakers = 1) => RandomPiperVoice.GetOrCreate(TestAudio.ModelDirectory, speakers);

    private static async Task<int> SamplesAsync(ISpeechSynthesizer voice, string text, SpeechSettings settings)
    {
        int bytes = 0;
        await foreach (ReadOnlyMemory<byte> chunk in voice.SynthesizeAsync(text, settings, CancellationToken.None)) bytes += chunk.Length;
        return bytes / 2;
    }

    [Fact]
    public async Task A_sentence_becomes_256_samples_per_phoneme_id_scaled_by_speed()
    {
        using var piper = new PiperSynthesizer(Voice());
        long[] ids = PiperPhonemeIds.Map(EspeakPhonemizer.Phonemize("Turn on the kitchen light.", "en-us")[0], piper.Config.PhonemeIds);

        Assert.Equal("piper:" + Path.GetFileNameWithoutExtension(Voice()), piper.Name);
        Assert.Equal(22050, piper.Format.SampleRate);
        Assert.Equal(ids.Length * 256, await SamplesAsync(piper, "Turn on the kitchen light.", SpeechSettings.Default));
        Assert.Equal((int)Math.Floor(ids.Length * 256 * 0.5), await SamplesAsync(piper, "Turn on the kitchen light.", new SpeechSettings { Speed = 2 }));
    }

    [Fact]
    public async Task Each_sentence_is_handed_on_as_soon_as_it_is_made()
    {
        using var piper = new PiperSynthesizer(Voice());
        var chunks = new List<int>();
        await foreach (ReadOnlyMemory<byte> chunk in piper.SynthesizeAsync("It is sunny. Twenty degrees, light wind.", SpeechSettings.Default, CancellationToken.None)) chunks.Add(chunk.Length);

        List<string> sentences = EspeakPhonemizer.Phonemize("It is sunny. Twenty degrees, light wind.", "en-us");
        Assert.Equal(2, chunks.Count);
        Assert.Equal(sentences.Select(s => PiperPhonemeIds.Map(s, piper.Config.PhonemeIds).Length * 256 * 2), chunks);
    }

    [Fact]
    public async Task Sentences_spoken_at_once_on_one_voice_are_the_same_as_spoken_one_by_one()
    {
        using var piper = new PiperSynthesizer(Voice(speakers: 3));
        string[] phonemes = [.. EspeakPhonemizer.Phonemize("Turn on the light. It is sunny and warm today. Done.", "en-us")];
        SpeechSettings[] settings = [new() { SpeakerId = 0 }, new() { SpeakerId = 2, Speed = 2 }];
        byte[][] alone = [.. phonemes.SelectMany(p => settings.Select(s => piper.SpeakSentence(p, s)))];

        // Each concurrent sentence takes its own input buffers (one is kept between sentences): none sees another's ids or scales.
        byte[][][] together = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ =>
            Task.Run(() => phonemes.SelectMany(p => settings.Select(s => piper.SpeakSentence(p, s))).ToArray())));

        Assert.All(together, run => Assert.Equal(alone, run));
        Assert.Equal(3, phonemes.Select(p => PiperPhonemeIds.Map(p, piper.Config.PhonemeIds).Length).Distinct().Count()); // three lengths, the same buffers
    }

    [Fact]
    public void PCM_is_peak_normalised_little_endian_16_bit_truncated_toward_zero()
    {
        // Peak 0.5: scale 65,534. -0.25 gives -16,383.5, truncated to -16,383 (0xC001).
        Assert.Equal(new byte[] { 0xFF, 0x7F, 0x01, 0xC0, 0x00, 0x00 }, PiperSynthesizer.ToPcm([0.5f, -0.25f, 0f]));
        // Near silence: the 0.01 floor keeps noise quiet (0.001 x 3,276,700 = 3,276.7, truncated to 3,276 = 0x0CCC).
        Assert.Equal(new byte[] { 0xCC, 0x0C, 0x34, 0xF3 }, PiperSynthesizer.ToPcm([0.001f, -0.001f]));
        Assert.Equal(new byte[] { 0x01, 0x80 }, PiperSynthesizer.ToPcm([-1f])); // full scale is ±32,767, never -32,768
        Assert.Empty(PiperSynthesizer.ToPcm([]));
    }

    [Fact]
    public async Task A_multi_speaker_voice_takes_the_speaker_id()
    {
        using var piper = new PiperSynthesizer(Voice(speakers: 3));
        Assert.Equal(3, piper.Config.NumSpeakers);
        var a = new MemoryStream();
        var b = new MemoryStream();
        await foreach (ReadOnlyMemory<byte> c in piper.SynthesizeAsync("Done.", new SpeechSettings { SpeakerId = 0 }, CancellationToken.None)) a.Write(c.Span);
        await foreach (ReadOnlyMemory<byte> c in piper.SynthesizeAsync("Done.", new SpeechSettings { SpeakerId = 2 }, CancellationToken.None)) b.Write(c.Span);
        Assert.Equal(a.Length, b.Length);
        Assert.NotEqual(a.ToArray(), b.ToArray());
    }

    [Fact]
    public void A_model_that_is_not_a_Piper_voice_is_refused_by_name()
    {
        string vad = TestAudio.VadModelPath;
        string dir = Path.Combine(TestAudio.ModelDirectory, "not-piper");
        Directory.CreateDirectory(dir);
        string model = Path.Combine(dir, "silero.onnx");
        File.Copy(vad, model, overwrite: true);
        File.Copy(Voice() + ".json", model + ".json", overwrite: true);
        var e = Assert.Throws<InvalidDataException>(() => new PiperSynthesizer(model));
        Assert.Contains("not a Piper voice", e.Message);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task The_engine_speaks_replies_with_the_configured_Piper_voice_or_with_espeak_when_it_is_missing(bool present)
    {
        string voice = present ? Voice() : Path.Combine(TestAudio.ModelDirectory, "no-such-voice.onnx");
        await using VoiceEngineHarness harness = await VoiceEngineHarness.StartAsync(o => o with { Speech = o.Speech with { PiperModelPath = voice } });
        await using AliciaBus satellite = await harness.ClientAsync("kitchen-satellite");
        await using IAsyncDisposable router = await satellite.SubscribeAsync<SttResponse>((m, ct) => new ValueTask(satellite.PublishAsync(new AiResponse
        {
            SessionId = m.Data.SessionId, DeviceId = m.Data.DeviceId, ReplyId = "r", Text = "Turn on the kitchen light.", IsFinal = true,
        }, cancellationToken: ct)));

        VoiceSendResult result = await VoiceClient.SendAsync(satellite, VoiceEngineHarness.Command().Pcm, 16000, 1,
            new VoiceSendOptions { DeviceId = "kitchen-satellite", ReceiveReplies = true, Timeout = VoiceEngineHarness.Wait });

        Assert.Null(result.Error);
        SpokenReply reply = Assert.Single(result.Replies.All);
        Assert.Equal(ReplyEndStatus.Spoken, reply.Status);
        Assert.Equal(present ? ["piper", "espeak-ng"] : ["espeak-ng"], harness.Voice.Speech!.Voices.Voices.Select(v => v.Name.Split(':')[0]));
        if (present)
        {
            var config = PiperVoiceConfig.Load(voice + ".json");
            long[] ids = PiperPhonemeIds.Map(EspeakPhonemizer.Phonemize("Turn on the kitchen light.", "en-us")[0], config.PhonemeIds);
            Assert.Equal(ids.Length * 256 * 2, reply.Pcm.Length); // the random graph's exact length: Piper's path ran
        }
        else Assert.InRange(ReplyAudio.SpeechSeconds(reply), 0.8, 3.0); // espeak-ng's real speech
    }
}
