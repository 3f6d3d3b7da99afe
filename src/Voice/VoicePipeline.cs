using System.Buffers;
using System.Diagnostics;
using Alicia.Voice.Audio;
using Alicia.Voice.Vad;

namespace Alicia.Voice;

/// <summary>One utterance cut by the VAD, with the stage stamps taken so far (Stopwatch ticks).</summary>
internal sealed class Utterance
{
    public required int Index { get; init; }

    /// <summary>16 kHz mono samples, padded start to padded end.</summary>
    public required float[] Samples { get; init; }

    public required long StartSample { get; init; }
    public required long EndSample { get; init; }

    /// <summary>When the audio where the speech ended (the first silent frame) arrived.</summary>
    public required long SpeechEndArrivedTicks { get; init; }

    /// <summary>When the hangover passed and the end was decided.</summary>
    public required long EndpointTicks { get; init; }

    /// <summary>When the first audio frame of the session arrived.</summary>
    public required long FirstFrameTicks { get; init; }

    public double StartSeconds => StartSample / 16000.0;
    public double EndSeconds => EndSample / 16000.0;
    public double DurationSeconds => Samples.Length / 16000.0;
}

/// <summary>
/// The utterance as it will be if the silence now being waited out ends it: the same samples the final
/// <see cref="Utterance"/> then carries, handed on early so speech to text can start during the hangover.
/// </summary>
internal sealed record TentativeUtterance(int Index, long StartSample, long EndSample, float[] Samples, long SilenceArrivedTicks);

/// <summary>What a pipeline reports (called on the thread that writes audio).</summary>
internal interface IVoicePipelineSink
{
    /// <summary>Speech has lasted the minimum: it is an utterance now.</summary>
    void OnSpeechStarted(int index, double startSeconds);

    /// <summary>Speech paused long enough to speculate (see <see cref="EndpointerOptions.SpeculateAfter"/>).</summary>
    void OnTentativeEnd(TentativeUtterance tentative);

    /// <summary>Speech resumed after <see cref="OnTentativeEnd"/>: that tentative utterance will not happen.</summary>
    void OnSpeechResumed(int index);

    void OnUtterance(Utterance utterance);
}

/// <summary>
/// One stream's listening pipeline: edge conversion (any rate, mono or stereo s16le → 16 kHz mono float),
/// 512-sample framing, Silero VAD, endpointing, and utterance buffering (with the VAD's padding). Audio
/// is pushed in chunks of any size; per 32 ms frame nothing is allocated until an utterance is handed on.
/// Not thread-safe: one writer.
/// </summary>
internal sealed class VoicePipeline : IDisposable
{
    private const int Frame = SileroVadModel.FrameSamples;
    private const int RingSize = 16384; // > pad + one frame: the pre-roll an utterance may need
    private const int ArrivalSlots = 256; // frames (8 s) of arrival stamps: more than any hangover

    private readonly SileroVad _vad;
    private readonly SpeechEndpointer _endpointer;
    private readonly PcmConverter _converter;
    private readonly IVoicePipelineSink _sink;
    private readonly float[] _frame = new float[Frame];
    private readonly float[] _ring = new float[RingSize];
    private readonly long[] _arrivals = new long[ArrivalSlots];
    private float[] _converted = new float[4096];
    private float[] _utterance = [];
    private int _utteranceLength;
    private int _frameFill;
    private long _samples;          // samples through the VAD
    private long _frames;
    private long _firstFrameTicks;
    private long _chunkTicks;
    private int _index;
    private readonly long _speculateAfter; // samples of silence before speculating; -1: never
    private long _speculatedEnd = -1;      // the pending end a tentative utterance was handed on for

    public VoicePipeline(SileroVad vad, PcmConverter converter, IVoicePipelineSink sink, EndpointerOptions? endpointing = null)
    {
        _vad = vad;
        _converter = converter;
        _sink = sink;
        _endpointer = new SpeechEndpointer(endpointing);
        _speculateAfter = _endpointer.Options.SpeculateAfter is { } after ? (long)Math.Round(after.TotalSeconds * SileroVadModel.SampleRate) : -1;
    }

    /// <summary>Seconds of 16 kHz audio received.</summary>
    public double AudioSeconds => (_samples + _frameFill) / 16000.0;

    public int Utterances => _index;

    /// <summary>The last frame's speech probability.</summary>
    public float LastProbability { get; private set; }

    public void Write(in ReadOnlySequence<byte> pcm)
    {
        foreach (ReadOnlyMemory<byte> segment in pcm) Write(segment.Span);
    }

    /// <summary>Pushes a chunk of s16le PCM in the stream's format.</summary>
    public void Write(ReadOnlySpan<byte> pcm)
    {
        _chunkTicks = Stopwatch.GetTimestamp();
        if (_firstFrameTicks == 0) _firstFrameTicks = _chunkTicks;
        int max = _converter.MaxOutputSamples(pcm.Length);
        if (_converted.Length < max) _converted = new float[Math.Max(max, _converted.Length * 2)];
        int n = _converter.Convert(pcm, _converted);
        Push(_converted.AsSpan(0, n));
    }

    private void Push(ReadOnlySpan<float> samples)
    {
        while (!samples.IsEmpty)
        {
            int take = Math.Min(Frame - _frameFill, samples.Length);
            samples[..take].CopyTo(_frame.AsSpan(_frameFill));
            _frameFill += take;
            samples = samples[take..];
            if (_frameFill == Frame)
            {
                ProcessFrame();
                _frameFill = 0;
            }
        }
    }

    /// <summary>End of stream: the last partial frame (zero-padded, as Silero does) and any speech in progress.</summary>
    public void Complete()
    {
        long total = _samples + _frameFill;
        if (_frameFill > 0)
        {
            _frame.AsSpan(_frameFill).Clear();
            _chunkTicks = Stopwatch.GetTimestamp();
            ProcessFrame();
            _frameFill = 0;
        }
        bool inSpeech = _endpointer.InSpeech;
        EndpointEvent e = _endpointer.Flush(total);
        if (inSpeech) Handle(e, Stopwatch.GetTimestamp());
    }

    private void ProcessFrame()
    {
        float probability = _vad.Process(_frame);
        LastProbability = probability;
        long frameStart = _samples;
        _arrivals[_frames % ArrivalSlots] = _chunkTicks;
        _frames++;
        _samples += Frame;
        for (int i = 0; i < Frame; i++) _ring[(frameStart + i) % RingSize] = _frame[i];

        bool wasInSpeech = _endpointer.InSpeech;
        EndpointEvent e = _endpointer.Update(probability);
        if (e == EndpointEvent.Triggered)
        {
            _utteranceLength = 0;
            long from = _endpointer.StartSample;
            EnsureUtteranceCapacity((int)(_samples - from));
            for (long s = from; s < _samples; s++) _utterance[_utteranceLength++] = _ring[s % RingSize];
            return;
        }
        if (wasInSpeech)
        {
            EnsureUtteranceCapacity(_utteranceLength + Frame);
            _frame.CopyTo(_utterance.AsSpan(_utteranceLength));
            _utteranceLength += Frame;
        }
        Handle(e, Stopwatch.GetTimestamp());
    }

    private void Handle(EndpointEvent e, long now)
    {
        switch (e)
        {
            case EndpointEvent.Confirmed:
                _sink.OnSpeechStarted(_index, _endpointer.StartSample / 16000.0);
                break;
            case EndpointEvent.Discarded:
                _utteranceLength = 0;
                break;
            case EndpointEvent.None or EndpointEvent.Confirmed:
                Speculate(now);
                break;
            case EndpointEvent.Ended:
            {
                long start = _endpointer.StartSample, end = _endpointer.EndSample;
                int length = (int)Math.Min(end - start, _utteranceLength);
                long arrived = ArrivalOf(_endpointer.SilenceStartSample, now);
                var utterance = new Utterance
                {
                    Index = _index++,
                    Samples = _utterance.AsSpan(0, length).ToArray(),
                    StartSample = start,
                    EndSample = start + length,
                    SpeechEndArrivedTicks = arrived,
                    EndpointTicks = now,
                    FirstFrameTicks = _firstFrameTicks,
                };
                _utteranceLength = 0;
                _speculatedEnd = -1;
                _sink.OnUtterance(utterance);
                break;
            }
        }
    }

    /// <summary>Hands on the tentative utterance once the pause is long enough; withdraws it when speech resumes.</summary>
    private void Speculate(long now)
    {
        long? pending = _endpointer.PendingEndSample;
        if (_speculatedEnd >= 0 && pending != _speculatedEnd)
        {
            _speculatedEnd = -1;
            _sink.OnSpeechResumed(_index);
        }
        if (_speculateAfter < 0 || _speculatedEnd >= 0 || pending is not { } end || _endpointer.Position - end < _speculateAfter) return;
        // The padded end must have arrived, or the tentative audio would be shorter than the final utterance's.
        if (_endpointer.Position < _endpointer.PaddedEnd(end)) return;

        long start = _endpointer.StartSample;
        int length = (int)Math.Min(_endpointer.PaddedEnd(end) - start, _utteranceLength);
        long arrived = ArrivalOf(end, now);
        _speculatedEnd = end;
        _sink.OnTentativeEnd(new TentativeUtterance(_index, start, start + length, _utterance.AsSpan(0, length).ToArray(), arrived));
    }

    /// <summary>When the frame holding <paramref name="sample"/> arrived; <paramref name="now"/> once it is older than the stamps kept.</summary>
    private long ArrivalOf(long sample, long now)
    {
        long frame = sample / Frame;
        return _frames - frame <= ArrivalSlots && frame < _frames ? _arrivals[frame % ArrivalSlots] : now;
    }

    private void EnsureUtteranceCapacity(int needed)
    {
        if (_utterance.Length >= needed) return;
        Array.Resize(ref _utterance, Math.Max(needed, Math.Max(16000, _utterance.Length * 2)));
    }

    public void Dispose() => _vad.Dispose();
}
