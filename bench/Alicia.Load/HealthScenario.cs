using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Engine.Hosting;
using Alicia.Engine.Monitoring;
using Alicia.Engine.Registry;
using Alicia.Engine.Security;

namespace Alicia.Load;

/// <summary>
/// <c>--scenario health</c>: the latency distribution of a health request over the bus (design: well under 50 ms; aim
/// p99 ≤ 2 ms). The engine (embedded broker, registry with 50 devices, monitoring with 10 heartbeating services) answers
/// a signed TCP client on loopback, one request at a time. The baseline, interleaved request by request in the same run
/// so the machine's load falls on both alike, is the same round trip to a bare responder that answers a prebuilt report
/// of the same size: the difference is the monitoring service's own work. <c>--messages</c> requests of each kind
/// (default 5,000), bounded by <c>--duration</c>; the figures and the machine go to <c>bench/results/health-*.json</c>.
/// </summary>
internal static class HealthScenario
{
    private const int Devices = 50, Services = 10;

    public static async Task<int> RunAsync(LoadOptions o, TextWriter log)
    {
        int count = o.Messages > 0 ? (int)Math.Min(o.Messages, 1_000_000) : 5000;
        int warmup = Math.Max(o.Warmup, 500);
        string dir = Path.Combine(Path.GetTempPath(), "alicia-load-health-" + Guid.NewGuid().ToString("N"));
        var engine = new AliciaEngine(new AliciaEngineOptions { KeyDirectory = Path.Combine(dir, "keys"), DataDirectory = Path.Combine(dir, "data"), Broker = new EmbeddedBrokerOptions { Port = 0 } });
        var buses = new List<AliciaBus>();
        try
        {
            var registry = new RegistryService();
            var monitoring = new MonitoringService();
            engine.AddService(registry).AddService(monitoring);
            await engine.StartAsync().ConfigureAwait(false);
            for (int i = 0; i < Devices; i++)
                registry.Registry.Register(Tools.Simulation.SimulatedDevice.Describe($"dev-{i}", Tools.Simulation.SimulatedKind.Bulb, "kitchen"), "load");
            async Task<AliciaBus> Connect(string name)
            {
                AliciaBus bus = await AliciaBus.ConnectAsync(engine.ClientEndpoint!, engine.Keys.Load(name, createIfMissing: true), new EnvelopeVerifier(new TrustStore(engine.Keys))).ConfigureAwait(false);
                buses.Add(bus);
                return bus;
            }
            for (int i = 0; i < Services; i++)
                await (await Connect($"svc-{i}")).PublishAsync(new ServiceHealth { Service = $"svc-{i}", IntervalMs = 600_000, Metrics = new() { ["cpu_percent"] = 10, ["error_rate"] = 0 } }).ConfigureAwait(false);
            AliciaBus client = await Connect("health-client");

            // Wait until the heartbeats are known, then freeze one real report for the baseline's responder.
            var settle = Stopwatch.StartNew();
            HealthReport sample;
            while ((sample = (await client.RequestAsync<HealthRequest, HealthReport>(new HealthRequest(), engine.Name).ConfigureAwait(false)).Data).Health.Components.Count < Devices + Services)
            {
                if (settle.Elapsed > TimeSpan.FromSeconds(30)) throw new TimeoutException($"the monitoring service knows {sample.Health.Components.Count} components, not {Devices + Services}+");
                await Task.Delay(20).ConfigureAwait(false);
            }
            AliciaBus echo = await Connect("bare-responder");
            await using IAsyncDisposable responder = await echo.RespondAsync<HealthRequest, HealthReport>((_, _) => ValueTask.FromResult(sample)).ConfigureAwait(false);

            async Task<long> Ask(string destination)
            {
                long start = Stopwatch.GetTimestamp();
                BusMessage<HealthReport> answer = await client.RequestAsync<HealthRequest, HealthReport>(new HealthRequest(), destination).ConfigureAwait(false);
                long ticks = Stopwatch.GetTimestamp() - start;
                if (answer.Data.Health.Components.Count == 0) throw new InvalidOperationException("an empty health report");
                return ticks;
            }

            for (int i = 0; i < warmup; i++)
            {
                await Ask(engine.Name).ConfigureAwait(false);
                await Ask(echo.Name).ConfigureAwait(false);
            }

            var health = new List<double>(count);
            var bare = new List<double>(count);
            int[] gcBefore = [GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)];
            var elapsed = Stopwatch.StartNew();
            TimeSpan limit = TimeSpan.FromSeconds(o.DurationSeconds);
            for (int i = 0; i < count && elapsed.Elapsed < limit; i++)
            {
                // Alternating which goes first: neither kind always follows the other's GC or wake-up.
                if ((i & 1) == 0)
                {
                    health.Add(Ms(await Ask(engine.Name).ConfigureAwait(false)));
                    bare.Add(Ms(await Ask(echo.Name).ConfigureAwait(false)));
                }
                else
                {
                    bare.Add(Ms(await Ask(echo.Name).ConfigureAwait(false)));
                    health.Add(Ms(await Ask(engine.Name).ConfigureAwait(false)));
                }
            }
            double seconds = elapsed.Elapsed.TotalSeconds;
            int[] gcs = [GC.CollectionCount(0) - gcBefore[0], GC.CollectionCount(1) - gcBefore[1], GC.CollectionCount(2) - gcBefore[2]];

            // Bytes per request (client, broker, engine: all in this process), each kind on its own.
            const int AllocRequests = 500;
            double healthBytes = await BytesPerRequestAsync(() => Ask(engine.Name), AllocRequests).ConfigureAwait(false);
            double bareBytes = await BytesPerRequestAsync(() => Ask(echo.Name), AllocRequests).ConfigureAwait(false);
            double evaluateMs = EvaluateInProcess(monitoring);

            var h = Stats.Of(health);
            var b = Stats.Of(bare);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {Machine.Describe()}"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {health.Count} health requests + {bare.Count} baseline, interleaved, in {seconds:0.0} s ({Devices} devices, {Services} services: {sample.Health.Components.Count} components in each report)"));
            Console.WriteLine(Row("health request over the bus", h, healthBytes));
            Console.WriteLine(Row("baseline: bare responder", b, bareBytes));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  ratio health/baseline: p50 {h.P50 / b.P50:0.00}x  p99 {h.P99 / b.P99:0.00}x;  in-process evaluation (Report) mean {evaluateMs * 1000:0} us;  GCs gen0/1/2 {gcs[0]}/{gcs[1]}/{gcs[2]}"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  over 2 ms: health {h.Over2Ms} ({100.0 * h.Over2Ms / h.Count:0.00} %), baseline {b.Over2Ms} ({100.0 * b.Over2Ms / b.Count:0.00} %)"));
            string file = Write(h, b, healthBytes, bareBytes, evaluateMs, gcs, seconds, sample.Health.Components.Count);
            Console.WriteLine($"  wrote {file}");
            return 0;
        }
        finally
        {
            foreach (AliciaBus bus in buses) await bus.DisposeAsync().ConfigureAwait(false);
            await engine.DisposeAsync().ConfigureAwait(false);
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    private static double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;

    private static async Task<double> BytesPerRequestAsync(Func<Task<long>> ask, int requests)
    {
        long before = GC.GetTotalAllocatedBytes(precise: true);
        for (int i = 0; i < requests; i++) await ask().ConfigureAwait(false);
        return (GC.GetTotalAllocatedBytes(precise: true) - before) / (double)requests;
    }

    /// <summary>The monitoring service's own share: judging the system in process, no bus (mean of 1,000).</summary>
    private static double EvaluateInProcess(MonitoringService monitoring)
    {
        const int N = 1000;
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < N; i++) monitoring.Report("");
        return Stopwatch.GetElapsedTime(start).TotalMilliseconds / N;
    }

    private static string Row(string name, Stats s, double bytes) => string.Create(CultureInfo.InvariantCulture,
        $"  {name,-30} p50 {s.P50:0.000}  p90 {s.P90:0.000}  p99 {s.P99:0.000}  p99.9 {s.P999:0.000}  max {s.Max:0.000}  mean {s.Mean:0.000} ms  ({bytes / 1024:0.0} KiB allocated per request)");

    private static string Write(Stats h, Stats b, double healthBytes, double bareBytes, double evaluateMs, int[] gcs, double seconds, int components)
    {
        string folder = ResultsFolder.Default();
        string file = Path.Combine(folder, $"health-{DateTime.UtcNow:yyyyMMdd-HHmmss}.json");
        using (FileStream stream = File.Create(file))
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("scenario", "health");
            json.WriteString("utc", DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture));
            json.WriteString("what", "health request over the bus (signed TCP client on loopback -> embedded broker -> monitoring service -> back), one at a time; baseline: the same round trip to a bare responder answering a prebuilt report of the same size, interleaved request by request");
            json.WriteStartObject("machine");
            Machine.Write(json);
            json.WriteEndObject();
            json.WriteNumber("devices", Devices);
            json.WriteNumber("services", Services);
            json.WriteNumber("report_components", components);
            json.WriteNumber("seconds", Math.Round(seconds, 2));
            json.WriteStartObject("health_ms");
            h.Write(json, healthBytes);
            json.WriteEndObject();
            json.WriteStartObject("baseline_ms");
            b.Write(json, bareBytes);
            json.WriteEndObject();
            json.WriteNumber("ratio_p50", Math.Round(h.P50 / b.P50, 3));
            json.WriteNumber("ratio_p99", Math.Round(h.P99 / b.P99, 3));
            json.WriteNumber("evaluate_in_process_mean_ms", Math.Round(evaluateMs, 4));
            json.WriteStartArray("gc_collections_gen0_1_2");
            foreach (int n in gcs) json.WriteNumberValue(n);
            json.WriteEndArray();
            json.WriteNumber("target_p99_ms", 2);
            json.WriteBoolean("target_met", h.P99 <= 2);
            json.WriteEndObject();
        }
        return Path.GetRelativePath(Environment.CurrentDirectory, file);
    }


    private sealed record Stats(int Count, double P50, double P90, double P99, double P999, double Max, double Mean, int Over2Ms)
    {
        public static Stats Of(List<double> samples)
        {
            double[] v = [.. samples.Order()];
            double P(double p) => v[Math.Clamp((int)Math.Ceiling(p / 100 * v.Length) - 1, 0, v.Length - 1)];
            return new Stats(v.Length, P(50), P(90), P(99), P(99.9), v[^1], v.Average(), v.Count(x => x > 2));
        }

        public void Write(Utf8JsonWriter json, double bytesPerRequest)
        {
            json.WriteNumber("count", Count);
            json.WriteNumber("p50", Math.Round(P50, 4));
            json.WriteNumber("p90", Math.Round(P90, 4));
            json.WriteNumber("p99", Math.Round(P99, 4));
            json.WriteNumber("p99_9", Math.Round(P999, 4));
            json.WriteNumber("max", Math.Round(Max, 4));
            json.WriteNumber("mean", Math.Round(Mean, 4));
            json.WriteNumber("over_2ms", Over2Ms);
            json.WriteNumber("allocated_bytes_per_request", Math.Round(bytesPerRequest));
        }
    }

    /// <summary>What the figures were measured on: cores, CPU model, load average (this machine is shared with other jobs).</summary>
    private static class Machine
    {
        public static string Describe() => string.Create(CultureInfo.InvariantCulture,
            $"{Environment.ProcessorCount} cores, {CpuModel()}, loadavg {LoadAverage()} (shared machine: other jobs were running), {RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}");

        public static void Write(Utf8JsonWriter json)
        {
            json.WriteNumber("cores", Environment.ProcessorCount);
            json.WriteString("cpu", CpuModel());
            json.WriteString("loadavg", LoadAverage());
            json.WriteString("os", RuntimeInformation.OSDescription);
            json.WriteString("runtime", RuntimeInformation.FrameworkDescription);
            json.WriteString("note", "shared machine, loaded by other jobs during the run (see loadavg); compare the ratio to the baseline, not absolute times");
        }

        private static string CpuModel()
        {
            try
            {
                foreach (string line in File.ReadLines("/proc/cpuinfo"))
                    if (line.StartsWith("model name", StringComparison.Ordinal)) return line[(line.IndexOf(':') + 1)..].Trim();
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
            return RuntimeInformation.ProcessArchitecture.ToString();
        }

        private static string LoadAverage()
        {
            try { return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ')[..3]); }
            catch (IOException) { return "unknown"; }
            catch (UnauthorizedAccessException) { return "unknown"; }
        }
    }
}
