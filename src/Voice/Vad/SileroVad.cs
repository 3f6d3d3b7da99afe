using Microsoft.ML.OnnxRuntime;

namespace Alicia.Voice.Vad;

/// <summary>
/// The Silero VAD v5 ONNX model, loaded once and shared by every stream (ONNX Runtime sessions are safe
/// to run concurrently; each stream brings its own buffers and bindings). One intra-op thread, one
/// inter-op thread, sequential execution: per-frame work is tiny, and streams run in parallel instead.
/// </summary>
internal sealed class SileroVadModel : IDisposable
{
    public const int SampleRate = 16000;
    public const int FrameSamples = 512;
    public const int ContextSamples = 64;
    public const int StateSize = 2 * 1 * 128;

    private readonly SessionOptions _options;

    public SileroVadModel(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"Silero VAD v5 model not found at '{path}' (run scripts/fetch-models.sh or 'alicia models pull silero-vad-v5')", path);
        _options = new SessionOptions
        {
            IntraOpNumThreads = 1,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        Session = new InferenceSession(path, _options);
        Path = path;
    }

    public string Path { get; }
    public InferenceSession Session { get; }

    /// <summary>A new stream over this model (its own state).</summary>
    public SileroVad CreateStream() => new(this);

    /// <summary>Where the model is by default: <c>models/cache/silero_vad_v5.onnx</c> under the working directory or any parent.</summary>
    public static string? FindDefault(string? start = null)
    {
        for (var dir = new DirectoryInfo(start ?? Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
        {
            string candidate = System.IO.Path.Combine(dir.FullName, "models", "cache", "silero_vad_v5.onnx");
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    public void Dispose()
    {
        Session.Dispose();
        _options.Dispose();
    }
}

/// <summary>
/// One stream's Silero v5 detector: 512 new samples per call (32 ms at 16 kHz) with the last 64 samples
/// of the previous frame prepended. Zero allocation per frame: the input, both state buffers, the sample
/// rate and the output live in pinned arrays wrapped once as <see cref="OrtValue"/>s, and two
/// <see cref="OrtIoBinding"/>s (state A → B, state B → A) alternate, so the state never needs copying.
/// Not thread-safe: one caller per stream.
/// </summary>
internal sealed class SileroVad : IDisposable
{
    private readonly InferenceSession _session;
    private readonly float[] _input = GC.AllocateArray<float>(SileroVadModel.ContextSamples + SileroVadModel.FrameSamples, pinned: true);
    private readonly float[] _stateA = GC.AllocateArray<float>(SileroVadModel.StateSize, pinned: true);
    private readonly float[] _stateB = GC.AllocateArray<float>(SileroVadModel.StateSize, pinned: true);
    private readonly long[] _sampleRate = GC.AllocateArray<long>(1, pinned: true);
    private readonly float[] _output = GC.AllocateArray<float>(1, pinned: true);
    private readonly OrtValue _inputValue, _stateAValue, _stateBValue, _sampleRateValue, _outputValue;
    private readonly OrtIoBinding _aToB, _bToA;
    private readonly RunOptions _runOptions = new();
    private bool _useAToB = true;

    internal SileroVad(SileroVadModel model)
    {
        _session = model.Session;
        _sampleRate[0] = SileroVadModel.SampleRate;
        OrtMemoryInfo cpu = OrtMemoryInfo.DefaultInstance;
        _inputValue = OrtValue.CreateTensorValueFromMemory(cpu, _input.AsMemory(), [1, _input.Length]);
        _stateAValue = OrtValue.CreateTensorValueFromMemory(cpu, _stateA.AsMemory(), [2, 1, 128]);
        _stateBValue = OrtValue.CreateTensorValueFromMemory(cpu, _stateB.AsMemory(), [2, 1, 128]);
        _sampleRateValue = OrtValue.CreateTensorValueFromMemory(cpu, _sampleRate.AsMemory(), []);
        _outputValue = OrtValue.CreateTensorValueFromMemory(cpu, _output.AsMemory(), [1, 1]);
        _aToB = Bind(_stateAValue, _stateBValue);
        _bToA = Bind(_stateBValue, _stateAValue);
    }

    private OrtIoBinding Bind(OrtValue state, OrtValue stateOut)
    {
        OrtIoBinding binding = _session.CreateIoBinding();
        binding.BindInput("input", _inputValue);
        binding.BindInput("state", state);
        binding.BindInput("sr", _sampleRateValue);
        binding.BindOutput("output", _outputValue);
        binding.BindOutput("stateN", stateOut);
        return binding;
    }

    /// <summary>Frames processed since the last reset.</summary>
    public long Frames { get; private set; }

    /// <summary>The speech probability of the next 512 samples (16 kHz mono, [-1, 1]).</summary>
    public float Process(ReadOnlySpan<float> frame)
    {
        if (frame.Length != SileroVadModel.FrameSamples)
            throw new ArgumentException($"a Silero v5 frame is {SileroVadModel.FrameSamples} samples at 16 kHz, not {frame.Length}", nameof(frame));
        Span<float> input = _input;
        // Context: the last 64 samples of the previous frame (zeros at the start).
        input.Slice(SileroVadModel.FrameSamples, SileroVadModel.ContextSamples).CopyTo(input);
        frame.CopyTo(input[SileroVadModel.ContextSamples..]);
        _session.RunWithBinding(_runOptions, _useAToB ? _aToB : _bToA);
        _useAToB = !_useAToB;
        Frames++;
        return _output[0];
    }

    /// <summary>Back to the initial state (zero state and context), for a new stream.</summary>
    public void Reset()
    {
        Array.Clear(_input);
        Array.Clear(_stateA);
        Array.Clear(_stateB);
        _useAToB = true;
        Frames = 0;
    }

    public void Dispose()
    {
        _aToB.Dispose();
        _bToA.Dispose();
        _runOptions.Dispose();
        _inputValue.Dispose();
        _stateAValue.Dispose();
        _stateBValue.Dispose();
        _sampleRateValue.Dispose();
        _outputValue.Dispose();
    }
}
