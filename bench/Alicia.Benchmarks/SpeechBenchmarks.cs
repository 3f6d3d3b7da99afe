using System.Text;
using Alicia.TestSupport;
using Alicia.Tools.Models;
using Alicia.Voice.Speech;
using Alicia.Voice.Speech.Espeak;
using Alicia.Voice.Speech.Piper;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Microsoft.ML.OnnxRuntime;

namespace Alicia.Benchmarks;

/// <summary>
/// Speech output per sentence, each category against a baseline in the same run: the phonemizer (text to IPA through
/// libespeak-ng, against the bare <see cref="EspeakLibrary"/> call on the same clause), Piper's phoneme-id mapping
/// (against the first, allocating version of it), Piper synthesis on ONNX Runtime (against a bare
/// <see cref="InferenceSession.Run(RunOptions, IReadOnlyCollection{string}, IReadOnlyCollection{OrtValue}, IReadOnlyCollection{string})"/>
/// on the same ids) and espeak-ng's own synthesis (against the bare library call with a sink that keeps nothing).
/// The Piper voice is the random-weight one of <see cref="RandomPiperVoice"/>: Piper's exact inputs and outputs, a
/// tiny graph inside, so its time says nothing about a real voice's speed or quality; its allocations are the path's.
/// Needs espeak-ng (apt-get install espeak-ng).
/// Run: dotnet run -c Release --project bench/Alicia.Benchmarks -- --filter '*SpeechBenchmarks*' --job short
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class SpeechBenchmarks
{
    private const string Voice = "en-us";
    private const string Sentence = "Turn on the kitchen light.";
    private const string Clause = "Turn on the kitchen light";

    private TempDirectory _dir = null!;
    private PiperSynthesizer _piper = null!;
    private EspeakSynthesizer _espeak = null!;
    private string _phonemes = null!;
    private long[] _ids = null!;
    private long[] _idBuffer = new long[16]; // grown by the first call, as the synthesizer's

    // Bare ONNX Runtime: the same ids in tensors made once.
    private SessionOptions _options = null!;
    private InferenceSession _session = null!;
    private RunOptions _run = null!;
    private OrtValue[] _inputs = null!;
    private string[] _inputNames = null!;
    private static readonly Func<ReadOnlySpan<short>, bool> KeepNothing = _ => true;

    [GlobalSetup]
    public void Setup()
    {
        if (EspeakLibrary.Unavailable() is { } why) throw new InvalidOperationException(why);
        _dir = new TempDirectory("alicia-bench-speech");
        string model = RandomPiperVoice.GetOrCreate(_dir.Path);
        _piper = new PiperSynthesizer(model);
        _espeak = new EspeakSynthesizer(Voice);
        _phonemes = EspeakPhonemizer.Phonemize(Sentence, Voice)[0];
        _ids = PiperPhonemeIds.Map(_phonemes, _piper.Config.PhonemeIds);

        // The synthesizer's own session options (one thread, sequential).
        _options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1, ExecutionMode = ExecutionMode.ORT_SEQUENTIAL };
        _session = new InferenceSession(model, _options);
        _run = new RunOptions();
        PiperVoiceConfig c = _piper.Config;
        _inputNames = ["input", "input_lengths", "scales"];
        _inputs =
        [
            OrtValue.CreateTensorValueFromMemory(_ids, [1, _ids.Length]),
            OrtValue.CreateTensorValueFromMemory(new long[] { _ids.Length }, [1]),
            OrtValue.CreateTensorValueFromMemory(new[] { c.NoiseScale, c.LengthScale, c.NoiseW }, [3]),
        ];
        // Both paths give the same audio length (256 samples per id): the baseline does the same work.
        Fixtures.Require(Piper_bare_session_run() == _piper.SpeakSentence(_phonemes, SpeechSettings.Default).Length / 2, "bare Run and PiperSynthesizer disagree");
        Fixtures.Require(Espeak_sentence_to_pcm() > 8000, "espeak-ng spoke nothing");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (OrtValue v in _inputs) v.Dispose();
        _run.Dispose();
        _session.Dispose();
        _options.Dispose();
        _piper.Dispose();
        _dir.Dispose();
    }

    [BenchmarkCategory("phonemize"), Benchmark(Baseline = true, Description = "bare EspeakLibrary.Phonemize (one clause)")]
    public int Phonemize_bare_espeak_clause() => EspeakLibrary.Phonemize(Clause, Voice).Length;

    [BenchmarkCategory("phonemize"), Benchmark(Description = "EspeakPhonemizer.Phonemize (sentence)")]
    public int Phonemize_sentence() => EspeakPhonemizer.Phonemize(Sentence, Voice).Count;

    [BenchmarkCategory("ids"), Benchmark(Baseline = true, Description = "first mapping (List<long>, a string per rune)")]
    public int Ids_first_mapping() => FirstMap(_phonemes, _piper.Config.PhonemeIds).Length;

    [BenchmarkCategory("ids"), Benchmark(Description = "PiperPhonemeIds.Map into a reused buffer")]
    public int Ids_map_into_reused_buffer() => PiperPhonemeIds.Map(_phonemes, _piper.Config.PhonemeIds, ref _idBuffer);

    [BenchmarkCategory("piper"), Benchmark(Baseline = true, Description = "bare InferenceSession.Run (same ids)")]
    public int Piper_bare_session_run()
    {
        using IDisposableReadOnlyCollection<OrtValue> outputs = _session.Run(_run, _inputNames, _inputs, _session.OutputNames);
        return outputs[0].GetTensorDataAsSpan<float>().Length;
    }

    [BenchmarkCategory("piper"), Benchmark(Description = "PiperSynthesizer, one sentence to PCM")]
    public int Piper_sentence_to_pcm() => _piper.SpeakSentence(_phonemes, SpeechSettings.Default).Length;

    [BenchmarkCategory("espeak"), Benchmark(Baseline = true, Description = "bare EspeakLibrary.Synthesize (sink keeps nothing)")]
    public int Espeak_bare_synthesize()
    {
        EspeakLibrary.Synthesize(Sentence, Voice, 175, 50, KeepNothing);
        return 0;
    }

    [BenchmarkCategory("espeak"), Benchmark(Description = "EspeakSynthesizer, one sentence to PCM")]
    public int Espeak_sentence_to_pcm() => _espeak.Speak(Sentence, 175, CancellationToken.None).Length;

    /// <summary>PiperPhonemeIds.Map as first written: the contrast for the ids category.</summary>
    private static long[] FirstMap(string phonemes, IReadOnlyDictionary<string, long[]> map)
    {
        long[] pad = map["_"];
        var ids = new List<long>(phonemes.Length * 2 + 4);
        ids.AddRange(map["^"]);
        ids.AddRange(pad);
        foreach (Rune rune in IpaDecomposition.Decompose(phonemes).EnumerateRunes())
        {
            if (!map.TryGetValue(rune.ToString(), out long[]? id)) continue;
            ids.AddRange(id);
            ids.AddRange(pad);
        }
        ids.AddRange(map["$"]);
        return [.. ids];
    }
}
