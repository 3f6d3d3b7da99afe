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

    [Theory]
    [InlineData("", "")]
    [InlineData(" ... , ", "")]
    [InlineData("Hello", "Hello|")]
    [InlineData("a,b. c", "a,b|.;c|")]
    public void Clauses_skip_empty_ones_and_keep_marks_inside_words(string text, string expected)
    {
        string actual = string.Join(";", EspeakPhonemizer.Clauses(text).Select(c => c.Clause + "|" + (c.Punctuation == '\0' ? "" : c.Punctuation.ToString())));
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void Phonemes_are_appended_after_what_the_builder_holds_and_repeated_calls_agree()
    {
        var builder = new System.Text.StringBuilder("kept ");
        EspeakLibrary.AppendPhonemes("turn on the kitchen light", "en-us", builder);
        Assert.Equal("kept tˈɜːn ɔnðə kˈɪtʃən lˈaɪt", builder.ToString());

        // The phonemizer's per-thread builder carries nothing from one call to the next.
        List<string> first = EspeakPhonemizer.Phonemize("Hello, world. Turn on the kitchen light!", "en-us");
        Assert.Equal(["tˈɜːn ɔnðə kˈɪtʃən lˈaɪt"], EspeakPhonemizer.Phonemize("turn on the kitchen light", "en-us"));
        Assert.Equal(first, EspeakPhonemizer.Phonemize("Hello, world. Turn on the kitchen light!", "en-us"));
    }

    [Fact]
    public void A_clause_longer_than_the_stack_buffers_phonemizes_whole()
    {
        // 700 bytes of UTF-8 in and more than 512 bytes of IPA out: the pooled paths for both.
        string clause = string.Join(" ", Enumerable.Repeat("light", 117));
        string phonemes = EspeakLibrary.Phonemize(clause, "en-us");
        Assert.True(System.Text.Encoding.UTF8.GetByteCount(clause) > 512 && System.Text.Encoding.UTF8.GetByteCount(phonemes) > 512, phonemes);
        Assert.Equal(117, phonemes.Split("aɪt").Length - 1);
        Assert.Equal([phonemes], EspeakPhonemizer.Phonemize(clause, "en-us"));
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
    public void The_same_sentence_twice_is_as_long_and_a_cancelled_one_throws()
    {
        // Lengths within 1 %, not bytes: in one process espeak-ng's noise sources draw on rand(), which runs on between
        // calls, and the bare library's lengths vary by a few dozen samples too (26,611-26,643 measured).
        var espeak = new EspeakSynthesizer("en-us");
        byte[] first = espeak.Speak("Turn on the kitchen light.", 175, CancellationToken.None);
        Assert.InRange(first.Length, 22050, 3 * 44100); // 0.5-3 s of speech
        Assert.InRange(espeak.Speak("Turn on the kitchen light.", 175, CancellationToken.None).Length, first.Length * 0.99, first.Length * 1.01);
        Assert.Throws<OperationCanceledException>(() => espeak.Speak("Turn on the kitchen light.", 175, new CancellationToken(canceled: true)));
        Assert.InRange(espeak.Speak("Turn on the kitchen light.", 175, CancellationToken.None).Length, first.Length * 0.99, first.Length * 1.01);
    }

    [Fact]
    public void An_unknown_voice_is_named()
    {
        var e = Assert.Throws<EspeakException>(() => EspeakLibrary.Phonemize("hello", "xx-no-such-voice"));
        Assert.Contains("xx-no-such-voice", e.Message);
    }
}
