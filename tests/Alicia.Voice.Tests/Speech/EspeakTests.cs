using Alicia.Voice.Audio;
using Alicia.Voice.Speech;
using Alicia.Voice.Speech.Espeak;

namespace Alicia.Voice.Tests.Speech;

/// <summary>espeak-ng through P/Invoke to libespeak-ng.so.1: Piper's phonemes, and espeak-ng's own voice run through Silero VAD.</summary>
public sealed class EspeakTests
{
    [Fact]
    public void The_golden_command_phonemizes_as_piper_expects()
    {
        List<string> sentences = EspeakPhonemizer.Phonemize("turn on the kitchen light", "en-us");

        Assert.Equal(["tˈɜːn ɔnðə kˈɪtʃən lˈaɪt"], sentences);
    }

    [Fact]
    public void Clause_punctuation_is_put_back_and_sentences_are_cut()
    {
        List<string> sentences = EspeakPhonemizer.Phonemize("Hello, world. Turn on the kitchen light!", "en-us");

        Assert.Equal(2, sentences.Count);
        string hello = EspeakLibrary.Phonemize("Hello", "en-us"), world = EspeakLibrary.Phonemize("world", "en-us");
        Assert.Equal($"{hello}, {world}.", sentences[0]);
        Assert.Equal("tˈɜːn ɔnðə kˈɪtʃən lˈaɪt!", sentences[1]);
    }

    [Theory]
    [InlineData("It is 3.5 degrees, please.", "It is 3.5 degrees|,;please|.")]
    [InlineData("Really?! Yes", "Really|!;Yes|")]
    [InlineData("wait... ok", "wait|.;ok|")]
    public void Clauses_end_at_punctuation_before_white_space(string text, string expected)
    {
        string actual = string.Join(";", EspeakPhonemizer.Clauses(text).Select(c => c.Clause + "|" + (c.Punctuation == '\0' ? "" : c.Punctuation.ToString())));
        Assert.Equal(expected, actual);
    }

    [Fact]
    public async Task Phonemes_from_parallel_callers_are_the_same_as_from_one()
    {
        string[] texts = ["turn on the kitchen light", "open the garage door", "what time is it"];
        string[] alone = [.. texts.Select(t => EspeakLibrary.Phonemize(t, "en-us"))];

        string[][] parallel = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => texts.Select(t => EspeakLibrary.Phonemize(t, "en-us")).ToArray())));

        Assert.All(parallel, p => Assert.Equal(alone, p));
    }

    [Fact]
    public async Task Espeak_speaks_a_sentence_that_Silero_VAD_hears_as_speech_of_plausible_length()
    {
        var espeak = new EspeakSynthesizer("en-us");
        var pcm = new MemoryStream();
        await foreach (ReadOnlyMemory<byte> chunk in espeak.SynthesizeAsync("Turn on the kitchen light.", SpeechSettings.Default, CancellationToken.None))
            pcm.Write(chunk.Span);

        Assert.Equal(22050, espeak.Format.SampleRate);
        float[] mono16k = WavFile.Parse(WavFile.Build(pcm.ToArray(), espeak.Format.SampleRate)).ToMono16k();
        List<(double Start, double End)> segments = TestAudio.Segments(TestAudio.Concat(TestAudio.Silence(0.3), mono16k, TestAudio.Silence(0.5)));
        double speech = segments.Sum(s => s.End - s.Start);
        Assert.NotEmpty(segments);
        Assert.InRange(speech, 0.8, 3.0); // five words at 175 wpm
    }

    [Fact]
    public async Task A_faster_speed_gives_shorter_audio()
    {
        var espeak = new EspeakSynthesizer("en-us");
        long normal = await LengthAsync(espeak, SpeechSettings.Default);
        long fast = await LengthAsync(espeak, new SpeechSettings { Speed = 2 });
        Assert.True(fast < normal * 0.75, $"{fast} vs {normal} bytes");

        static async Task<long> LengthAsync(ISpeechSynthesizer s, SpeechSettings settings)
        {
            long n = 0;
            await foreach (ReadOnlyMemory<byte> c in s.SynthesizeAsync("Open the garage door please.", settings, CancellationToken.None)) n += c.Length;
            return n;
        }
    }

    [Fact]
    public void An_unknown_voice_is_named()
    {
        var e = Assert.Throws<EspeakException>(() => EspeakLibrary.Phonemize("hello", "xx-no-such-voice"));
        Assert.Contains("xx-no-such-voice", e.Message);
    }
}
