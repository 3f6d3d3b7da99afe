using Alicia.Voice.Vad;
using BenchmarkDotNet.Attributes;
using Microsoft.ML.OnnxRuntime;

namespace Alicia.Benchmarks;

/// <summary>
/// Silero VAD v5, one 512-sample frame (32 ms at 16 kHz) per operation: <see cref="SileroVad"/> against a
/// bare ONNX Runtime loop over the same session (the same pinned-buffer IoBinding recipe, written inline
/// with nothing around it), and against the allocating NamedOnnxValue path for contrast. Needs
/// models/cache/silero_vad_v5.onnx (scripts/fetch-models.sh).
/// Run: dotnet run -c Release --project bench/Alicia.Benchmarks -- --filter '*VadBenchmarks*'
/// </summary>
[MemoryDiagnoser]
public class VadBenchmarks
{
    private SileroVadModel _model = null!;
    private SileroVad _vad = null!;
    private float[] _audio = null!;
    private int _offset;

    // Bare loop state.
    private float[] _input = null!, _stateA = null!, _stateB = null!, _output = null!;
    private long[] _sr = null!;
    private OrtValue[] _values = null!;
    private OrtIoBinding _ab = null!, _ba = null!;
    private RunOptions _run = null!;
    private bool _flip;

    // Allocating path.
    private Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float> _stateTensor = null!;

    [GlobalSetup]
    public void Setup()
    {
        string path = Environment.GetEnvironmentVariable("ALICIA_VAD_MODEL") ?? SileroVadModel.FindDefault()
            ?? throw new FileNotFoundException("models/cache/silero_vad_v5.onnx not found: run scripts/fetch-models.sh");
        _model = new SileroVadModel(path);
        _vad = _model.CreateStream();
        var random = new Random(3);
        _audio = new float[16000 * 4];
        for (int i = 0; i < _audio.Length; i++) _audio[i] = (float)(Math.Sin(i * 0.05) * 0.3 + (random.NextDouble() - 0.5) * 0.1);

        _input = GC.AllocateArray<float>(576, pinned: true);
        _stateA = GC.AllocateArray<float>(256, pinned: true);
        _stateB = GC.AllocateArray<float>(256, pinned: true);
        _output = GC.AllocateArray<float>(1, pinned: true);
        _sr = GC.AllocateArray<long>(1, pinned: true);
        _sr[0] = 16000;
        OrtMemoryInfo cpu = OrtMemoryInfo.DefaultInstance;
        _values =
        [
            OrtValue.CreateTensorValueFromMemory(cpu, _input.AsMemory(), [1, 576]),
            OrtValue.CreateTensorValueFromMemory(cpu, _stateA.AsMemory(), [2, 1, 128]),
            OrtValue.CreateTensorValueFromMemory(cpu, _stateB.AsMemory(), [2, 1, 128]),
            OrtValue.CreateTensorValueFromMemory(cpu, _sr.AsMemory(), []),
            OrtValue.CreateTensorValueFromMemory(cpu, _output.AsMemory(), [1, 1]),
        ];
        _ab = Bind(_values[1], _values[2]);
        _ba = Bind(_values[2], _values[1]);
        _run = new RunOptions();
        _stateTensor = new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(new float[256], [2, 1, 128]);
    }

    private OrtIoBinding Bind(OrtValue state, OrtValue stateN)
    {
        OrtIoBinding b = _model.Session.CreateIoBinding();
        b.BindInput("input", _values[0]);
        b.BindInput("state", state);
        b.BindInput("sr", _values[3]);
        b.BindOutput("output", _values[4]);
        b.BindOutput("stateN", stateN);
        return b;
    }

    private ReadOnlySpan<float> NextFrame()
    {
        _offset = (_offset + 512) % (_audio.Length - 512);
        return _audio.AsSpan(_offset, 512);
    }

    [Benchmark(Baseline = true, Description = "bare ORT IoBinding loop")]
    public float BareOnnxRuntime()
    {
        ReadOnlySpan<float> frame = NextFrame();
        _input.AsSpan(512, 64).CopyTo(_input);
        frame.CopyTo(_input.AsSpan(64));
        _model.Session.RunWithBinding(_run, _flip ? _ba : _ab);
        _flip = !_flip;
        return _output[0];
    }

    [Benchmark(Description = "SileroVad.Process")]
    public float SileroVadProcess() => _vad.Process(NextFrame());

    [Benchmark(Description = "NamedOnnxValue path (allocating)")]
    public float NamedOnnxValues()
    {
        ReadOnlySpan<float> frame = NextFrame();
        var input = new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>([1, 576]);
        frame.CopyTo(input.Buffer.Span[64..]);
        var inputs = new List<NamedOnnxValue>
        {
            NamedOnnxValue.CreateFromTensor("input", input),
            NamedOnnxValue.CreateFromTensor("state", _stateTensor),
            NamedOnnxValue.CreateFromTensor("sr", new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<long>(new long[] { 16000 }, [])),
        };
        using IDisposableReadOnlyCollection<DisposableNamedOnnxValue> results = _model.Session.Run(inputs);
        float p = results.First(r => r.Name == "output").AsTensor<float>()[0, 0];
        results.First(r => r.Name == "stateN").AsTensor<float>().ToArray().CopyTo(_stateTensor.Buffer.Span);
        return p;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _ab.Dispose();
        _ba.Dispose();
        _run.Dispose();
        foreach (OrtValue v in _values) v.Dispose();
        _vad.Dispose();
        _model.Dispose();
    }
}
