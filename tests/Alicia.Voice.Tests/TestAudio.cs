using Alicia.Tools.Voice;
using Alicia.Tools.Models;
using System.Diagnostics;
using Alicia.Voice.Audio;
using Alicia.Voice.Stt;
using Alicia.Voice.Vad;

namespace Alicia.Voice.Tests;

/// <summary>Audio the tests make themselves, and the paths of what they load.</summary>
internal static class TestAudio
{
    public const int Rate = 16000;

    public static string RepoRoot => Repository.Root;

    /// <summary>../shared/testdata/jfk.wav beside the checkout (not part of the repository).</summary>
    public static string JfkPath => Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "testdata", "jfk.wav"));

    public static string VadModelPath
    {
        get
        {
            string path = Path.Combine(RepoRoot, "models", "cache", "silero_vad_v5.onnx");
            if (!File.Exists(path)) throw new FileNotFoundException($"{path} is missing: run scripts/fetch-models.sh (npm pack @ricky0123/vad-web) first", path);
            return path;
        }
    }

    private static readonly Lazy<SileroVadModel> SharedVad = new(() => new SileroVadModel(VadModelPath));
    public static SileroVadModel Vad => SharedVad.Value;

    /// <summary>Random-weight Whisper models, generated once per machine into the temp directory.</summary>
    public static string ModelDirectory { get; } = Path.Combine(Path.GetTempPath(), "alicia-voice-test-models");

    private static readonly Lazy<string> Micro = new(() => RandomWhisperModel.GetOrCreate(ModelDirectory, WhisperDimensions.Micro));
    private static readonly Lazy<string> Tiny = new(() => RandomWhisperModel.GetOrCreate(ModelDirectory, WhisperDimensions.TinyEn));
    public static string MicroModel => Micro.Value;
    public static string TinyModel => Tiny.Value;

    public static float[] Silence(double seconds) => new float[(int)(seconds * Rate)];

    public static float[] WhiteNoise(double seconds, float amplitude = 0.3f, int seed = 7)
    {
        var random = new Random(seed);
        var samples = new float[(int)(seconds * Rate)];
        for (int i = 0; i < samples.Length; i++) samples[i] = (float)(random.NextDouble() * 2 - 1) * amplitude;
        return samples;
    }

    public static float[] Tone(double seconds, double hz, float amplitude = 0.5f, int rate = Rate)
    {
        var samples = new float[(int)(seconds * rate)];
        for (int i = 0; i < samples.Length; i++) samples[i] = (float)(amplitude * Math.Sin(2 * Math.PI * hz * i / rate));
        return samples;
    }

    public static float[] Concat(params float[][] parts) => parts.SelectMany(p => p).ToArray();

    public static byte[] ToPcm(float[] samples) => PcmConverter.FloatToS16(samples);

    /// <summary>espeak-ng speech as the WAV it writes (22050 Hz mono), cached per phrase.</summary>
    public static WavFile Speech(string text, int wordsPerMinute = 160)
    {
        string dir = Path.Combine(Path.GetTempPath(), "alicia-voice-test-speech");
        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, $"{Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text + wordsPerMinute)))[..16]}.wav");
        if (!File.Exists(path))
        {
            string temp = path + ".tmp.wav";
            var start = new ProcessStartInfo("espeak-ng") { ArgumentList = { "-w", temp, "-v", "en-us", "-s", wordsPerMinute.ToString(System.Globalization.CultureInfo.InvariantCulture), text }, RedirectStandardError = true };
            using Process process = Process.Start(start) ?? throw new InvalidOperationException("espeak-ng did not start");
            process.WaitForExit();
            if (process.ExitCode != 0) throw new InvalidOperationException("espeak-ng failed: " + process.StandardError.ReadToEnd());
            File.Move(temp, path, overwrite: true);
        }
        return WavFile.Read(path);
    }

    /// <summary>Runs samples through the pipeline's VAD + endpointer and returns the segments (seconds).</summary>
    public static List<(double Start, double End)> Segments(float[] samples, EndpointerOptions? options = null)
    {
        using SileroVad vad = Vad.CreateStream();
        var endpointer = new SpeechEndpointer(options ?? EndpointerOptions.SileroDefaults);
        var segments = new List<(double, double)>();
        int frames = (samples.Length + SileroVadModel.FrameSamples - 1) / SileroVadModel.FrameSamples;
        var frame = new float[SileroVadModel.FrameSamples];
        for (int f = 0; f < frames; f++)
        {
            Array.Clear(frame);
            int n = Math.Min(frame.Length, samples.Length - f * frame.Length);
            samples.AsSpan(f * frame.Length, n).CopyTo(frame);
            if (endpointer.Update(vad.Process(frame)) == EndpointEvent.Ended) segments.Add((endpointer.StartSample / 16000.0, endpointer.EndSample / 16000.0));
        }
        if (endpointer.Flush(samples.Length) == EndpointEvent.Ended) segments.Add((endpointer.StartSample / 16000.0, endpointer.EndSample / 16000.0));
        return segments;
    }
}

/// <summary>A fact that reports itself skipped, with the reason, when jfk.wav is not beside the checkout.</summary>
public sealed class JfkFactAttribute : FactAttribute
{
    public JfkFactAttribute()
    {
        if (!File.Exists(TestAudio.JfkPath))
            Skip = $"{TestAudio.JfkPath} is absent (it lives in shared/testdata beside the checkout, not in the repository)";
    }
}
