using System.Runtime.CompilerServices;
using Alicia.Voice.Speech.Espeak;
using Microsoft.ML.OnnxRuntime;

namespace Alicia.Voice.Speech.Piper;

/// <summary>
/// A Piper voice (VITS exported to ONNX) on ONNX Runtime: espeak-ng IPA per sentence, ids as piper-phonemize maps them,
/// inputs <c>input</c> int64 [1,T], <c>input_lengths</c> int64 [1], <c>scales</c> float32 [3] (noise, length, noise_w)
/// and <c>sid</c> int64 [1] for multi-speaker voices; output float32 [1,1,1,samples]. Each sentence is handed on as
/// soon as it is made, peak-normalised to 16-bit as Piper does.
/// </summary>
internal sealed class PiperSynthesizer : ISpeechSynthesizer, IDisposable
{
    private readonly InferenceSession _session;
    private readonly SessionOptions _options;
    private readonly bool _hasSid;

    public PiperSynthesizer(string modelPath, string? configPath = null, int threads = 1)
    {
        configPath ??= modelPath + ".json";
        if (!File.Exists(modelPath)) throw new FileNotFoundException($"Piper voice '{modelPath}' not found (alicia models pull <voice>)", modelPath);
        if (!File.Exists(configPath)) throw new FileNotFoundException($"Piper voice config '{configPath}' not found (it comes with the .onnx)", configPath);
        Config = PiperVoiceConfig.Load(configPath);
        _options = new SessionOptions { IntraOpNumThreads = Math.Max(1, threads), InterOpNumThreads = 1, ExecutionMode = ExecutionMode.ORT_SEQUENTIAL };
        try
        {
            _session = new InferenceSession(modelPath, _options);
        }
        catch
        {
            _options.Dispose();
            throw;
        }
        foreach (string input in new[] { "input", "input_lengths", "scales" })
            if (!_session.InputMetadata.ContainsKey(input)) throw new InvalidDataException($"{modelPath}: not a Piper voice (no '{input}' input)");
        _hasSid = _session.InputMetadata.ContainsKey("sid");
        Name = "piper:" + Path.GetFileNameWithoutExtension(modelPath);
    }

    public PiperVoiceConfig Config { get; }

    public string Name { get; }

    public SpeechFormat Format => new(Config.SampleRate);

    public async IAsyncEnumerable<ReadOnlyMemory<byte>> SynthesizeAsync(string text, SpeechSettings settings, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        List<string> sentences = await Task.Run(() => EspeakPhonemizer.Phonemize(text, Config.EspeakVoice), cancellationToken).ConfigureAwait(false);
        foreach (string phonemes in sentences)
        {
            cancellationToken.ThrowIfCancellationRequested();
            long[] ids = PiperPhonemeIds.Map(phonemes, Config.PhonemeIds);
            float[] audio = await Task.Run(() => Infer(ids, settings), cancellationToken).ConfigureAwait(false);
            yield return ToPcm(audio);
        }
    }

    /// <summary>One sentence's ids through the graph: the float samples.</summary>
    internal float[] Infer(long[] ids, SpeechSettings settings)
    {
        float lengthScale = (float)(Config.LengthScale / Math.Clamp(settings.Speed, 0.25, 4));
        using OrtValue input = OrtValue.CreateTensorValueFromMemory(ids, [1, ids.Length]);
        using OrtValue lengths = OrtValue.CreateTensorValueFromMemory(new long[] { ids.Length }, [1]);
        using OrtValue scales = OrtValue.CreateTensorValueFromMemory(new[] { Config.NoiseScale, lengthScale, Config.NoiseW }, [3]);
        using OrtValue sid = OrtValue.CreateTensorValueFromMemory(new long[] { settings.SpeakerId ?? 0 }, [1]);
        var names = new List<string> { "input", "input_lengths", "scales" };
        var values = new List<OrtValue> { input, lengths, scales };
        if (_hasSid)
        {
            names.Add("sid");
            values.Add(sid);
        }
        using var run = new RunOptions();
        using IDisposableReadOnlyCollection<OrtValue> outputs = _session.Run(run, names, values, _session.OutputNames);
        return outputs[0].GetTensorDataAsSpan<float>().ToArray();
    }

    /// <summary>Peak-normalised 16-bit PCM (Piper scales each sentence to full range, with a floor for near silence).</summary>
    internal static byte[] ToPcm(ReadOnlySpan<float> audio)
    {
        float peak = 0.01f;
        foreach (float s in audio) peak = Math.Max(peak, Math.Abs(s));
        float scale = 32767f / peak;
        var pcm = new byte[audio.Length * 2];
        for (int i = 0; i < audio.Length; i++)
        {
            short v = (short)Math.Clamp(audio[i] * scale, short.MinValue, short.MaxValue);
            System.Buffers.Binary.BinaryPrimitives.WriteInt16LittleEndian(pcm.AsSpan(2 * i), v);
        }
        return pcm;
    }

    public void Dispose()
    {
        _session.Dispose();
        _options.Dispose();
    }
}
