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
    [InlineData("Q8_0", 40_000_000, 46_000_000)] // the published q8_0: 43,550,795 bytes
    [InlineData("Q5_1", 29_000_000, 34_000_000)] // the published q5_1: 32,166,155 bytes
    public async Task A_quantized_tiny_en_sized_model_loads_and_transcribes_jfk_wav_to_the_token_cap(string format, long minBytes, long maxBytes)
    {
        WhisperWeights weights = Enum.Parse<WhisperWeights>(format);
        string path = RandomWhisperModel.GetOrCreate(TestAudio.ModelDirectory, WhisperDimensions.TinyEn with { Talkative = true, Weights = weights });
        Assert.InRange(new FileInfo(path).Length, minBytes, maxBytes);
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
