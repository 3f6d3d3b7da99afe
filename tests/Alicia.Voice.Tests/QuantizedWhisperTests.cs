using Alicia.Tools.Models;
using Alicia.Voice.Audio;
using Alicia.Voice.Stt;
using Xunit.Abstractions;

namespace Alicia.Voice.Tests;

/// <summary>
/// Random-weight Whisper models with tiny.en's shapes in ggml's Q8_0 and Q5_1 block formats (as the published
/// ggml-tiny.en-q8_0.bin and -q5_1.bin) load in the shipped whisper.cpp and run the whole path. Compute cost
/// only: the weights are random, the text meaningless.
/// </summary>
public sealed class QuantizedWhisperTests(ITestOutputHelper output)
{
    [JfkTheory]
    [InlineData("Q8_0", 43_550_795)] // the published ggml-tiny.en-q8_0.bin's size
    [InlineData("Q5_1", 32_166_155)] // the published ggml-tiny.en-q5_1.bin's size
    public async Task A_quantized_tiny_en_sized_model_loads_and_transcribes_jfk_wav_to_the_token_cap(string format, long publishedBytes)
    {
        WhisperWeights weights = Enum.Parse<WhisperWeights>(format);
        string path = RandomWhisperModel.GetOrCreate(TestAudio.ModelDirectory, WhisperDimensions.TinyEn with { Talkative = true, Weights = weights });
        // Quantizing saves exactly the bytes it saves in the published files (ggml-tiny.en.bin: 77,704,715 bytes): every
        // tensor has the published type and size; only the vocabulary's text differs from the real one.
        long f16 = new FileInfo(RandomWhisperModel.GetOrCreate(TestAudio.ModelDirectory, WhisperDimensions.TinyEn with { Talkative = true })).Length;
        Assert.Equal(77_704_715 - publishedBytes, f16 - new FileInfo(path).Length);
        await using var stt = new WhisperSpeechToText(new WhisperOptions { ModelPath = path });
        float[] audio = WavFile.Read(TestAudio.JfkPath).ToMono16k();

        SttResult result = await stt.TranscribeAsync(audio, new SttOptions { MaxTokens = 32 }, CancellationToken.None);

        output.WriteLine($"{Path.GetFileName(path)}: {new FileInfo(path).Length:N0} bytes; {audio.Length / 16000.0:0.0} s, ctx {result.AudioContext}, {result.Tokens} tokens: {result.Text}");
        Assert.Equal(32, result.Tokens); // the talkative weights survive quantization: every step picks an ordinary token
        Assert.Equal(AudioContext.ForSamples(audio.Length), result.AudioContext);
        Assert.NotEmpty(result.Text);
    }
}

/// <summary>A theory that reports itself skipped, with the reason, when jfk.wav is not beside the checkout.</summary>
public sealed class JfkTheoryAttribute : TheoryAttribute
{
    public JfkTheoryAttribute()
    {
        if (!File.Exists(TestAudio.JfkPath))
            Skip = $"{TestAudio.JfkPath} is absent (it lives in shared/testdata beside the checkout, not in the repository)";
    }
}
