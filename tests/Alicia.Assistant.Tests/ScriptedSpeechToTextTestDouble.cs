using System.Diagnostics;
using Alicia.Voice.Audio;
using Alicia.Voice.Stt;

namespace Alicia.Assistant.Tests;

/// <summary>
/// A TEST DOUBLE for speech to text (no Whisper weights exist here, so recognition cannot be real): it knows a few
/// phrases rendered with espeak-ng, and maps an utterance the voice pipeline cut (Silero VAD, real) to the known phrase
/// whose speech is closest in length. It refuses audio that matches none of them within 40 %. The real Whisper path
/// keeps its own tests in Alicia.Voice.Tests.
/// </summary>
internal sealed class ScriptedSpeechToTextTestDouble : ISpeechToText
{
    private readonly List<(string Text, double SpeechSeconds)> _known = [];

    public string Name => "scripted-test-double";
    public IReadOnlyCollection<string> Languages { get; } = ["en"];
    public int MaxConcurrency => 2;

    /// <summary>Texts it returned, in order.</summary>
    public List<string> Heard { get; } = [];

    /// <summary>Renders <paramref name="text"/> with espeak-ng and remembers how long its speech lasts.</summary>
    public WavFile Learn(string text)
    {
        WavFile wav = Speak(text);
        _known.Add((text, SpeechSeconds(wav.ToMono16k())));
        return wav;
    }

    public Task<SttResult> TranscribeAsync(ReadOnlyMemory<float> audio, SttOptions options, CancellationToken cancellationToken)
    {
        double seconds = SpeechSeconds(audio.Span);
        (string text, double known) = _known.MinBy(k => Math.Abs(k.SpeechSeconds - seconds));
        string result = Math.Abs(known - seconds) <= 0.4 * known ? text : "";
        lock (Heard) Heard.Add(result);
        return Task.FromResult(new SttResult { Text = result, Confidence = result.Length > 0 ? 0.95 : 0, Tokens = result.Split(' ').Length, Engine = Name });
    }

    /// <summary>From the first to the last sample above a small threshold, at 16 kHz.</summary>
    private static double SpeechSeconds(ReadOnlySpan<float> samples)
    {
        int first = -1, last = -1;
        for (int i = 0; i < samples.Length; i++)
        {
            if (Math.Abs(samples[i]) < 0.02f) continue;
            if (first < 0) first = i;
            last = i;
        }
        return first < 0 ? 0 : (last - first) / 16000.0;
    }

    private static WavFile Speak(string text)
    {
        string path = Path.Combine(Path.GetTempPath(), $"alicia-assistant-{Guid.NewGuid():n}.wav");
        try
        {
            var start = new ProcessStartInfo("espeak-ng") { ArgumentList = { "-w", path, "-v", "en-us", "-s", "160", text }, RedirectStandardError = true };
            using Process process = Process.Start(start) ?? throw new InvalidOperationException("espeak-ng did not start");
            process.WaitForExit();
            if (process.ExitCode != 0) throw new InvalidOperationException("espeak-ng failed: " + process.StandardError.ReadToEnd());
            return WavFile.Read(path);
        }
        finally
        {
            File.Delete(path);
        }
    }

    public ValueTask DisposeAsync() => default;
}
