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
    private readonly RunOptions _run;

    // Input buffers for one sentence at a time, kept for the next (a concurrent sentence makes its own).
    private PiperInputs? _spareInputs;

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
        _run = new RunOptions();
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
            yield return await Task.Run(() => SpeakSentence(phonemes, settings), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// One sentence's phonemes to its PCM (what each step of <see cref="SynthesizeAsync"/> hands on). Per call it
    /// allocates the PCM it returns, the input tensor's <see cref="OrtValue"/> (its length is the sentence's) and what
    /// <see cref="InferenceSession.Run(RunOptions, IReadOnlyCollection{string}, IReadOnlyCollection{OrtValue}, IReadOnlyCollection{string})"/>
    /// allocates for its output; the ids and the small inputs live in buffers reused from sentence to sentence.
    /// </summary>
    internal byte[] SpeakSentence(string phonemes, SpeechSettings settings)
    {
        PiperInputs inputs = Interlocked.Exchange(ref _spareInputs, null) ?? new PiperInputs(_hasSid);
        try
        {
            int count = PiperPhonemeIds.Map(phonemes, Config.PhonemeIds, ref inputs.Ids);
            return Infer(inputs, count, settings);
        }
        finally
        {
            if (Interlocked.CompareExchange(ref _spareInputs, inputs, null) is not null) inputs.Dispose();
        }
    }

    /// <summary>One sentence's ids (the first <paramref name="count"/> of <paramref name="inputs"/>) through the graph: its PCM.</summary>
    private byte[] Infer(PiperInputs inputs, int count, SpeechSettings settings)
    {
        inputs.Lengths[0] = count;
        inputs.Scales[0] = Config.NoiseScale;
        inputs.Scales[1] = (float)(Config.LengthScale / Math.Clamp(settings.Speed, 0.25, 4));
        inputs.Scales[2] = Config.NoiseW;
        inputs.Sid[0] = settings.SpeakerId ?? 0;
        inputs.Shape[1] = count; // the tensor below lives for this run only: the shared shape is not changed under it
        using OrtValue input = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, inputs.Ids.AsMemory(0, count), inputs.Shape);
        inputs.Values[0] = input;
        try
        {
            using IDisposableReadOnlyCollection<OrtValue> outputs = _session.Run(_run, inputs.Names, inputs.Values, _session.OutputNames);
            return ToPcm(outputs[0].GetTensorDataAsSpan<float>());
        }
        finally
        {
            inputs.Values[0] = null!;
        }
    }

    /// <summary>Peak-normalised 16-bit PCM (Piper scales each sentence to full range, with a floor for near silence).</summary>
    internal static byte[] ToPcm(ReadOnlySpan<float> audio)
    {
        float peak = 0.01f;
        foreach (float s in audio) peak = Math.Max(peak, Math.Abs(s));
        float scale = 32767f / peak;
        byte[] pcm = GC.AllocateUninitializedArray<byte>(audio.Length * 2); // every byte is written below
        Span<short> samples = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, short>(pcm.AsSpan());
        for (int i = 0; i < audio.Length; i++)
        {
            short v = (short)Math.Clamp(audio[i] * scale, short.MinValue, short.MaxValue);
            samples[i] = BitConverter.IsLittleEndian ? v : System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(v);
        }
        return pcm;
    }

    public void Dispose()
    {
        Interlocked.Exchange(ref _spareInputs, null)?.Dispose();
        _run.Dispose();
        _session.Dispose();
        _options.Dispose();
    }
}
