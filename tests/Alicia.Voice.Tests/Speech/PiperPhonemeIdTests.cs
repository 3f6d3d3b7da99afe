using Alicia.Voice.Speech.Piper;

namespace Alicia.Voice.Tests.Speech;

/// <summary>Phoneme ids as piper-phonemize makes them, and the voice config as Piper writes it.</summary>
public sealed class PiperPhonemeIdTests
{
    private static readonly Dictionary<string, long[]> Map = new()
    {
        ["_"] = [0], ["^"] = [1], ["$"] = [2], [" "] = [3], ["t"] = [32], ["ˈ"] = [120], ["ɜ"] = [62], ["ː"] = [122], ["n"] = [26], ["e"] = [18], ["\u0301"] = [140],
    };

    [Fact]
    public void Ids_start_with_bos_and_pad_put_a_pad_after_each_phoneme_and_end_with_eos()
    {
        Assert.Equal([1, 0, 32, 0, 120, 0, 62, 0, 122, 0, 26, 0, 2], PiperPhonemeIds.Map("tˈɜːn", Map));
    }

    [Fact]
    public void Ids_are_over_NFD_codepoints_and_unknown_phonemes_are_skipped()
    {
        // é (U+00E9) is e + U+0301 in NFD; '?' is not in this voice's map.
        Assert.Equal([1, 0, 18, 0, 140, 0, 3, 0, 2], PiperPhonemeIds.Map("é? ", Map));
        Assert.Equal("U+003F", PiperPhonemeIds.Missing("é?", Map));
    }

    [Theory]
    [InlineData("tˈɜːn", new long[] { 1, 0, 32, 0, 120, 0, 62, 0, 122, 0, 26, 0, 2 })]
    [InlineData("é? ", new long[] { 1, 0, 18, 0, 140, 0, 3, 0, 2 })]
    [InlineData("t\\uD800n", new long[] { 1, 0, 32, 0, 26, 0, 2 })] // an unpaired surrogate is U+FFFD: not in the map
    [InlineData("", new long[] { 1, 0, 2 })]
    public void Ids_into_a_reused_buffer_are_the_same_whatever_its_size_and_the_map_type(string phonemes, long[] expected)
    {
        phonemes = System.Text.RegularExpressions.Regex.Unescape(phonemes);
        long[] small = new long[1]; // grown, several times for the longest
        int count = PiperPhonemeIds.Map(phonemes, Map, ref small);
        Assert.Equal(expected, small[..count]);

        // A map that is not a Dictionary<string, long[]> is looked up by string: the same ids.
        long[] large = new long[64];
        int sorted = PiperPhonemeIds.Map(phonemes, new SortedDictionary<string, long[]>(Map, StringComparer.Ordinal), ref large);
        Assert.Equal(expected, large[..sorted]);
        Assert.Equal(expected, PiperPhonemeIds.Map(phonemes, Map));
    }

    [Fact]
    public void The_config_gives_rate_voice_speakers_and_inference_defaults()
    {
        const string json = """
            {"audio":{"sample_rate":16000},"espeak":{"voice":"en-gb"},"num_speakers":2,"speaker_id_map":{"a":0,"b":1},
             "inference":{"noise_scale":0.5,"length_scale":1.2,"noise_w":0.7},"phoneme_id_map":{"_":[0],"^":[1],"$":[2],"a":[14]}}
            """;
        PiperVoiceConfig config = PiperVoiceConfig.Parse(System.Text.Encoding.UTF8.GetBytes(json));
        Assert.Equal(16000, config.SampleRate);
        Assert.Equal("en-gb", config.EspeakVoice);
        Assert.Equal(2, config.NumSpeakers);
        Assert.Equal(1, config.SpeakerIds["b"]);
        Assert.Equal((0.5f, 1.2f, 0.7f), (config.NoiseScale, config.LengthScale, config.NoiseW));
        Assert.Equal([14L], config.PhonemeIds["a"]);
    }

    [Fact]
    public void A_config_without_the_special_symbols_is_refused_by_name()
    {
        var e = Assert.Throws<InvalidDataException>(() => PiperVoiceConfig.Parse("""{"phoneme_id_map":{"_":[0],"^":[1]}}"""u8, "x.onnx.json"));
        Assert.Contains("'$'", e.Message);
    }
}
