using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Alicia.Voice.Stt.Whisper;

namespace Alicia.Load;

/// <summary>One measured stage: nearest-rank percentiles over its samples (ms).</summary>
internal sealed record StageFigures(string Stage, int Count, double P50, double P95, double Max)
{
    public static StageFigures Of(string stage, IEnumerable<double> values)
    {
        double[] v = [.. values.Order()];
        return new StageFigures(stage, v.Length, Percentile(v, 50), Percentile(v, 95), v.Length == 0 ? double.NaN : v[^1]);
    }

    public static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Length) - 1, 0, sorted.Length - 1)];
}

/// <summary>One run of a voice scenario: what was run, and its stages.</summary>
internal sealed record VoiceRun(string Name, string Weights, int Sessions, string Speculation, int MaxTokens, double MeanTokens, IReadOnlyList<StageFigures> Stages, string LoadAverage);

/// <summary>
/// Writes a voice scenario's runs to bench/results/ as JSON with the machine's description (CPU, cores, load average
/// before and after, what the shipped whisper.cpp build uses), so figures are never quoted without their machine.
/// </summary>
internal static class VoiceResults
{
    public static string LoadAverage() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "n/a";

    public static string Cpu()
    {
        if (!File.Exists("/proc/cpuinfo")) return RuntimeInformation.ProcessArchitecture.ToString();
        string? model = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
        string? flags = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal));
        string[] wanted = flags is null ? [] : [.. flags.Split(' ').Where(f => f.StartsWith("avx512", StringComparison.Ordinal) || f.StartsWith("amx", StringComparison.Ordinal) || f is "avx2" or "fma" or "f16c" or "avx_vnni")];
        return (model?[(model.IndexOf(':') + 1)..].Trim() ?? "unknown") + " (" + string.Join(' ', wanted) + ")";
    }

    public static string Write(string scenario, string command, string loadBefore, IReadOnlyList<VoiceRun> runs)
    {
        string dir = ResultsFolder.Default();
        string path = Path.Combine(dir, $"{scenario}-{DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)}.json");
        using (var stream = File.Create(path))
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("scenario", scenario);
            w.WriteString("command", command);
            w.WriteString("utc", DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture));
            w.WriteStartObject("machine");
            w.WriteString("cpu", Cpu());
            w.WriteNumber("logical_cpus", Environment.ProcessorCount);
            w.WriteString("os", RuntimeInformation.OSDescription);
            w.WriteString("dotnet", RuntimeInformation.FrameworkDescription);
            w.WriteString("whisper_cpp_system_info", WhisperLibrary.SystemInfo());
            w.WriteString("loadavg_before", loadBefore);
            w.WriteString("loadavg_after", LoadAverage());
            w.WriteString("note", "shared machine: other processes ran alongside; compare runs of the same file, not absolute figures");
            w.WriteEndObject();
            w.WriteStartArray("runs");
            foreach (VoiceRun run in runs)
            {
                w.WriteStartObject();
                w.WriteString("run", run.Name);
                w.WriteString("weights", run.Weights);
                w.WriteNumber("sessions", run.Sessions);
                w.WriteString("speculation", run.Speculation);
                w.WriteNumber("max_tokens", run.MaxTokens);
                w.WriteNumber("mean_tokens", Math.Round(run.MeanTokens, 2));
                w.WriteString("loadavg_after_run", run.LoadAverage);
                w.WriteStartArray("stages_ms");
                foreach (StageFigures s in run.Stages)
                {
                    w.WriteStartObject();
                    w.WriteString("stage", s.Stage);
                    w.WriteNumber("n", s.Count);
                    Number(w, "p50", s.P50);
                    Number(w, "p95", s.P95);
                    Number(w, "max", s.Max);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Path.GetRelativePath(Environment.CurrentDirectory, path);
    }

    private static void Number(Utf8JsonWriter w, string name, double value)
    {
        if (double.IsNaN(value)) w.WriteNull(name);
        else w.WriteNumber(name, Math.Round(value, 1));
    }
}
