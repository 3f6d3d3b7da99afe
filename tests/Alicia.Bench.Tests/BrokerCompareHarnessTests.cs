using System.Text.Json.Nodes;
using Alicia.Load;

namespace Alicia.Bench.Tests;

/// <summary>
/// The broker-compare harness run for real with small counts: MQTT.js (npm) floods a real Mosquitto and the
/// embedded broker on loopback (as it runs by default, and flushing every packet at once), the whole QoS × publishers
/// matrix, and writes its report. Asserts the report's
/// structure and what must hold at any speed (zero QoS 1 loss on both brokers); never a speed.
/// </summary>
public sealed class BrokerCompareHarnessTests : IDisposable
{
    private const int Messages = 2_000;
    private readonly TempDirectory _results = new("alicia-broker-compare");

    public void Dispose() => _results.Dispose();

    [Fact]
    public async Task Runs_the_matrix_on_both_brokers_and_writes_table_json_and_plots()
    {
        var options = new LoadOptions { Scenario = "broker-compare", Messages = Messages, ResultsDirectory = _results.Path, TimeLimitSeconds = 120, CompareUnbatched = true };

        BrokerCompareResult result = await BrokerCompareScenario.MeasureAsync(options, TextWriter.Null);
        IReadOnlyList<string> files = BrokerCompareReport.Write(result, _results.Path);

        // Every cell ran on every broker, every message was sent.
        Assert.Equal(12, result.Runs.Count);
        foreach (string broker in new[] { BrokerCompareScenario.Mosquitto, BrokerCompareScenario.Embedded, BrokerCompareScenario.EmbeddedFlushEach })
        foreach (int qos in new[] { 0, 1 })
        foreach (int publishers in new[] { 1, 8 })
        {
            BrokerRun run = result.Find(broker, qos, publishers) ?? throw new Xunit.Sdk.XunitException($"no {broker} run for QoS {qos} {publishers}->1");
            Assert.Equal(Messages, run.Flood.Sent);
            Assert.Equal(0, run.Flood.Failed);
            Assert.True(run.Flood.Received > 0, $"{broker} QoS {qos} {publishers}->1 delivered nothing");
            Assert.NotNull(run.Flood.P99Us);
            Assert.True(run.Flood.P50Us <= run.Flood.P99Us && run.Flood.P99Us <= run.Flood.MaxUs);
            Assert.NotEmpty(run.Flood.Curve);
            Assert.True(run.ContextSwitchesPerMessage > 0, $"{broker} QoS {qos} {publishers}->1: no context switches read from /proc");
            if (qos == 1) Assert.True(run.Flood.Lost == 0, $"{broker} lost {run.Flood.Lost} QoS 1 messages at {publishers}->1");
            if (broker != BrokerCompareScenario.Mosquitto)
            {
                // 2,000 messages never reach the 100,000-message queue cap: nothing may be dropped, and the counters say so.
                Assert.Equal(0, run.Qos0DroppedByBroker);
                Assert.Equal(0, run.Qos1DroppedByBroker);
                Assert.True(run.AllocatedBytesPerMessage > 0);
                Assert.True(run.BrokerCpuSeconds > 0);
            }
        }

        // The JSON file: the machine, every run, one comparison per cell and embedded variant.
        string json = Assert.Single(files, f => f.EndsWith(".json", StringComparison.Ordinal));
        JsonObject report = JsonNode.Parse(await File.ReadAllTextAsync(json))!.AsObject();
        Assert.Equal("broker-compare", report["scenario"]!.GetValue<string>());
        JsonObject machine = report["machine"]!.AsObject();
        Assert.Equal(Environment.ProcessorCount, machine["cores"]!.GetValue<int>());
        Assert.Equal(3, machine["loadAverageStart"]!.AsArray().Count);
        Assert.Equal(3, machine["loadAverageEnd"]!.AsArray().Count);
        Assert.StartsWith("mosquitto version 2", machine["mosquitto"]!.GetValue<string>());
        Assert.StartsWith("v", machine["node"]!.GetValue<string>());
        Assert.StartsWith("5.", machine["mqttJs"]!.GetValue<string>());
        Assert.Equal(12, report["runs"]!.AsArray().Count);
        JsonArray comparisons = report["comparisons"]!.AsArray();
        Assert.Equal(8, comparisons.Count);
        foreach (JsonNode? c in comparisons)
        {
            Assert.True(c!["throughputRatio"]!.GetValue<double>() > 0);
            Assert.True(c["p99Ratio"]!.GetValue<double>() > 0);
            if (c["qos"]!.GetValue<int>() == 1)
            {
                Assert.Equal(0, c["embeddedLost"]!.GetValue<long>());
                Assert.Equal(0, c["mosquittoLost"]!.GetValue<long>());
            }
        }

        // The table and one PNG per cell.
        string table = await File.ReadAllTextAsync(Assert.Single(files, f => f.EndsWith(".md", StringComparison.Ordinal)));
        foreach (string cell in new[] { "QoS 0, 1 -> 1", "QoS 0, 8 -> 1", "QoS 1, 1 -> 1", "QoS 1, 8 -> 1" })
        {
            Assert.Contains($"| {cell} ", table);
            Assert.Contains($"| {cell} (embedded-flush-each) ", table);
        }
        Assert.Contains("loadavg", table);
        string[] plots = [.. files.Where(f => f.EndsWith(".png", StringComparison.Ordinal))];
        Assert.Equal(4, plots.Length);
        foreach (string png in plots)
        {
            byte[] bytes = await File.ReadAllBytesAsync(png);
            Assert.True(bytes.Length > 1000, $"{png} is nearly empty");
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes[..4]);
        }
    }
}
