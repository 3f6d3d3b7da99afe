namespace Alicia.Voice.Stt;

internal sealed record QualityOptions
{
    /// <summary>Transcripts whose mean token probability is below this are rejected.</summary>
    public double MinConfidence { get; init; } = 0.4;

    /// <summary>Transcripts whose no-speech probability is above this are rejected.</summary>
    public double MaxNoSpeechProbability { get; init; } = 0.6;
}

internal readonly record struct QualityVerdict(bool Accepted, string Reason);

/// <summary>Rejects empty, non-speech and low-confidence transcripts, saying why.</summary>
internal sealed class QualityAssessor(QualityOptions? options = null)
{
    private readonly QualityOptions _options = options ?? new QualityOptions();

    public QualityOptions Options => _options;

    public QualityVerdict Assess(SttResult result)
    {
        string text = result.Text.Trim();
        if (text.Length == 0 || IsNonSpeechMarker(text)) return new(false, "empty transcript");
        if (result.NoSpeechProbability > _options.MaxNoSpeechProbability)
            return new(false, $"no speech (probability {result.NoSpeechProbability:0.00} > {_options.MaxNoSpeechProbability:0.00})");
        if (result.Confidence < _options.MinConfidence)
            return new(false, $"low confidence ({result.Confidence:0.00} < {_options.MinConfidence:0.00})");
        return new(true, "");
    }

    /// <summary>Whisper writes these for silence and noise: "[BLANK_AUDIO]", "(music)", "[ Silence ]".</summary>
    private static bool IsNonSpeechMarker(string text) =>
        (text[0] == '[' && text[^1] == ']') || (text[0] == '(' && text[^1] == ')');
}
