using System.Globalization;
using System.Text.Json.Nodes;
using Alicia.TestSupport;

namespace Alicia.Load;

/// <summary>What one MQTT.js flood (bench/mqttjs/flood.mjs) reported.</summary>
internal sealed record FloodResult(
    long Sent, long Received, long Failed, long Duplicates, string End,
    double MsgPerSecond, double SentPerSecond, double ClientCpuSeconds,
    double? P50Us, double? P90Us, double? P99Us, double? P999Us, double? MaxUs,
    IReadOnlyList<(double Percentile, double LatencyUs)> Curve, JsonObject Raw)
{
    public long Lost => Math.Max(0, Sent - Received);

    public static FloodResult Parse(string jsonLine)
    {
        JsonObject o = JsonNode.Parse(jsonLine)?.AsObject() ?? throw new FormatException("flood.mjs printed no JSON object");
        JsonObject latency = o["latencyUs"]!.AsObject();
        var curve = new List<(double, double)>();
        foreach (JsonNode? point in o["curve"]!.AsArray())
        {
            JsonArray pair = point!.AsArray();
            if (pair[1] is { } us) curve.Add((pair[0]!.GetValue<double>(), us.GetValue<double>()));
        }
        return new FloodResult(
            o["sent"]!.GetValue<long>(), o["received"]!.GetValue<long>(), o["failed"]!.GetValue<long>(), o["duplicates"]!.GetValue<long>(), o["end"]!.GetValue<string>(),
            o["msgPerSecond"]!.GetValue<double>(), o["sentPerSecond"]!.GetValue<double>(), o["clientCpuSeconds"]!.GetValue<double>(),
            Num(latency["p50"]), Num(latency["p90"]), Num(latency["p99"]), Num(latency["p999"]), Num(latency["max"]),
            curve, o);
    }

    private static double? Num(JsonNode? n) => n?.GetValue<double>();
}

/// <summary>
/// Runs MQTT.js (a client nobody here wrote) from bench/mqttjs as a child process: installs it with
/// <c>npm ci</c> from the committed lock file when node_modules is missing, then one flood per call.
/// </summary>
internal sealed class BrokerCompareClient(string directory, string node, TextWriter log)
{
    public string Directory { get; } = directory;

    /// <summary>Locates bench/mqttjs from the current directory or the tool's own folder (both inside the repository).</summary>
    public static string FindDirectory()
    {
        foreach (string start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (DirectoryInfo? d = new(start); d is not null; d = d.Parent)
            {
                string candidate = Path.Combine(d.FullName, "bench", "mqttjs");
                if (File.Exists(Path.Combine(candidate, "flood.mjs"))) return candidate;
            }
        }
        throw new DirectoryNotFoundException("bench/mqttjs (flood.mjs) not found above the current directory or the tool; pass --mqttjs DIR");
    }

    public async Task EnsureInstalledAsync()
    {
        if (File.Exists(Path.Combine(Directory, "node_modules", "mqtt", "package.json"))) return;
        log.WriteLine($"[broker-compare] npm ci in {Directory}");
        ProcessResult r = await ChildProcess.RunAsync("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], TimeSpan.FromMinutes(5),
            i => i.WorkingDirectory = Directory).ConfigureAwait(false);
        if (r.ExitCode != 0) throw new InvalidOperationException($"npm ci failed in {Directory} ({r.ExitCode}):\n{r.Output}");
    }

    public string MqttJsVersion()
    {
        JsonNode? package = JsonNode.Parse(File.ReadAllText(Path.Combine(Directory, "node_modules", "mqtt", "package.json")));
        return package?["version"]?.GetValue<string>() ?? "?";
    }

    public async Task<string> NodeVersionAsync() =>
        (await ChildProcess.RunAsync(node, ["--version"], TimeSpan.FromSeconds(30)).ConfigureAwait(false)).StandardOutput.Trim();

    /// <summary>One flood: <paramref name="publishers"/> → 1 at <paramref name="qos"/>; the child is killed past the time limit plus a margin.</summary>
    public async Task<FloodResult> FloodAsync(int port, int qos, int publishers, int messages, int payloadBytes, int window, double timeLimitSeconds)
    {
        string[] args =
        [
            Path.Combine(Directory, "flood.mjs"),
            "--url", $"mqtt://127.0.0.1:{port}", "--qos", qos.ToString(CultureInfo.InvariantCulture),
            "--publishers", publishers.ToString(CultureInfo.InvariantCulture), "--messages", messages.ToString(CultureInfo.InvariantCulture),
            "--payload", payloadBytes.ToString(CultureInfo.InvariantCulture), "--window", window.ToString(CultureInfo.InvariantCulture),
            "--timeout", timeLimitSeconds.ToString(CultureInfo.InvariantCulture),
        ];
        ProcessResult r = await ChildProcess.RunAsync(node, args, TimeSpan.FromSeconds(timeLimitSeconds + 30), i => i.WorkingDirectory = Directory).ConfigureAwait(false);
        string? line = r.StandardOutput.Split('\n').LastOrDefault(l => l.StartsWith('{'));
        if (r.ExitCode != 0 || line is null) throw new InvalidOperationException($"flood.mjs failed ({r.ExitCode}):\n{r.Output}");
        return FloodResult.Parse(line);
    }
}
