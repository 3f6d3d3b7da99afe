using System.Buffers.Binary;

namespace Alicia.Voice.Audio;

/// <summary>
/// The edge of the pipeline: s16le PCM at any rate, mono or interleaved stereo, in; 16 kHz mono float
/// [-1, 1) out. Streaming: a chunk boundary may fall anywhere (even inside a sample or a stereo pair),
/// and the resampler carries its phase and its last input sample across chunks, so chunking does not
/// change the output. Resampling is linear interpolation, preceded (when downsampling) by a one-pole
/// low-pass at the target Nyquist; good enough for VAD and Whisper, whose features stop at 8 kHz.
/// Allocates nothing per chunk: the caller supplies the output span (see <see cref="MaxOutputSamples"/>).
/// </summary>
internal sealed class PcmConverter
{
    public const int TargetRate = 16000;

    private readonly int _channels;
    private readonly double _step;          // input samples per output sample
    private readonly bool _passthrough;
    private readonly float _lowPassAlpha;
    private readonly byte[] _carry = new byte[4];
    private int _carryCount;
    private double _position;               // position of the next output sample, relative to _previous (index 0 = _previous)
    private float _previous;
    private bool _havePrevious;
    private float _lowPassState;

    public PcmConverter(int sampleRate, int channels)
    {
        if (sampleRate is < 4000 or > 192000) throw new ArgumentOutOfRangeException(nameof(sampleRate), sampleRate, "sample rate must be 4000..192000 Hz");
        if (channels is not (1 or 2)) throw new ArgumentOutOfRangeException(nameof(channels), channels, "1 (mono) or 2 (interleaved stereo) channels");
        SampleRate = sampleRate;
        _channels = channels;
        _passthrough = sampleRate == TargetRate;
        _step = sampleRate / (double)TargetRate;
        // One-pole low-pass with its corner at 7.2 kHz (0.9 x the target Nyquist), only when downsampling.
        _lowPassAlpha = sampleRate > TargetRate ? (float)(1 - Math.Exp(-2 * Math.PI * 0.45 * TargetRate / sampleRate)) : 1f;
    }

    public int SampleRate { get; }
    public int Channels => _channels;

    /// <summary>Bytes per input frame (one sample of every channel).</summary>
    public int BytesPerFrame => 2 * _channels;

    /// <summary>An upper bound of the samples <see cref="Convert"/> writes for <paramref name="inputBytes"/> bytes.</summary>
    public int MaxOutputSamples(int inputBytes) => (int)Math.Ceiling((inputBytes + 4) / (double)BytesPerFrame / _step) + 2;

    /// <summary>Converts a chunk; returns how many 16 kHz mono samples were written to <paramref name="output"/>.</summary>
    public int Convert(ReadOnlySpan<byte> input, Span<float> output)
    {
        int written = 0;
        int frameBytes = BytesPerFrame;
        if (_carryCount > 0)
        {
            int take = Math.Min(frameBytes - _carryCount, input.Length);
            input[..take].CopyTo(_carry.AsSpan(_carryCount));
            _carryCount += take;
            input = input[take..];
            if (_carryCount < frameBytes) return 0;
            written += Push(Mix(_carry), output);
            _carryCount = 0;
        }
        int whole = input.Length / frameBytes * frameBytes;
        for (int i = 0; i < whole; i += frameBytes) written += Push(Mix(input.Slice(i, frameBytes)), output[written..]);
        int rest = input.Length - whole;
        if (rest > 0)
        {
            input[whole..].CopyTo(_carry);
            _carryCount = rest;
        }
        return written;
    }

    private float Mix(ReadOnlySpan<byte> frame)
    {
        if (_channels == 1) return BinaryPrimitives.ReadInt16LittleEndian(frame) / 32768f;
        return (BinaryPrimitives.ReadInt16LittleEndian(frame) + BinaryPrimitives.ReadInt16LittleEndian(frame[2..])) / 65536f;
    }

    private int Push(float sample, Span<float> output)
    {
        if (_passthrough)
        {
            output[0] = sample;
            return 1;
        }
        if (_lowPassAlpha < 1f)
        {
            _lowPassState += _lowPassAlpha * (sample - _lowPassState);
            sample = _lowPassState;
        }
        if (!_havePrevious)
        {
            _previous = sample;
            _havePrevious = true;
            output[0] = sample;
            _position = _step;
            return 1;
        }
        // Output samples between _previous (0) and sample (1).
        int written = 0;
        while (_position <= 1.0)
        {
            float t = (float)_position;
            output[written++] = _previous + (sample - _previous) * t;
            _position += _step;
        }
        _position -= 1.0;
        _previous = sample;
        return written;
    }

    /// <summary>Float [-1, 1] to s16le (clipped).</summary>
    public static byte[] FloatToS16(ReadOnlySpan<float> samples)
    {
        var bytes = new byte[samples.Length * 2];
        for (int i = 0; i < samples.Length; i++)
            BinaryPrimitives.WriteInt16LittleEndian(bytes.AsSpan(2 * i), (short)Math.Clamp(MathF.Round(samples[i] * 32767f), short.MinValue, short.MaxValue));
        return bytes;
    }
}
