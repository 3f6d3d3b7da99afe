using Alicia.Contracts.Messages;

namespace Alicia.Voice.Stt;

/// <summary>How one utterance is to be transcribed.</summary>
public sealed record SttOptions
{
    public string Language { get; init; } = "en";

    /// <summary>Token cap for the decoder (commands are short; the cap bounds the worst case).</summary>
    public int MaxTokens { get; init; } = 48;

    /// <summary>Encoder context in 20 ms steps; null picks it from the utterance length (see <see cref="AudioContext"/>).</summary>
    public int? AudioContext { get; init; }
}

/// <summary>A transcript with what the quality assessor needs.</summary>
public sealed class SttResult
{
    public string Text { get; init; } = "";
    public List<TranscriptSegment> Segments { get; init; } = [];

    /// <summary>Mean token probability over the text tokens (0..1); 0 when no tokens.</summary>
    public double Confidence { get; init; }

    /// <summary>The model's no-speech probability (0..1), when it reports one.</summary>
    public double NoSpeechProbability { get; init; }

    public int Tokens { get; init; }
    public int AudioContext { get; init; }
    public string Engine { get; init; } = "";
}

/// <summary>
/// A speech-to-text engine: Whisper in-process today; a cloud STT or another local model plugs in here.
/// Engines must allow <see cref="MaxConcurrency"/> concurrent calls.
/// </summary>
public interface ISpeechToText : IAsyncDisposable
{
    /// <summary>For logs, configuration and the response metadata (e.g. <c>whisper:tiny.en</c>).</summary>
    string Name { get; }

    /// <summary>Languages served (ISO 639-1); empty means any the engine knows (see <see cref="Serves"/>).</summary>
    IReadOnlyCollection<string> Languages { get; }

    /// <summary>Whether the engine can transcribe <paramref name="language"/> (a lower-case ISO 639-1 code).</summary>
    bool Serves(string language) => Languages.Count == 0 || Languages.Contains(language, StringComparer.OrdinalIgnoreCase);

    int MaxConcurrency { get; }

    /// <summary>Transcribes 16 kHz mono float audio (one utterance, at most 30 s).</summary>
    Task<SttResult> TranscribeAsync(ReadOnlyMemory<float> audio, SttOptions options, CancellationToken cancellationToken);
}

internal static class AudioContext
{
    /// <summary>Whisper's encoder produces 1500 positions per 30 s: 50 per second.</summary>
    public const int PerSecond = 50;
    public const int Full = 1500;

    /// <summary>
    /// The encoder context for <paramref name="samples"/> of 16 kHz audio: 50 per second plus a margin of
    /// 64 (1.28 s), rounded up to a multiple of 32, at most 1500. Encoding cost grows with it, so a 3 s
    /// command costs ~214 instead of 1500.
    /// </summary>
    public static int ForSamples(int samples, int margin = 64)
    {
        double seconds = samples / 16000.0;
        int ctx = (int)Math.Ceiling(seconds * PerSecond) + margin;
        ctx = (ctx + 31) / 32 * 32;
        return Math.Clamp(ctx, 64, Full);
    }
}
