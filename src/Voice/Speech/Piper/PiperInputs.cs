using Microsoft.ML.OnnxRuntime;

namespace Alicia.Voice.Speech.Piper;

/// <summary>
/// A Piper voice's inputs for one sentence at a time, kept between sentences so a sentence allocates no arrays or
/// lists of its own: the ids buffer (grown as needed), and <c>input_lengths</c>, <c>scales</c> and <c>sid</c>
/// as tensors over fixed buffers whose values are written before each run. Slot 0 of <see cref="Values"/> is the
/// sentence's <c>input</c> tensor, set for the run only.
/// </summary>
internal sealed class PiperInputs : IDisposable
{
    private static readonly string[] NamesWithoutSid = ["input", "input_lengths", "scales"];
    private static readonly string[] NamesWithSid = ["input", "input_lengths", "scales", "sid"];

    private readonly OrtValue _lengths, _scales, _sid;

    public PiperInputs(bool hasSid)
    {
        OrtMemoryInfo cpu = OrtMemoryInfo.DefaultInstance;
        _lengths = OrtValue.CreateTensorValueFromMemory(cpu, Lengths.AsMemory(), [1]);
        _scales = OrtValue.CreateTensorValueFromMemory(cpu, Scales.AsMemory(), [3]);
        _sid = OrtValue.CreateTensorValueFromMemory(cpu, Sid.AsMemory(), [1]);
        Names = hasSid ? NamesWithSid : NamesWithoutSid;
        Values = hasSid ? [null!, _lengths, _scales, _sid] : [null!, _lengths, _scales];
    }

    /// <summary>The sentence's phoneme ids from index 0 (<see cref="PiperPhonemeIds.Map(ReadOnlySpan{char}, IReadOnlyDictionary{string, long[]}, ref long[])"/> grows it).</summary>
    public long[] Ids = new long[256];

    public long[] Lengths { get; } = GC.AllocateArray<long>(1, pinned: true);

    public float[] Scales { get; } = GC.AllocateArray<float>(3, pinned: true);

    public long[] Sid { get; } = GC.AllocateArray<long>(1, pinned: true);

    /// <summary>The <c>input</c> tensor's shape, [1, ids]: ONNX Runtime copies it when the tensor is made.</summary>
    public long[] Shape { get; } = [1, 0];

    public string[] Names { get; }

    public OrtValue[] Values { get; }

    public void Dispose()
    {
        _lengths.Dispose();
        _scales.Dispose();
        _sid.Dispose();
    }
}
