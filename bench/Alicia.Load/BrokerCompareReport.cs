using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Alicia.Load;

/// <summary>
/// The broker-compare results: a Markdown table (embedded against Mosquitto, same run), a JSON file with every
/// figure and the machine, and one latency-distribution plot per cell, all under bench/results/.
/// </summary>
internal static class BrokerCompareReport
{
    /// <summary>Goal 1 of issue 14: at least Mosquitto's msg/s, p99 within 1.5× of Mosquitto's.</summary>
    public const double MinThroughputRatio = 1.0, MaxP99Ratio = 1.5;

    public static string Table(BrokerCompareResult result)
    {
        MachineDescription m = result.Machine;
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"Broker against Mosquitto, MQTT.js {m.MqttJsVersion} (node {m.NodeVersion}), {result.Messages} x {result.PayloadBytes} B per cell, window {result.Window} per publisher, {result.StartedUtc:yyyy-MM-dd HH:mm} UTC");
        sb.AppendLine(CultureInfo.InvariantCulture, $"Machine: {m.Cores} cores, {m.CpuModel}; {m.MosquittoVersion}; loadavg {Load(m.LoadAverageStart)} at start, {Load(m.LoadAverageEnd)} at end (shared machine: compare the ratios)");
        sb.AppendLine();
        var rows = new List<string[]>
        {
            new[] { "case", "mosquitto msg/s", "embedded msg/s", "ratio", "mosquitto p99 ms", "embedded p99 ms", "p99 ratio", "mosquitto loss", "embedded loss", "embedded QoS 0 drops counted", "broker CPU s mosq/emb", "broker context switches/msg mosq/emb", "embedded alloc B/msg", "goal 1" },
        };
        foreach ((int qos, int publishers) in Cells(result))
        foreach (string variant in EmbeddedVariants(result))
        {
            BrokerRun? mo = result.Find(BrokerCompareScenario.Mosquitto, qos, publishers);
            BrokerRun? em = result.Find(variant, qos, publishers);
            if (mo is null || em is null) continue;
            double rate = Ratio(em.Flood.MsgPerSecond, mo.Flood.MsgPerSecond);
            double p99 = Ratio(em.Flood.P99Us ?? 0, mo.Flood.P99Us ?? 0);
            rows.Add([
                $"QoS {qos}, {publishers} -> 1" + (variant == BrokerCompareScenario.Embedded ? "" : $" ({variant})"),
                mo.Flood.MsgPerSecond.ToString("0", CultureInfo.InvariantCulture), em.Flood.MsgPerSecond.ToString("0", CultureInfo.InvariantCulture),
                rate.ToString("0.00", CultureInfo.InvariantCulture) + "x",
                Ms(mo.Flood.P99Us), Ms(em.Flood.P99Us), p99.ToString("0.00", CultureInfo.InvariantCulture) + "x",
                Loss(mo.Flood), Loss(em.Flood), (em.Qos0DroppedByBroker ?? 0).ToString(CultureInfo.InvariantCulture),
                $"{mo.BrokerCpuSeconds?.ToString("0.00", CultureInfo.InvariantCulture) ?? "?"}/{em.BrokerCpuSeconds?.ToString("0.00", CultureInfo.InvariantCulture) ?? "?"}",
                $"{mo.ContextSwitchesPerMessage?.ToString("0.00", CultureInfo.InvariantCulture) ?? "?"}/{em.ContextSwitchesPerMessage?.ToString("0.00", CultureInfo.InvariantCulture) ?? "?"}",
                em.AllocatedBytesPerMessage?.ToString("0", CultureInfo.InvariantCulture) ?? "-",
                rate >= MinThroughputRatio && p99 <= MaxP99Ratio ? "met" : "missed",
            ]);
        }
        Program.Table(sb, rows);
        foreach (BrokerRun r in result.Runs.Where(r => r.AllocationProfile is not null))
        {
            sb.AppendLine();
            sb.AppendLine(CultureInfo.InvariantCulture, $"Embedded broker, QoS {r.Qos}, {r.Publishers} -> 1: {r.AllocationProfile}");
        }
        sb.AppendLine();
        sb.AppendLine("msg/s = messages received / (first send to last receive); p99 = send to receive inside the MQTT.js process (one monotonic clock);");
        sb.AppendLine("loss = sent - received (unique); the embedded broker's CPU, allocations and context switches are this process's over the cell (it does nothing else meanwhile);");
        sb.AppendLine("context switches = the broker process's threads switched off a CPU (waiting or preempted), summed over its threads from /proc, per message received.");
        return sb.ToString();
    }

    /// <summary>The embedded broker first, then any variant measured beside it (e.g. without batched writes).</summary>
    public static IEnumerable<string> EmbeddedVariants(BrokerCompareResult result) =>
        result.Runs.Select(r => r.Broker).Where(b => b != BrokerCompareScenario.Mosquitto).Distinct().OrderBy(b => b == BrokerCompareScenario.Embedded ? 0 : 1);

    public static IEnumerable<(int Qos, int Publishers)> Cells(BrokerCompareResult result) =>
        result.Runs.Select(r => (r.Qos, r.Publishers)).Distinct();

    /// <summary>Writes broker-compare-STAMP.{json,md} and one PNG per cell into <paramref name="directory"/>; returns the paths.</summary>
    public static IReadOnlyList<string> Write(BrokerCompareResult result, string directory)
    {
        Directory.CreateDirectory(directory);
        string stem = Path.Combine(directory, $"broker-compare-{result.StartedUtc:yyyyMMdd-HHmmss}");
        var files = new List<string>();
        File.WriteAllText(stem + ".json", Json(result).ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        files.Add(stem + ".json");
        File.WriteAllText(stem + ".md", Table(result));
        files.Add(stem + ".md");
        foreach ((int qos, int publishers) in Cells(result))
        {
            string png = $"{stem}-qos{qos}-{publishers}to1.png";
            BrokerComparePlot.Save(result, qos, publishers, png);
            files.Add(png);
        }
        return files;
    }

    public static JsonObject Json(BrokerCompareResult result)
    {
        MachineDescription m = result.Machine;
        var runs = new JsonArray();
        foreach (BrokerRun r in result.Runs)
        {
            runs.Add(new JsonObject
            {
                ["broker"] = r.Broker, ["qos"] = r.Qos, ["publishers"] = r.Publishers,
                ["sent"] = r.Flood.Sent, ["received"] = r.Flood.Received, ["lost"] = r.Flood.Lost, ["duplicates"] = r.Flood.Duplicates,
                ["msgPerSecond"] = Math.Round(r.Flood.MsgPerSecond, 1),
                ["latencyUs"] = new JsonObject { ["p50"] = r.Flood.P50Us, ["p90"] = r.Flood.P90Us, ["p99"] = r.Flood.P99Us, ["p999"] = r.Flood.P999Us, ["max"] = r.Flood.MaxUs },
                ["brokerCpuSeconds"] = r.BrokerCpuSeconds, ["brokerContextSwitchesPerMessage"] = r.ContextSwitchesPerMessage, ["clientCpuSeconds"] = r.Flood.ClientCpuSeconds,
                ["qos0DroppedByBroker"] = r.Qos0DroppedByBroker, ["qos1DroppedByBroker"] = r.Qos1DroppedByBroker,
                ["backpressureWaits"] = r.BackpressureWaits, ["allocatedBytesPerMessage"] = r.AllocatedBytesPerMessage is { } a ? Math.Round(a) : null,
                ["client"] = r.Flood.Raw.DeepClone(),
            });
        }
        var comparisons = new JsonArray();
        foreach ((int qos, int publishers) in Cells(result))
        foreach (string variant in EmbeddedVariants(result))
        {
            BrokerRun? mo = result.Find(BrokerCompareScenario.Mosquitto, qos, publishers), em = result.Find(variant, qos, publishers);
            if (mo is null || em is null) continue;
            double rate = Ratio(em.Flood.MsgPerSecond, mo.Flood.MsgPerSecond), p99 = Ratio(em.Flood.P99Us ?? 0, mo.Flood.P99Us ?? 0);
            comparisons.Add(new JsonObject
            {
                ["qos"] = qos, ["publishers"] = publishers, ["embedded"] = variant,
                ["throughputRatio"] = Math.Round(rate, 3), ["p99Ratio"] = Math.Round(p99, 3),
                ["goal1Met"] = rate >= MinThroughputRatio && p99 <= MaxP99Ratio,
                ["embeddedLost"] = em.Flood.Lost, ["mosquittoLost"] = mo.Flood.Lost,
            });
        }
        return new JsonObject
        {
            ["scenario"] = "broker-compare",
            ["startedUtc"] = result.StartedUtc.ToString("O", CultureInfo.InvariantCulture),
            ["messages"] = result.Messages, ["payloadBytes"] = result.PayloadBytes, ["window"] = result.Window,
            ["machine"] = new JsonObject
            {
                ["cores"] = m.Cores, ["cpuModel"] = m.CpuModel, ["os"] = m.Os, ["runtime"] = m.Runtime,
                ["loadAverageStart"] = new JsonArray([.. m.LoadAverageStart.Select(x => (JsonNode)x)]),
                ["loadAverageEnd"] = new JsonArray([.. m.LoadAverageEnd.Select(x => (JsonNode)x)]),
                ["mosquitto"] = m.MosquittoVersion, ["node"] = m.NodeVersion, ["mqttJs"] = m.MqttJsVersion,
            },
            ["runs"] = runs,
            ["comparisons"] = comparisons,
        };
    }

    private static double Ratio(double a, double b) => b > 0 ? a / b : double.NaN;

    private static string Ms(double? us) => us is { } v ? (v / 1000).ToString("0.000", CultureInfo.InvariantCulture) : "-";

    private static string Loss(FloodResult f) =>
        f.Sent == 0 ? "-" : $"{f.Lost} ({100.0 * f.Lost / f.Sent:0.##} %)".Replace(",", ".", StringComparison.Ordinal);

    private static string Load(double[] l) => l.Length == 0 ? "?" : string.Join(' ', l.Select(x => x.ToString("0.00", CultureInfo.InvariantCulture)));
}
