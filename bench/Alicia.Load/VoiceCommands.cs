using System.Diagnostics;
using Alicia.Tools.Models;
using Alicia.Voice.Audio;

namespace Alicia.Load;

/// <summary>
/// What the voice scenarios share: the spoken commands (espeak-ng, about 3 s each), the satellites' streams, and
/// the random-weight Whisper model named by <c>--model</c> and <c>--weights</c>.
/// </summary>
internal static class VoiceCommands
{
    public static readonly string[] Phrases =
    [
        "turn on the kitchen light please",
        "set a timer for ten minutes",
        "what is the weather like today",
        "play some music in the living room",
    ];

    /// <summary>The phrases as 16 kHz mono s16le.</summary>
    public static byte[][] Clips() => [.. Phrases.Select(p => PcmConverter.FloatToS16(Speak(p)))];

    /// <summary>One session's stream: 0.3 s of silence, then its commands, each followed by 1 s of silence.</summary>
    public static byte[] Stream(byte[][] clips, int session, int utterances)
    {
        var pcm = new List<byte>(new byte[9600]);
        for (int k = 0; k < utterances; k++)
        {
            pcm.AddRange(clips[(session + k) % clips.Length]);
            pcm.AddRange(new byte[32000]);
        }
        return [.. pcm];
    }

    /// <summary>The random-weight model for <c>--model</c> (tiny, tiny-talk, micro) in <paramref name="weights"/>, written once per machine.</summary>
    public static string WhisperModel(string model, WhisperWeights weights)
    {
        WhisperDimensions dimensions = model switch
        {
            "tiny" => WhisperDimensions.TinyEn,
            "tiny-talk" => WhisperDimensions.TinyEn with { Talkative = true },
            _ => WhisperDimensions.Micro,
        };
        return RandomWhisperModel.GetOrCreate(Path.Combine(Path.GetTempPath(), "alicia-voice-test-models"), dimensions with { Weights = weights });
    }

    /// <summary>espeak-ng speech (~3 s at 110 words per minute), as 16 kHz mono.</summary>
    public static float[] Speak(string text)
    {
        string wav = Path.Combine(Path.GetTempPath(), "alicia-load-" + Guid.NewGuid().ToString("N") + ".wav");
        try
        {
            var start = new ProcessStartInfo("espeak-ng") { ArgumentList = { "-w", wav, "-v", "en-us", "-s", "110", text }, RedirectStandardError = true };
            using Process process = Process.Start(start) ?? throw new InvalidOperationException("espeak-ng did not start");
            process.WaitForExit(30_000);
            if (process.ExitCode != 0) throw new InvalidOperationException("espeak-ng failed: " + process.StandardError.ReadToEnd());
            return WavFile.Read(wav).ToMono16k();
        }
        finally
        {
            File.Delete(wav);
        }
    }
}
