using Alicia.Engine.Security.Gateway;
using System.Buffers;
using System.Diagnostics;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Alicia.Contracts;
using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Engine.Hosting;
using Alicia.Engine.Security;
using HdrHistogram;
using MQTTnet;
using MQTTnet.Protocol;

namespace Alicia.Load;

/// <summary>
/// <c>--scenario gateway</c>: signed device messages through an <see cref="AliciaEngine"/>'s embedded broker with the
/// <see cref="SecurityGateway"/> off and on. Each device is a password identity (kind sensor) from an in-memory
/// <see cref="IIdentityDirectory"/>, connects over loopback TCP as client id = username = its signing identity, and
/// publishes signed <see cref="DeviceData"/> on its own subtree <c>alicia/devices/{id}/data</c> (the gateway's ACL
/// allows it; <c>alicia/devices/sensors/telemetry</c> would need the sensor grant, and the gateway's ingress check
/// decodes the payload as the topic's type, so the payload is DeviceData, not SensorTelemetry). The engine's own bus
/// (in process) is the subscriber: it verifies every message with the gateway off, and with the gateway on takes the
/// gateway's mark instead (verified once, at the door; the counts are reported). The same payload, clients and
/// subscriber are used with the gateway off. Results are also written as JSON to bench/results/ with the machine's description.
/// <para>
/// <c>--devices-process child</c> runs the devices in a child process (<see cref="GatewayDevicesChild"/>), so this process
/// holds only the engine and its subscriber and its CPU time is the engine's; <c>--engine-cores 1,2</c> pins this process
/// to 1 core, then 2 (<see cref="CpuAffinity"/>), for the same-run scaling of the engine.
/// </para>
/// <para>
/// <c>--flood 1</c>: N-1 devices publish paced at <c>--rate</c> in total (default 500/s), without and then with one
/// more device ("flooder") publishing flat out over its rate limit. The flooder sends envelopes signed before the
/// phase (distinct message ids) from a raw MQTTnet client, so its own signing does not take CPU from the broker
/// in this shared process; it still costs the process its MQTT client work.
/// </para>
/// </summary>
internal static class GatewayScenario
{
    private const string FlooderId = "gw-flooder";

    /// <summary>Where the simulated devices run: in the engine's process (the baseline) or in a child process.</summary>
    public const string DevicesInProcess = "in", DevicesInChild = "child";

    public static async Task<int> RunAsync(LoadOptions o, TextWriter log)
    {
        var total = Stopwatch.StartNew();
        string loadBefore = LoadAverage();
        string rateLimit = o.GatewayRateLimit ?? (o.Flood ? "200/second" : "1000000/second");
        if (!RateLimit.TryParse(rateLimit, out _)) { Console.Error.WriteLine($"--rate-limit: '{rateLimit}' is not a rate such as 200/second"); return 2; }
        if (o.Flood && (o.DevicesIn.Contains(DevicesInChild) || o.EngineCores.Length > 0)) { Console.Error.WriteLine("--flood runs its devices in process, on all cores: no --devices-process child or --engine-cores"); return 2; }
        List<PhaseResult> phases = await MeasureAsync(o, rateLimit, log).ConfigureAwait(false);
        Console.Write(Report(o, rateLimit, phases, loadBefore, total.Elapsed));
        return 0;
    }

    /// <summary>
    /// Every phase of the run: per gateway mode, per place of the devices (in process, child process), per engine core
    /// count (the affinity of this process; none given: untouched). The process gets its own mask back afterwards.
    /// </summary>
    internal static async Task<List<PhaseResult>> MeasureAsync(LoadOptions o, string rateLimit, TextWriter log)
    {
        var phases = new List<PhaseResult>();
        int[] cores = o.EngineCores.Length > 0 ? o.EngineCores : [0];
        ulong allowed = o.EngineCores.Length > 0 ? CpuAffinity.CurrentMask() : 0;
        try
        {
            foreach (string mode in o.GatewayModes)
            {
                if (!o.Flood)
                {
                    foreach (string devicesIn in o.DevicesIn)
                    foreach (int n in cores)
                        phases.Add(await RunPhaseAsync(mode, o, o.Devices, o.Rate, flood: false, rateLimit, log, devicesIn, n, allowed).ConfigureAwait(false));
                }
                else
                {
                    int others = Math.Max(1, o.Devices - 1);
                    phases.Add(await RunPhaseAsync(mode, o, others, o.Rate, flood: false, rateLimit, log).ConfigureAwait(false));
                    phases.Add(await RunPhaseAsync(mode, o, others, o.Rate, flood: true, rateLimit, log).ConfigureAwait(false));
                }
            }
        }
        finally
        {
            if (o.EngineCores.Length > 0) CpuAffinity.Set(allowed);
        }
        return phases;
    }

    private static string Report(LoadOptions o, string rateLimit, List<PhaseResult> phases, string loadBefore, TimeSpan took)
    {
        var sb = new StringBuilder();
        sb.AppendLine();
        sb.AppendLine($"Gateway scenario: DeviceData on alicia/devices/{{id}}/data, QoS {(int)o.Qos}, gateway rate limit {rateLimit} (burst {new GatewayOptions().Burst}) per device when on.");
        sb.AppendLine("Latency = the engine bus handler's receive time - envelope timestamp (same clock, same process); 'devices' are the measured devices (the flooder excluded).");
        sb.AppendLine("'CPU us/msg' is this process's (engine, broker, gateway, subscriber; and the devices when they are 'in' it); 'busy cores' is that CPU time over the wall time;");
        sb.AppendLine("'gen CPU us/msg' is the devices' child process's own (signing and MQTT clients), when they run in one.");
        var rows = new List<string[]> { new[] { "gateway", "phase", "devices", "devices in", "cores", "rate/s", "sent", "delivered", "lost", "rejected", "failed", "delivered/s", "p50 us", "p90 us", "p99 us", "p99.9 us", "max us", "CPU us/msg", "busy cores", "gen CPU us/msg" } };
        foreach (PhaseResult p in phases)
        {
            LongHistogram h = p.Latency;
            bool any = h.TotalCount > 0;
            rows.Add([p.Mode, p.Flood ? "flood" : (o.Flood ? "baseline" : "load"), p.Devices.ToString(), p.DevicesIn, p.EngineCores.ToString(), p.Rate == 0 ? "max" : p.Rate.ToString("0"), p.Sent.ToString(), p.Delivered.ToString(),
                Math.Max(0, p.Sent - p.Delivered).ToString(), p.Rejected.ToString(), p.Failed.ToString(), p.DeliveredPerSecond.ToString("0"),
                any ? h.GetValueAtPercentile(50).ToString() : "-", any ? h.GetValueAtPercentile(90).ToString() : "-", any ? h.GetValueAtPercentile(99).ToString() : "-",
                any ? h.GetValueAtPercentile(99.9).ToString() : "-", any ? h.GetMaxValue().ToString() : "-", p.CpuMicrosPerMessage.ToString("0"), p.BusyCores.ToString("0.00"),
                p.GeneratorCpuMicrosPerMessage is { } g ? g.ToString("0") : "-"]);
        }
        Program.Table(sb, rows);

        if (phases.Any(p => p.Flood))
        {
            sb.AppendLine();
            sb.AppendLine("Flooder (one device, flat out, pre-signed envelopes, raw MQTTnet client):");
            var f = new List<string[]> { new[] { "gateway", "publishes/s", "accepted (PUBACK 0x00)", "refused (PUBACK 0x97 quota)", "other refusals", "delivered to the engine", "disconnected" } };
            foreach (PhaseResult p in phases.Where(p => p.Flood))
            {
                f.Add([p.Mode, (p.FloodAttempted / Math.Max(1e-9, p.SendSeconds)).ToString("0"), p.FloodAccepted.ToString(), p.FloodQuota.ToString(), p.FloodOther.ToString(), p.FloodDelivered.ToString(), p.FloodDisconnects.ToString()]);
            }
            Program.Table(sb, f);
        }

        sb.AppendLine();
        foreach (string mode in o.GatewayModes)
        {
            PhaseResult? baseline = phases.FirstOrDefault(p => p.Mode == mode && !p.Flood);
            PhaseResult? flood = phases.FirstOrDefault(p => p.Mode == mode && p.Flood);
            if (baseline is not null && flood is not null && baseline.Latency.TotalCount > 0 && flood.Latency.TotalCount > 0)
                sb.AppendLine($"gateway {mode}: the others' p99 with / without the flooder = {flood.Latency.GetValueAtPercentile(99)} / {baseline.Latency.GetValueAtPercentile(99)} us = " +
                              $"{(double)flood.Latency.GetValueAtPercentile(99) / baseline.Latency.GetValueAtPercentile(99):0.00}x (p50 {(double)flood.Latency.GetValueAtPercentile(50) / baseline.Latency.GetValueAtPercentile(50):0.00}x)");
        }
        // Same-run ratios: devices in a child process against in process; the engine on 2 cores against 1.
        foreach (PhaseResult c in phases.Where(p => p.DevicesIn == DevicesInChild))
        {
            PhaseResult? i = phases.FirstOrDefault(p => p.Mode == c.Mode && p.DevicesIn == DevicesInProcess && p.EngineCores == c.EngineCores && !p.Flood);
            if (i is not null && i.DeliveredPerSecond > 0 && i.Delivered > 0 && c.Delivered > 0)
                sb.AppendLine($"gateway {c.Mode}, {c.EngineCores} core(s): devices child/in: delivered msg/s {c.DeliveredPerSecond / i.DeliveredPerSecond:0.00}x, engine CPU/msg {c.CpuMicrosPerMessage / i.CpuMicrosPerMessage:0.00}x");
        }
        foreach (PhaseResult two in phases.Where(p => p.EngineCores >= 2 && o.EngineCores.Length > 0))
        {
            PhaseResult? one = phases.FirstOrDefault(p => p.Mode == two.Mode && p.DevicesIn == two.DevicesIn && p.EngineCores == 1 && !p.Flood);
            if (one is not null && one.DeliveredPerSecond > 0 && one.Delivered > 0 && two.Delivered > 0)
                sb.AppendLine($"gateway {two.Mode}, devices {two.DevicesIn}: engine {two.EngineCores}/1 cores: delivered msg/s {two.DeliveredPerSecond / one.DeliveredPerSecond:0.00}x, " +
                              $"engine CPU/msg {two.CpuMicrosPerMessage / one.CpuMicrosPerMessage:0.00}x, busy cores {two.BusyCores:0.00} vs {one.BusyCores:0.00}");
        }
        PhaseResult? off = phases.FirstOrDefault(p => p.Mode == "off" && !p.Flood);
        PhaseResult? on = phases.FirstOrDefault(p => p.Mode == "on" && !p.Flood);
        if (off is not null && on is not null && off.Latency.TotalCount > 0 && on.Latency.TotalCount > 0)
            sb.AppendLine($"on/off: delivered msg/s {on.DeliveredPerSecond / off.DeliveredPerSecond:0.00}x, p50 {(double)on.Latency.GetValueAtPercentile(50) / off.Latency.GetValueAtPercentile(50):0.00}x, " +
                          $"p99 {(double)on.Latency.GetValueAtPercentile(99) / off.Latency.GetValueAtPercentile(99):0.00}x, CPU/msg {on.CpuSeconds / Math.Max(1, on.Delivered) / (off.CpuSeconds / Math.Max(1, off.Delivered)):0.00}x");
        foreach (PhaseResult p in phases)
        {
            if (p.FirstError is not null) sb.AppendLine($"{p.Mode}{(p.Flood ? "/flood" : "")}: first publish error: {p.FirstError}");
            if (p.FloodError is not null) sb.AppendLine($"{p.Mode}/flood: first flooder refusal other than quota: {p.FloodError}");
        }
        foreach (PhaseResult p in phases)
            sb.AppendLine($"{p.Mode}{(p.Flood ? "/flood" : "")} devices {p.DevicesIn} cores {p.EngineCores}: Ed25519 verifications in the measured phase: gateway {p.GatewayVerifications}, engine bus {p.EngineVerifications}; taken on the gateway's mark {p.EngineMarked}; " +
                          $"lock contentions in the engine process {p.LockContentions} ({(double)p.LockContentions / Math.Max(1, p.Delivered):0.000}/msg); load average at start {p.LoadAverageAtStart}");
        sb.AppendLine($"Run took {took.TotalSeconds:0.0} s; load average before {loadBefore}, after {LoadAverage()}.");
        string? json = WriteResults(o, rateLimit, phases, loadBefore, took);
        if (json is not null) sb.AppendLine($"Results: {json}");
        return sb.ToString();
    }

    /// <summary>
    /// The run as JSON in the repository's bench/results/ (<see cref="ResultsFolder.Default"/>; else the working
    /// directory), with the machine's description: cores, CPU, load average before and after (the machine may be shared).
    /// </summary>
    private static string? WriteResults(LoadOptions o, string rateLimit, List<PhaseResult> phases, string loadBefore, TimeSpan took)
    {
        string folder = o.ResultsDirectory ?? ResultsFolder.Default();
        Directory.CreateDirectory(folder);
        DateTime now = DateTime.UtcNow;
        string split = (o.DevicesIn.Contains(DevicesInChild) ? "-child" : "") + (o.EngineCores.Length > 0 ? "-cores" + string.Join('v', o.EngineCores) : "");
        string path = Path.Combine(folder, $"gateway-{o.Devices}dev-{(o.Rate > 0 ? o.Rate.ToString("0") + "ps" : "max")}{split}-{now:yyyyMMdd-HHmmss}.json");
        using (FileStream file = File.Create(path))
        using (var w = new System.Text.Json.Utf8JsonWriter(file, new System.Text.Json.JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("scenario", "gateway");
            w.WriteString("utc", now.ToString("O"));
            w.WriteString("command", LoadCommandLine.Text);
            w.WriteStartObject("machine");
            w.WriteNumber("cores", Environment.ProcessorCount);
            w.WriteString("cpu", CpuModel());
            w.WriteString("os", System.Runtime.InteropServices.RuntimeInformation.OSDescription);
            w.WriteString("runtime", System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription);
            w.WriteString("loadavg_before", loadBefore);
            w.WriteString("loadavg_after", LoadAverage());
            w.WriteString("note", "shared machine: other work (other builds and tests) ran alongside; compare modes within this run, not across runs");
            w.WriteEndObject();
            w.WriteNumber("devices", o.Devices);
            w.WriteNumber("qos", (int)o.Qos);
            w.WriteNumber("rate_per_second", o.Rate);
            w.WriteNumber("duration_seconds", o.DurationSeconds);
            w.WriteString("gateway_rate_limit", rateLimit);
            w.WriteNumber("took_seconds", Math.Round(took.TotalSeconds, 1));
            w.WriteStartArray("phases");
            foreach (PhaseResult p in phases)
            {
                bool any = p.Latency.TotalCount > 0;
                w.WriteStartObject();
                w.WriteString("gateway", p.Mode);
                w.WriteBoolean("flood", p.Flood);
                w.WriteNumber("devices", p.Devices);
                w.WriteNumber("sent", p.Sent);
                w.WriteNumber("delivered", p.Delivered);
                w.WriteNumber("lost", Math.Max(0, p.Sent - p.Delivered));
                w.WriteNumber("rejected", p.Rejected);
                w.WriteNumber("failed", p.Failed);
                w.WriteNumber("delivered_per_second", Math.Round(p.DeliveredPerSecond));
                foreach ((string name, double pct) in new[] { ("p50_us", 50.0), ("p90_us", 90.0), ("p99_us", 99.0), ("p999_us", 99.9) })
                {
                    if (any) w.WriteNumber(name, p.Latency.GetValueAtPercentile(pct));
                    else w.WriteNull(name);
                }
                if (any) w.WriteNumber("max_us", p.Latency.GetMaxValue());
                w.WriteNumber("cpu_us_per_message", Math.Round(p.CpuMicrosPerMessage));
                w.WriteString("devices_in", p.DevicesIn);
                w.WriteString("loadavg_at_start", p.LoadAverageAtStart);
                w.WriteNumber("lock_contentions", p.LockContentions);
                w.WriteNumber("engine_cores", p.EngineCores);
                w.WriteNumber("generator_cores", p.GeneratorCores);
                w.WriteNumber("engine_busy_cores", Math.Round(p.BusyCores, 2));
                if (p.GeneratorCpuMicrosPerMessage is { } gen) w.WriteNumber("generator_cpu_us_per_message", Math.Round(gen));
                else w.WriteNull("generator_cpu_us_per_message");
                w.WriteNumber("gateway_verifications", p.GatewayVerifications);
                w.WriteNumber("engine_verifications", p.EngineVerifications);
                w.WriteNumber("engine_taken_on_mark", p.EngineMarked);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return path;
    }

    private static string CpuModel()
    {
        try
        {
            return File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown";
        }
        catch (IOException) { return "unknown"; }
    }

    private static string LoadAverage()
    {
        try { return File.ReadAllText("/proc/loadavg").Trim(); }
        catch (IOException) { return "unknown"; }
    }

    private static async Task<PhaseResult> RunPhaseAsync(string mode, LoadOptions o, int deviceCount, double rate, bool flood, string rateLimit, TextWriter log,
        string devicesIn = DevicesInProcess, int engineCores = 0, ulong allowedCores = 0)
    {
        bool child = devicesIn == DevicesInChild;
        string tag = $"gateway {mode}{(flood ? " + flood" : "")}, devices {devicesIn}{(engineCores > 0 ? $", engine on {engineCores} core(s)" : "")}";
        // Pinned before the engine starts: the threads it creates inherit the mask.
        if (engineCores > 0) log.WriteLine($"[{tag}] {CpuAffinity.Set(CpuAffinity.FirstCores(allowedCores, engineCores))} threads pinned to {engineCores} core(s)");
        string dir = Path.Combine(Path.GetTempPath(), "alicia-load-gateway-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var identities = new List<SigningIdentity>();
        GatewayDevices? devices = null;
        GatewayDevicesProcess? generator = null;
        int generatorCores = 0;
        AliciaEngine? engine = null;
        IAsyncDisposable? subscription = null;
        IMqttClient? flooder = null;
        try
        {
            var directory = new PasswordDirectory();
            engine = new AliciaEngine(new AliciaEngineOptions
            {
                Name = "load-engine",
                KeyDirectory = Path.Combine(dir, "keys"),
                DataDirectory = Path.Combine(dir, "data"),
                Broker = new EmbeddedBrokerOptions { Port = 0, ListenAddress = "127.0.0.1" },
            });
            if (mode == "on")
                engine.AddService(new SecurityGateway(new GatewayOptions { Enabled = true, DefaultRateLimit = rateLimit }, directory));

            SigningIdentity Device(string id)
            {
                var identity = SigningIdentity.Create(id);
                identities.Add(identity);
                engine.Trust.Trust(id, identity.PublicKey);
                directory.Add(new IdentityRecord(id, IdentityKind.Sensor), GatewayDevices.Password(id));
                return identity;
            }
            string[] names = [.. Enumerable.Range(0, deviceCount).Select(i => $"gw-dev-{i:D2}")];
            SigningIdentity[] ids = [.. names.Select(Device)];
            SigningIdentity flooderIdentity = Device(FlooderId);

            await engine.StartAsync().WaitAsync(TimeSpan.FromSeconds(15)).ConfigureAwait(false);
            BrokerEndpoint endpoint = engine.ClientEndpoint!;

            var receiver = new DataReceiver(names, o.Warmup);
            long rejected = 0;
            engine.Bus.Rejected += (_, _) => Interlocked.Increment(ref rejected);
            subscription = await engine.Bus.SubscribeAsync<DeviceData>(receiver.HandleAsync,
                new SubscribeOptions { Filter = DeviceData.TopicFilter, ReceiveAll = true }, concurrency: 1).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);

            if (child)
            {
                // The devices in a child process (this tool in its internal role): their keys go to it through a file in
                // this phase's temp folder, deleted with it.
                string keys = Path.Combine(dir, "device-keys.txt");
                GatewayDevicesChild.WriteKeys(keys, ids);
                generator = GatewayDevicesProcess.Start(endpoint.Port, keys, o.Qos, rate, o.DurationSeconds, o.Warmup, log, cpuMask: allowedCores);
                string connected = await generator.WaitForAsync("connected", TimeSpan.FromSeconds(120)).ConfigureAwait(false);
                log.WriteLine($"[{tag}] engine up on {endpoint}, devices connected from child process {generator.Id}: {connected}");
                generatorCores = int.Parse(connected.Split(' ')[2], System.Globalization.CultureInfo.InvariantCulture);
            }
            else
            {
                devices = await GatewayDevices.ConnectAsync(endpoint, ids).ConfigureAwait(false);
                log.WriteLine($"[{tag}] engine up on {endpoint}, {deviceCount} devices connected");
            }

            // ---- warm-up (not measured; under the burst allowance) ----
            if (o.Warmup > 0)
            {
                long warmFailed = generator is not null
                    ? long.Parse(await generator.WaitForAsync("warm", TimeSpan.FromSeconds(120)).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture)
                    : await devices!.WarmupAsync(o.Warmup, o.Qos).ConfigureAwait(false);
                var wait = Stopwatch.StartNew();
                long expected = (long)Math.Min(o.Warmup, GatewayDevices.MaxWarmup) * deviceCount;
                while (receiver.WarmupDelivered < expected && wait.Elapsed < TimeSpan.FromSeconds(5)) await Task.Delay(10).ConfigureAwait(false);
                log.WriteLine($"[{tag}] warm-up: {receiver.WarmupDelivered}/{expected} delivered{(warmFailed > 0 ? $", {warmFailed} publishes timed out" : "")}");
            }
            // Let the warm-up's tokens come back before measuring (burst 60 at the flood limit refills in < 1 s).
            await Task.Delay(1000).ConfigureAwait(false);

            // ---- the flooder: pre-signed, distinct envelopes ----
            byte[][] floodPayloads = [];
            string floodTopic = DeviceData.BuildTopic(FlooderId);
            if (flood)
            {
                var signer = new EnvelopeSigner(flooderIdentity);
                // Enough distinct envelopes for the phase (refused ones never reach a replay filter; with the
                // gateway off every one is delivered, so more are needed).
                int count = mode == "on" ? 60_000 : 200_000;
                floodPayloads = new byte[count][];
                var buffer = new ArrayBufferWriter<byte>(512);
                for (int i = 0; i < count; i++)
                {
                    buffer.ResetWrittenCount();
                    signer.Encode(buffer, floodTopic, signer.CreateEnvelope(GatewayDevices.Data(-1), EnvelopeHeader.Broadcast, MessageKind.Event));
                    floodPayloads[i] = buffer.WrittenSpan.ToArray();
                }
                flooder = new MqttClientFactory().CreateMqttClient();
                await flooder.ConnectAsync(new MqttClientOptionsBuilder()
                    .WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500)
                    .WithTcpServer("127.0.0.1", endpoint.Port).WithClientId(FlooderId).WithCredentials(FlooderId, "pw-" + FlooderId)
                    .WithTimeout(TimeSpan.FromSeconds(10)).Build()).ConfigureAwait(false);
            }

            // ---- measured phase ----
            GC.Collect();
            GC.WaitForPendingFinalizers();
            string loadAtStart = LoadAverage();
            var process = Process.GetCurrentProcess();
            TimeSpan cpu0 = process.TotalProcessorTime;
            long contention0 = Monitor.LockContentionCount;
            // Who verified what: the gateway at the door, the engine's bus again (or on the gateway's mark, not again).
            EnvelopeVerifier? ingress = engine.Services.OfType<SecurityGateway>().FirstOrDefault()?.IngressVerifier;
            long gatewayChecks0 = ingress?.SignatureChecks ?? 0, engineChecks0 = engine.Verifier.SignatureChecks, marked0 = engine.Verifier.MarkedAccepted;
            long floodAttempted = 0, floodAccepted = 0, floodQuota = 0, floodOther = 0, floodDisconnects = 0;
            string? floodError = null;
            long freq = Stopwatch.Frequency;
            using var floodCts = new CancellationTokenSource(TimeSpan.FromSeconds(o.DurationSeconds));
            generator?.Go();
            long t0 = Stopwatch.GetTimestamp();

            var workers = new List<Task>();
            if (flooder is not null)
            {
                long next = -1;
                IMqttClient client = flooder;
                if (client is not null) client.DisconnectedAsync += _ => { Interlocked.Increment(ref floodDisconnects); return Task.CompletedTask; };
                for (int w = 0; w < o.FloodInFlight; w++)
                {
                    workers.Add(Task.Run(async () =>
                    {
                        while (!floodCts.IsCancellationRequested && client!.IsConnected)
                        {
                            long k = Interlocked.Increment(ref next);
                            var message = new MqttApplicationMessage
                            {
                                Topic = floodTopic,
                                Payload = new ReadOnlySequence<byte>(floodPayloads[k % floodPayloads.Length]),
                                QualityOfServiceLevel = MqttQualityOfServiceLevel.AtLeastOnce,
                                ContentType = AliciaBus.MessagePackContentType,
                            };
                            Interlocked.Increment(ref floodAttempted);
                            try
                            {
                                MqttClientPublishResult r = await client.PublishAsync(message, floodCts.Token).ConfigureAwait(false);
                                if (r.ReasonCode is MqttClientPublishReasonCode.Success or MqttClientPublishReasonCode.NoMatchingSubscribers) Interlocked.Increment(ref floodAccepted);
                                else if (r.ReasonCode == MqttClientPublishReasonCode.QuotaExceeded) Interlocked.Increment(ref floodQuota);
                                else { Interlocked.Increment(ref floodOther); Interlocked.CompareExchange(ref floodError, $"PUBACK {r.ReasonCode}: {r.ReasonString}", null); }
                            }
                            catch (OperationCanceledException) { return; }
                            catch (Exception e) when (floodCts.IsCancellationRequested) { _ = e; return; }
                            catch (Exception e) { Interlocked.Increment(ref floodOther); Interlocked.CompareExchange(ref floodError, $"{e.GetType().Name}: {e.Message}", null); }
                        }
                    }));
                }
            }
            ChildSendResult? fromChild = null;
            Task<SendResult> sending = generator is not null
                ? Task.Run(async () => (fromChild = await generator.WaitDoneAsync(TimeSpan.FromSeconds(o.DurationSeconds + 60)).ConfigureAwait(false)).Value.Send)
                : devices!.SendAsync(o.Warmup, rate, o.DurationSeconds, o.Qos, t0);
            try { await Task.WhenAll(workers).ConfigureAwait(false); }
            catch (OperationCanceledException) { }
            SendResult sendResult = await sending.ConfigureAwait(false);
            long sent = sendResult.Sent;
            long t1 = Stopwatch.GetTimestamp();

            var drain = Stopwatch.StartNew();
            while (receiver.Delivered < sent && drain.Elapsed.TotalSeconds < Math.Min(o.DrainSeconds, 10)) await Task.Delay(20).ConfigureAwait(false);
            process.Refresh();
            long tEnd = Stopwatch.GetTimestamp();
            long last = receiver.LastReceiveTimestamp;
            var result = new PhaseResult
            {
                Mode = mode,
                Flood = flood,
                Devices = deviceCount,
                Rate = rate,
                DevicesIn = devicesIn,
                LoadAverageAtStart = loadAtStart,
                EngineCores = engineCores > 0 ? engineCores : OperatingSystem.IsLinux() ? CpuAffinity.CurrentCores() : Environment.ProcessorCount,
                Sent = sent,
                Failed = sendResult.Failed,
                Delivered = receiver.Delivered,
                Rejected = Interlocked.Read(ref rejected),
                SendSeconds = (double)(t1 - t0) / freq,
                DeliverSeconds = last > t0 ? (double)(last - t0) / freq : 0,
                Latency = receiver.Latency,
                CpuSeconds = (process.TotalProcessorTime - cpu0).TotalSeconds,
                WindowSeconds = (double)(tEnd - t0) / freq,
                LockContentions = Monitor.LockContentionCount - contention0,
                GeneratorCpuSeconds = fromChild?.CpuSeconds,
                GeneratorCores = generatorCores,
                FloodAttempted = floodAttempted,
                FloodAccepted = floodAccepted,
                FloodQuota = floodQuota,
                FloodOther = floodOther,
                FloodDelivered = receiver.FlooderDelivered,
                FloodDisconnects = floodDisconnects,
                FirstError = sendResult.FirstError,
                FloodError = floodError,
                GatewayVerifications = (ingress?.SignatureChecks ?? 0) - gatewayChecks0,
                EngineVerifications = engine.Verifier.SignatureChecks - engineChecks0,
                EngineMarked = engine.Verifier.MarkedAccepted - marked0,
            };
            log.WriteLine($"[{tag}] sent {result.Sent}, delivered {result.Delivered} ({result.DeliveredPerSecond:0}/s), engine CPU {result.CpuMicrosPerMessage:0} us/msg on {result.BusyCores:0.00} busy cores" +
                          (result.GeneratorCpuMicrosPerMessage is { } g ? $", generator {g:0} us/msg" : "") + $", load {loadAtStart}, p99 {(result.Latency.TotalCount > 0 ? result.Latency.GetValueAtPercentile(99) : 0)} us" +
                          (flood ? $"; flooder {floodAttempted} attempted, {floodAccepted} accepted, {floodQuota} refused (quota), {receiver.FlooderDelivered} delivered" : ""));
            return result;
        }
        finally
        {
            if (flooder is not null)
            {
                try { if (flooder.IsConnected) await flooder.DisconnectAsync().WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false); } catch (Exception) { }
                flooder.Dispose();
            }
            if (generator is not null) await generator.DisposeAsync().ConfigureAwait(false);
            if (devices is not null) await devices.DisposeAsync().ConfigureAwait(false);
            if (subscription is not null) await Bounded(subscription.DisposeAsync()).ConfigureAwait(false);
            if (engine is not null) await Bounded(engine.DisposeAsync()).ConfigureAwait(false);
            foreach (SigningIdentity id in identities) id.Dispose();
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    private static async Task Bounded(ValueTask task)
    {
        try { await task.AsTask().WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false); }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException) { }
    }

    internal sealed class PhaseResult
    {
        public required string Mode { get; init; }
        /// <summary>in: the devices share the engine's process; child: they run in a child process.</summary>
        public string DevicesIn { get; init; } = DevicesInProcess;
        /// <summary>Cores the engine process was allowed (its affinity) during the phase.</summary>
        public int EngineCores { get; init; }
        /// <summary>Wall time from the start of sending to the end of the drain: the window the engine's CPU time is taken over.</summary>
        public double WindowSeconds { get; init; }
        /// <summary>The child process's CPU seconds while its devices sent (null when the devices are in process).</summary>
        public double? GeneratorCpuSeconds { get; init; }
        /// <summary>Cores the devices child could run on (0: no child).</summary>
        public int GeneratorCores { get; init; }
        /// <summary>Times a thread of this process waited for a lock held by another (Monitor and System.Threading.Lock) in the window.</summary>
        public long LockContentions { get; init; }
        /// <summary>/proc/loadavg just before the measured phase (the machine may be shared).</summary>
        public string LoadAverageAtStart { get; init; } = "";
        public double CpuMicrosPerMessage => CpuSeconds * 1e6 / Math.Max(1, Delivered + FloodDelivered);
        public double BusyCores => WindowSeconds > 0 ? CpuSeconds / WindowSeconds : 0;
        public double? GeneratorCpuMicrosPerMessage => GeneratorCpuSeconds is { } g ? g * 1e6 / Math.Max(1, Delivered) : null;
        public bool Flood { get; init; }
        public int Devices { get; init; }
        public double Rate { get; init; }
        public long Sent { get; init; }
        public long Failed { get; init; }
        public long Delivered { get; init; }
        public long Rejected { get; init; }
        public double SendSeconds { get; init; }
        public double DeliverSeconds { get; init; }
        public double DeliveredPerSecond => DeliverSeconds > 0 ? Delivered / DeliverSeconds : 0;
        public required LongHistogram Latency { get; init; }
        public double CpuSeconds { get; init; }
        public long FloodAttempted { get; init; }
        public long FloodAccepted { get; init; }
        public long FloodQuota { get; init; }
        public long FloodOther { get; init; }
        public long FloodDelivered { get; init; }
        public long FloodDisconnects { get; init; }
        public string? FirstError { get; init; }
        public string? FloodError { get; init; }
        public long GatewayVerifications { get; init; }
        public long EngineVerifications { get; init; }
        public long EngineMarked { get; init; }
    }
    /// <summary>Times every DeviceData message on the engine's bus (one worker); the sequence is in Values["seq"], the device is the source.</summary>
    private sealed class DataReceiver
    {
        private readonly Dictionary<string, int> _deviceIndex;
        private readonly HashSet<long>[] _seen;
        private readonly int _warmup;
        private long _delivered, _warmupDelivered, _flooder, _lastReceive;

        public DataReceiver(IReadOnlyList<string> devices, int warmup)
        {
            _deviceIndex = devices.Select((d, i) => (d, i)).ToDictionary(x => x.d, x => x.i, StringComparer.Ordinal);
            _seen = [.. devices.Select(_ => new HashSet<long>())];
            _warmup = warmup;
        }

        public LongHistogram Latency { get; } = new(TimeSpan.FromMinutes(10).Ticks / 10, 3);
        public long Delivered => Volatile.Read(ref _delivered);
        public long WarmupDelivered => Volatile.Read(ref _warmupDelivered);
        public long FlooderDelivered => Volatile.Read(ref _flooder);
        public long LastReceiveTimestamp => Volatile.Read(ref _lastReceive);

        public ValueTask HandleAsync(BusMessage<DeviceData> message, CancellationToken _)
        {
            DateTimeOffset now = DateTimeOffset.UtcNow;
            if (message.Source == FlooderId) { Interlocked.Increment(ref _flooder); return ValueTask.CompletedTask; }
            if (!_deviceIndex.TryGetValue(message.Source, out int device) || !message.Data.Values.TryGetValue("seq", out double s)) return ValueTask.CompletedTask;
            long seq = (long)s;
            if (seq < _warmup) { Interlocked.Increment(ref _warmupDelivered); return ValueTask.CompletedTask; }
            if (!_seen[device].Add(seq)) return ValueTask.CompletedTask;
            Latency.RecordValue(Math.Clamp((now - message.Envelope.Timestamp).Ticks / 10, 0, Latency.HighestTrackableValue));
            Volatile.Write(ref _lastReceive, Stopwatch.GetTimestamp());
            Interlocked.Increment(ref _delivered);
            return ValueTask.CompletedTask;
        }
    }
}
