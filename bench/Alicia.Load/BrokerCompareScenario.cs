using System.Diagnostics;
using System.Runtime.InteropServices;
using Alicia.Engine.Bus;
using Alicia.TestSupport;

namespace Alicia.Load;

/// <summary>One cell of the matrix on one broker.</summary>
internal sealed record BrokerRun(
    string Broker, int Qos, int Publishers, FloodResult Flood, double? BrokerCpuSeconds,
    long? Qos0DroppedByBroker, long? Qos1DroppedByBroker, long? BackpressureWaits, double? AllocatedBytesPerMessage, string? AllocationProfile = null,
    double? ContextSwitchesPerMessage = null);

/// <summary>Everything one broker-compare run measured, with the machine it ran on.</summary>
internal sealed record BrokerCompareResult(
    DateTimeOffset StartedUtc, MachineDescription Machine, int Messages, int PayloadBytes, int Window, IReadOnlyList<BrokerRun> Runs)
{
    public BrokerRun? Find(string broker, int qos, int publishers) =>
        Runs.FirstOrDefault(r => r.Broker == broker && r.Qos == qos && r.Publishers == publishers);
}

/// <summary>
/// The embedded broker against Mosquitto with a third-party client (MQTT.js), in the same run: the
/// embedded broker as the load tool starts it without the gateway (raw topics pass), Mosquitto 2 with a
/// generated loopback configuration (<c>set_tcp_nodelay true</c>, anonymous). Each cell of the matrix
/// (QoS × publishers → 1 subscriber) runs on Mosquitto, then on the embedded broker, so both see the same
/// machine load as closely as a shared machine allows.
/// </summary>
internal static class BrokerCompareScenario
{
    public const string Mosquitto = "mosquitto";
    public const string Embedded = "embedded";

    /// <summary>The embedded broker flushing every packet at once (--compare-unbatched 1): without the queue-aware batching, in the same run.</summary>
    public const string EmbeddedFlushEach = "embedded-flush-each";

    public static async Task<int> RunAsync(LoadOptions o, TextWriter log)
    {
        BrokerCompareResult result = await MeasureAsync(o, log).ConfigureAwait(false);
        string directory = o.ResultsDirectory ?? Path.Combine(Path.GetDirectoryName(BrokerCompareClient.FindDirectory())!, "results");
        IReadOnlyList<string> files = BrokerCompareReport.Write(result, directory);
        Console.WriteLine();
        Console.WriteLine(BrokerCompareReport.Table(result));
        foreach (string file in files) Console.WriteLine($"wrote {Path.GetRelativePath(Environment.CurrentDirectory, file)}");
        return 0;
    }

    public static async Task<BrokerCompareResult> MeasureAsync(LoadOptions o, TextWriter log)
    {
        int messages = o.Messages > 0 ? (int)Math.Min(o.Messages, 10_000_000) : 40_000;
        var client = new BrokerCompareClient(o.MqttJsDirectory ?? BrokerCompareClient.FindDirectory(), o.Node, log);
        await client.EnsureInstalledAsync().ConfigureAwait(false);
        DateTimeOffset started = DateTimeOffset.UtcNow;
        double[] loadStart = MachineDescription.LoadAverage();

        await using MosquittoBroker mosquitto = await MosquittoBroker.StartLoopbackAsync(o.Mosquitto, TimeSpan.FromSeconds(15)).ConfigureAwait(false);
        // As the load tool's other runs start it: no gateway, so MQTT.js's raw topics pass; loopback only.
        var embedded = new List<(string Name, EmbeddedBroker Broker)>();
        try
        {
            embedded.Add((Embedded, await StartEmbeddedAsync(new EmbeddedBrokerOptions()).ConfigureAwait(false)));
            if (o.CompareUnbatched) embedded.Add((EmbeddedFlushEach, await StartEmbeddedAsync(new EmbeddedBrokerOptions { FlushEachPacket = true }).ConfigureAwait(false)));
            log.WriteLine($"[broker-compare] mosquitto on 127.0.0.1:{mosquitto.Port}, {string.Join(", ", embedded.Select(e => $"{e.Name} on 127.0.0.1:{e.Broker.TcpEndPoint!.Port}"))}; {messages} messages x {o.PayloadBytesOrDefault} B per cell");
            return await MeasureMatrixAsync(o, log, client, mosquitto, embedded, messages, started, loadStart).ConfigureAwait(false);
        }
        finally
        {
            foreach ((_, EmbeddedBroker broker) in embedded) await broker.DisposeAsync().ConfigureAwait(false);
        }
    }

    // As the load tool's other runs start it: no gateway, so MQTT.js's raw topics pass; loopback only.
    private static async Task<EmbeddedBroker> StartEmbeddedAsync(EmbeddedBrokerOptions options)
    {
        options.Port = 0;
        options.ListenAddress = "127.0.0.1";
        var broker = new EmbeddedBroker(options);
        await broker.StartAsync().WaitAsync(TimeSpan.FromSeconds(15)).ConfigureAwait(false);
        return broker;
    }

    private static async Task<BrokerCompareResult> MeasureMatrixAsync(LoadOptions o, TextWriter log, BrokerCompareClient client, MosquittoBroker mosquitto,
        List<(string Name, EmbeddedBroker Broker)> embedded, int messages, DateTimeOffset started, double[] loadStart)
    {
        // Unmeasured: JIT, connection set-up and pools on both sides.
        int warm = Math.Min(messages, 2_000);
        foreach (int qos in o.CompareQos)
        {
            await client.FloodAsync(mosquitto.Port, qos, 1, warm, o.PayloadBytesOrDefault, o.Window, o.TimeLimitSeconds).ConfigureAwait(false);
            foreach ((_, EmbeddedBroker broker) in embedded)
                await client.FloodAsync(broker.TcpEndPoint!.Port, qos, 1, warm, o.PayloadBytesOrDefault, o.Window, o.TimeLimitSeconds).ConfigureAwait(false);
        }

        var runs = new List<BrokerRun>();
        foreach (int qos in o.CompareQos)
        {
            foreach (int publishers in o.Publishers)
            {
                TimeSpan? cpu0 = mosquitto.CpuTime();
                long? switches0 = ContextSwitches.Of(mosquitto.ProcessId);
                FloodResult m = await client.FloodAsync(mosquitto.Port, qos, publishers, messages, o.PayloadBytesOrDefault, o.Window, o.TimeLimitSeconds).ConfigureAwait(false);
                TimeSpan? cpu1 = mosquitto.CpuTime();
                long? switches1 = ContextSwitches.Of(mosquitto.ProcessId);
                runs.Add(new BrokerRun(Mosquitto, qos, publishers, m, cpu0 is { } a && cpu1 is { } b ? (b - a).TotalSeconds : null, null, null, null, null,
                    ContextSwitchesPerMessage: PerMessage(switches0, switches1, m.Received)));
                log.WriteLine($"[broker-compare] qos {qos} {publishers}->1 mosquitto: {m.Received}/{m.Sent} at {m.MsgPerSecond:0} msg/s, p99 {m.P99Us:0} us");

                foreach ((string name, EmbeddedBroker broker) in embedded)
                {
                    BrokerRun e = await MeasureEmbeddedAsync(name, broker, client, qos, publishers, messages, o).ConfigureAwait(false);
                    runs.Add(e);
                    log.WriteLine($"[broker-compare] qos {qos} {publishers}->1 {name}: {e.Flood.Received}/{e.Flood.Sent} at {e.Flood.MsgPerSecond:0} msg/s, p99 {e.Flood.P99Us:0} us, qos0 drops {e.Qos0DroppedByBroker}");
                }
            }
        }
        double[] loadEnd = MachineDescription.LoadAverage();
        MachineDescription machine = await MachineDescription.DescribeAsync(o.Mosquitto, client, loadStart, loadEnd).ConfigureAwait(false);
        return new BrokerCompareResult(started, machine, messages, o.PayloadBytesOrDefault, o.Window, runs);
    }

    /// <summary>
    /// The embedded broker runs in this process, which does nothing else meanwhile: the process's CPU time
    /// and allocated bytes over the flood are the broker's (plus the runtime's own background work).
    /// </summary>
    private static async Task<BrokerRun> MeasureEmbeddedAsync(string name, EmbeddedBroker embedded, BrokerCompareClient client, int qos, int publishers, int messages, LoadOptions o)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        using var process = Process.GetCurrentProcess();
        TimeSpan cpu0 = process.TotalProcessorTime;
        long alloc0 = GC.GetTotalAllocatedBytes(precise: true);
        using AllocationSampler? sampler = o.AllocProfile && name == Embedded ? new AllocationSampler() : null;
        if (sampler is not null) sampler.Enabled = true;
        long q0 = embedded.Metrics.Qos0DroppedCount, q1 = embedded.Metrics.Qos1DroppedCount, w = embedded.Metrics.BackpressureWaitCount;
        long? switches0 = ContextSwitches.Of(Environment.ProcessId);
        FloodResult r = await client.FloodAsync(embedded.TcpEndPoint!.Port, qos, publishers, messages, o.PayloadBytesOrDefault, o.Window, o.TimeLimitSeconds).ConfigureAwait(false);
        long? switches1 = ContextSwitches.Of(Environment.ProcessId);
        long alloc = GC.GetTotalAllocatedBytes(precise: true) - alloc0;
        if (sampler is not null) sampler.Enabled = false;
        process.Refresh();
        double cpu = (process.TotalProcessorTime - cpu0).TotalSeconds;
        return new BrokerRun(name, qos, publishers, r, cpu,
            embedded.Metrics.Qos0DroppedCount - q0, embedded.Metrics.Qos1DroppedCount - q1, embedded.Metrics.BackpressureWaitCount - w,
            alloc / (double)Math.Max(1, r.Received), sampler?.Report(r.Received, top: 15), PerMessage(switches0, switches1, r.Received));
    }

    private static double? PerMessage(long? before, long? after, long messages) =>
        before is { } b && after is { } a ? (a - b) / (double)Math.Max(1, messages) : null;
}

/// <summary>The machine a result was measured on: results from different machines are not comparable.</summary>
internal sealed record MachineDescription(
    int Cores, string CpuModel, string Os, string Runtime, double[] LoadAverageStart, double[] LoadAverageEnd,
    string MosquittoVersion, string NodeVersion, string MqttJsVersion)
{
    public static double[] LoadAverage()
    {
        try
        {
            return [.. File.ReadAllText("/proc/loadavg").Split(' ').Take(3).Select(s => double.Parse(s, System.Globalization.CultureInfo.InvariantCulture))];
        }
        catch (IOException) { return []; }
    }

    public static async Task<MachineDescription> DescribeAsync(string mosquittoBinary, BrokerCompareClient client, double[] loadStart, double[] loadEnd)
    {
        string cpu = "?";
        if (File.Exists("/proc/cpuinfo"))
            cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "?";
        // `mosquitto -h` prints "mosquitto version 2.0.11" first and exits non-zero.
        ProcessResult help = await ChildProcess.RunAsync(mosquittoBinary, ["-h"], TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        string mosquitto = help.Output.Split('\n').FirstOrDefault(l => l.Contains("version", StringComparison.Ordinal))?.Trim() ?? "?";
        return new MachineDescription(Environment.ProcessorCount, cpu, RuntimeInformation.OSDescription, RuntimeInformation.FrameworkDescription,
            loadStart, loadEnd, mosquitto, await client.NodeVersionAsync().ConfigureAwait(false), client.MqttJsVersion());
    }
}
