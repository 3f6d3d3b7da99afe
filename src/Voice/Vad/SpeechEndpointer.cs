namespace Alicia.Voice.Vad;

/// <summary>Endpointing rules, in Silero's terms.</summary>
internal sealed record EndpointerOptions
{
    /// <summary>Speech starts when a frame's probability reaches this.</summary>
    public float Threshold { get; init; } = 0.5f;

    /// <summary>Speech may end when a frame falls below this; defaults to <c>Threshold - 0.15</c> (Silero's rule).</summary>
    public float? NegativeThreshold { get; init; }

    /// <summary>Shorter speech is dropped (Silero: 250 ms).</summary>
    public TimeSpan MinSpeech { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// Silence hangover: speech ends after this much silence. Silero's offline default is 100 ms; for
    /// spoken commands 300 ms keeps short pauses between words inside one utterance.
    /// </summary>
    public TimeSpan Hangover { get; init; } = TimeSpan.FromMilliseconds(300);

    /// <summary>Padding added before the start and after the end (Silero: 30 ms).</summary>
    public TimeSpan SpeechPad { get; init; } = TimeSpan.FromMilliseconds(30);

    /// <summary>An utterance longer than this is cut (Whisper's window is 30 s).</summary>
    public TimeSpan MaxSpeech { get; init; } = TimeSpan.FromSeconds(29);

    /// <summary>
    /// Speculative speech to text: once the silence that may end the speech has lasted this long, the
    /// utterance as it would end there is handed on early, so transcription runs while the hangover is
    /// still being waited out (and is discarded if speech resumes). Null turns it off.
    /// </summary>
    public TimeSpan? SpeculateAfter { get; init; } = TimeSpan.Zero;

    /// <summary>Silero's own defaults for <c>get_speech_timestamps</c> (threshold 0.5, 250 ms, 100 ms, 30 ms pad).</summary>
    public static EndpointerOptions SileroDefaults { get; } = new() { Hangover = TimeSpan.FromMilliseconds(100) };

    public float EffectiveNegativeThreshold => NegativeThreshold ?? Math.Max(Threshold - 0.15f, 0.01f);
}

internal enum EndpointEvent
{
    None,

    /// <summary>Speech crossed the threshold: start buffering the utterance from <see cref="SpeechEndpointer.StartSample"/>.</summary>
    Triggered,

    /// <summary>The speech has lasted the minimum: it will not be dropped any more.</summary>
    Confirmed,

    /// <summary>The hangover passed: the utterance is <see cref="SpeechEndpointer.StartSample"/>..<see cref="SpeechEndpointer.EndSample"/>.</summary>
    Ended,

    /// <summary>The speech ended shorter than the minimum: drop what was buffered.</summary>
    Discarded,
}

/// <summary>
/// Streaming version of Silero's <c>get_speech_timestamps</c>, one frame probability at a time, with the
/// same rules (threshold / negative threshold, temporary end cancelled when speech resumes, minimum
/// silence, minimum speech, padding). Offline, Silero splits the padding of two segments closer than
/// 2 x pad; here the hangover (≥ 100 ms) always exceeds 2 x 30 ms, so the plain padding is the same.
/// Positions are in 16 kHz samples from the start of the stream. No allocation.
/// </summary>
internal sealed class SpeechEndpointer
{
    private readonly float _threshold, _negative;
    private readonly long _minSpeech, _minSilence, _pad, _maxSpeech;
    private readonly int _frame;
    private bool _triggered, _confirmed;
    private long _start, _tempEnd, _frameIndex, _previousEnd;

    public SpeechEndpointer(EndpointerOptions? options = null, int frameSamples = SileroVadModel.FrameSamples, int sampleRate = SileroVadModel.SampleRate)
    {
        options ??= new EndpointerOptions();
        if (options.Hangover < 2 * options.SpeechPad) throw new ArgumentException("the hangover must be at least twice the speech pad");
        if (options.SpeculateAfter is { } after && (after < TimeSpan.Zero || after >= options.Hangover))
            throw new ArgumentException("speculation must start within the hangover (0 <= SpeculateAfter < Hangover), or be off (null)");
        _threshold = options.Threshold;
        _negative = options.EffectiveNegativeThreshold;
        _minSpeech = Samples(options.MinSpeech, sampleRate);
        _minSilence = Samples(options.Hangover, sampleRate);
        _pad = Samples(options.SpeechPad, sampleRate);
        _maxSpeech = Samples(options.MaxSpeech, sampleRate);
        _frame = frameSamples;
        Options = options;
    }

    private static long Samples(TimeSpan t, int rate) => (long)Math.Round(t.TotalSeconds * rate);

    public EndpointerOptions Options { get; }
    public bool InSpeech => _triggered;

    /// <summary>Padded start of the current (or just ended) speech.</summary>
    public long StartSample { get; private set; }

    /// <summary>Padded end of the speech that just ended.</summary>
    public long EndSample { get; private set; }

    /// <summary>Unpadded end of speech: where the silence that ended it began (valid on <see cref="EndpointEvent.Ended"/>).</summary>
    public long SilenceStartSample { get; private set; }

    /// <summary>
    /// Where the silence that may end the current speech began, while the hangover is being waited out
    /// (null when not pausing, or when ending there would still drop the speech as too short).
    /// </summary>
    public long? PendingEndSample => _triggered && _tempEnd != 0 && _tempEnd - _start > _minSpeech ? _tempEnd : null;

    /// <summary>Padded end the speech would have if it ended at <paramref name="silenceStart"/>.</summary>
    public long PaddedEnd(long silenceStart) => silenceStart + _pad;

    /// <summary>Samples seen so far.</summary>
    public long Position => _frameIndex * _frame;

    /// <summary>Feeds the probability of the next frame.</summary>
    public EndpointEvent Update(float probability)
    {
        long now = _frameIndex * _frame;
        _frameIndex++;
        if (probability >= _threshold && _tempEnd != 0) _tempEnd = 0;
        if (probability >= _threshold && !_triggered)
        {
            _triggered = true;
            _confirmed = false;
            _start = now;
            StartSample = Math.Max(_previousEnd, now - _pad);
            return EndpointEvent.Triggered;
        }
        if (!_triggered) return EndpointEvent.None;

        if (now - _start > _maxSpeech) return End(now, now);

        if (probability < _negative)
        {
            if (_tempEnd == 0) _tempEnd = now;
            if (now - _tempEnd < _minSilence) return EndpointEvent.None;
            return End(_tempEnd, now);
        }
        if (!_confirmed && _tempEnd == 0 && now + _frame - _start > _minSpeech)
        {
            _confirmed = true;
            return EndpointEvent.Confirmed;
        }
        return EndpointEvent.None;
    }

    /// <summary>End of stream: closes speech in progress (as Silero does at the end of the audio).</summary>
    public EndpointEvent Flush(long totalSamples)
    {
        if (!_triggered) return EndpointEvent.None;
        long end = _tempEnd != 0 ? _tempEnd : totalSamples;
        _triggered = false;
        if (end - _start <= _minSpeech) return Reset(EndpointEvent.Discarded);
        SilenceStartSample = end;
        EndSample = Math.Min(totalSamples, end + _pad);
        return Reset(EndpointEvent.Ended);
    }

    private EndpointEvent End(long end, long now)
    {
        _triggered = false;
        if (end - _start <= _minSpeech) return Reset(EndpointEvent.Discarded);
        SilenceStartSample = end;
        EndSample = Math.Min(end + _pad, now + _frame);
        _previousEnd = EndSample;
        return Reset(EndpointEvent.Ended);
    }

    private EndpointEvent Reset(EndpointEvent e)
    {
        _tempEnd = 0;
        _confirmed = false;
        return e;
    }
}
