namespace Alicia.Voice.Speech;

/// <summary>The PCM a synthesizer makes: signed 16-bit little-endian, at this rate and channel count.</summary>
internal readonly record struct SpeechFormat(int SampleRate, int Channels = 1)
{
    public int BytesPerSecond => SampleRate * Channels * 2;
}

/// <summary>How to speak: the same text with other settings is other audio (and another cache entry).</summary>
internal sealed record SpeechSettings
{
    /// <summary>1 is the voice's own pace; 2 twice as fast.</summary>
    public double Speed { get; init; } = 1.0;

    /// <summary>A speaker of a multi-speaker voice (null: the voice's first).</summary>
    public int? SpeakerId { get; init; }

    public static SpeechSettings Default { get; } = new();
}

/// <summary>
/// Speech output: text in, PCM chunks out as they are made, so playback can start before the whole reply is spoken.
/// Engines: espeak-ng's own synthesizer (no model; the voice that always works) and Piper voices (VITS on ONNX Runtime).
/// </summary>
internal interface ISpeechSynthesizer
{
    /// <summary>Engine and voice, e.g. <c>espeak-ng:en-us</c> or <c>piper:en_US-lessac-medium</c> (a cache key part).</summary>
    string Name { get; }

    SpeechFormat Format { get; }

    /// <summary>Speaks <paramref name="text"/> (a sentence or a few); each chunk is whole samples.</summary>
    IAsyncEnumerable<ReadOnlyMemory<byte>> SynthesizeAsync(string text, SpeechSettings settings, CancellationToken cancellationToken);
}
