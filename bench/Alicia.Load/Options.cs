using Alicia.Engine.Bus;
using System.Globalization;
using System.CommandLine;

namespace Alicia.Load;

internal sealed class LoadOptions
{
    public const int MaxDurationSeconds = 120;

    public int Devices { get; init; } = 10;

    /// <summary>telemetry (the original load run) | registry | gateway.</summary>
    public string Scenario { get; init; } = "telemetry";

    public bool DevicesSet { get; init; }

    // ---- registry scenario ----

    /// <summary>New devices registered (and timed) per measurement mode.</summary>
    public int Registrations { get; init; } = 200;

    /// <summary>MQTT connections the registered fleet is multiplexed over.</summary>
    public int Connections { get; init; } = 4;

    /// <summary>Heartbeat interval of every fleet device.</summary>
    public double HeartbeatSeconds { get; init; } = 5;

    /// <summary>Parent of the registry scenario's temp folder (default: the system temp dir).</summary>
    public string TempRoot { get; init; } = Path.GetTempPath();

    /// <summary>Pause between two timed registrations.</summary>
    public double GapMs { get; init; } = 10;

    // ---- voice scenario ----

    /// <summary>Concurrent voice sessions, one run per entry (default 1 and 10).</summary>
    public int[] VoiceSessions { get; init; } = [1, 10];

    /// <summary>Commands each session speaks in its stream (1 s of silence between them).</summary>
    public int Utterances { get; init; } = 8;

    /// <summary>Offset between the sessions' starts, so their utterances end at staggered times.</summary>
    public double StaggerMs { get; init; } = 300;

    /// <summary>Speculative STT modes to run: off (the baseline), on.</summary>
    public string[] SpeculateModes { get; init; } = ["off", "on"];

    /// <summary>tiny (tiny.en's dimensions), tiny-talk (the same, decoding to the token cap) or micro (a far smaller model, for quick runs).</summary>
    public string WhisperModel { get; init; } = "tiny";

    /// <summary>Stream audio in real time (as a microphone does) instead of as fast as possible.</summary>
    public bool RealTime { get; init; } = true;

    public double HangoverMs { get; init; } = 300;

    /// <summary>Whisper weight formats to run, one run each in the same process: f16, q8_0, q5_1 (default f16).</summary>
    public string[] WhisperWeights { get; init; } = ["f16"];

    /// <summary>Command token cap (null: the engine's, 32); with tiny-talk every command decodes exactly this many.</summary>
    public int? MaxTokens { get; init; }

    /// <summary>Let speculations start beside real transcriptions (SttPoolOptions.SpeculateBesideRealWork).</summary>
    public bool SpeculateBesideRealWork { get; init; }

    /// <summary>Null: the engine's default (VoiceOptions).</summary>
    public int? WhisperThreads { get; init; }

    public int? WhisperConcurrency { get; init; }

    /// <summary>Also replay this recording (16 kHz mono WAV) through one session, when it exists.</summary>
    public string? Jfk { get; init; }

    // ---- gateway scenario ----

    /// <summary>Gateway modes to run: off, on.</summary>
    public string[] GatewayModes { get; init; } = ["off", "on"];

    /// <summary>Flood variant: N-1 devices at --rate (default 500) with and without one device publishing flat out.</summary>
    public bool Flood { get; init; }

    /// <summary>Per-device gateway rate limit (GatewayOptions.DefaultRateLimit); default 1000000/second, or 200/second for --flood.</summary>
    public string? GatewayRateLimit { get; init; }

    /// <summary>Concurrent publishes of the flooder.</summary>
    public int FloodInFlight { get; init; } = 4;

    /// <summary>Where the gateway scenario's devices run, one run each: in (the engine's process, the baseline), child (a child process).</summary>
    public string[] DevicesIn { get; init; } = ["in"];

    /// <summary>Engine core counts, one run each (this process pinned to its first N cores); empty: the affinity is left alone.</summary>
    public int[] EngineCores { get; init; } = [];

    /// <summary>Total messages per second over all devices; 0 = each device publishes as fast as it can.</summary>
    public double Rate { get; init; }

    public double DurationSeconds { get; init; } = 10;

    /// <summary>Cap on measured messages over all devices (0 = none: the duration bounds the run).</summary>
    public long Messages { get; init; }

    public QualityOfService Qos { get; init; } = QualityOfService.AtLeastOnce;

    public string[] Targets { get; init; } = ["embedded", "mosquitto"];

    /// <summary>Approximate size of the signed envelope on the wire; the telemetry's location is padded to reach it.</summary>
    public int PayloadBytes { get; init; }

    /// <summary>Concurrent publishes per device (1 = a device awaits each PUBACK before the next publish).</summary>
    public int InFlight { get; init; } = 1;

    /// <summary>Unmeasured messages per device before the measurement (JIT, connections, pools).</summary>
    public int Warmup { get; init; } = 50;

    /// <summary>Longest wait for in-flight messages after the send phase.</summary>
    public double DrainSeconds { get; init; } = 15;

    public string Mosquitto { get; init; } = "/usr/sbin/mosquitto";

    /// <summary>EmbeddedBrokerOptions.BackpressureWatermark for the embedded target (0 = the engine's default).</summary>
    public int Watermark { get; init; }

    /// <summary>Sample allocations by type during the measured phase (GC AllocationTick events).</summary>
    public bool AllocProfile { get; init; }

    // ---- broker-compare scenario (MQTT.js against both brokers) ----

    /// <summary>Publisher counts of the matrix (each → 1 subscriber).</summary>
    public int[] Publishers { get; init; } = [1, 8];

    /// <summary>QoS levels of the matrix.</summary>
    public int[] CompareQos { get; init; } = [0, 1];

    /// <summary>Publishes each MQTT.js publisher has outstanding (1: each waits for the previous one's write or PUBACK).</summary>
    public int Window { get; init; } = 1;

    /// <summary>Time limit of one flood (the child is killed 30 s after it).</summary>
    public double TimeLimitSeconds { get; init; } = 60;

    /// <summary>Where results go (default: bench/results beside bench/mqttjs).</summary>
    public string? ResultsDirectory { get; init; }

    /// <summary>bench/mqttjs (default: found above the current directory or the tool).</summary>
    public string? MqttJsDirectory { get; init; }

    public string Node { get; init; } = "node";

    /// <summary>Also measure the embedded broker flushing every packet at once, in the same run.</summary>
    public bool CompareUnbatched { get; init; }

    /// <summary>The payload size of the MQTT.js flood (default 256 B).</summary>
    public int PayloadBytesOrDefault => PayloadBytes > 0 ? PayloadBytes : 256;

    /// <summary>
    /// The load tool's command line (System.CommandLine): every option typed and range-checked, <c>--help</c>
    /// for the list; <paramref name="run"/> gets the options of a valid command line.
    /// </summary>
    public static RootCommand Command(Func<LoadOptions, Task<int>> run)
    {
        var scenario = Choice("--scenario", "telemetry | registry | gateway | voice | voice-loop | reply | broker-compare | health", "telemetry", "telemetry", "registry", "gateway", "voice", "voice-loop", "reply", "broker-compare", "health");
        var devices = Int("--devices", "device clients, each with its own Ed25519 identity (default 10; registry: fleet devices, default 1000)", 1, 1000, null);
        var rate = Double("--rate", "total msg/s over all devices, 0 = flat out (default 0; gateway --flood: 500)", 0, 1_000_000, null);
        var duration = Double("--duration", $"send phase in seconds (max {MaxDurationSeconds})", 0.1, MaxDurationSeconds, 10);
        var messages = Int("--messages", "cap on measured messages over all devices (0: none, the duration bounds the run)", 0, 100_000_000, 0);
        var qos = Int("--qos", "0 | 1", 0, 1, 1);
        var target = Choice("--target", "embedded | mosquitto | both", "both", "embedded", "mosquitto", "both");
        var payload = Int("--payload-bytes", "pad the signed envelope to about B bytes", 0, 200_000, 0);
        var inFlight = Int("--inflight", "concurrent publishes per device", 1, 1000, 1);
        var warmup = Int("--warmup", "unmeasured messages per device first", 0, 100_000, 50);
        var drain = Double("--drain", "max wait in seconds for outstanding deliveries after sending", 0, 120, 15);
        var mosquitto = new Option<string>("--mosquitto") { Description = "mosquitto binary", HelpName = "PATH", DefaultValueFactory = _ => "/usr/sbin/mosquitto" };
        var watermark = Int("--watermark", "embedded broker's BackpressureWatermark (0: the engine's)", 0, 10_000_000, 0);
        var allocProfile = Int("--alloc-profile", "1: print the types allocated during the measured phase (sampled)", 0, 1, 0);

        var registrations = Int("--registrations", "registry: new devices timed per mode", 1, 10_000, 200);
        var connections = Int("--connections", "registry: MQTT connections the fleet is multiplexed over", 1, 1000, 4);
        var heartbeat = Double("--heartbeat", "registry: fleet heartbeat interval in seconds", 0.5, 300, 5);
        var gap = Double("--gap", "registry: pause in ms between two timed registrations", 0, 10_000, 10);
        var tempRoot = new Option<string>("--temp-root") { Description = "registry: where the engine's temp data folder (SQLite) goes (default: the system temp dir)", HelpName = "DIR" };

        var sessions = new Option<int[]>("--sessions")
        {
            Description = "voice: concurrent sessions per run, comma separated (default 1,10)", HelpName = "LIST",
            CustomParser = r =>
            {
                var list = new List<int>();
                foreach (string item in r.Tokens[0].Value.Split(','))
                {
                    if (!int.TryParse(item, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) || n is < 1 or > 32)
                    {
                        r.AddError($"--sessions must be integers in [1, 32], comma separated, not '{r.Tokens[0].Value}'");
                        return [];
                    }
                    list.Add(n);
                }
                return [.. list];
            },
        };
        var utterances = Int("--utterances", "voice: commands per session stream, 1 s of silence between them", 1, 100, 8);
        var stagger = Double("--stagger", "voice: offset in ms between the sessions' starts", 0, 5000, 300);
        var speculate = Choice("--speculate", "voice: off | on | both (both: off is the baseline of the same run)", "both", "off", "on", "both");
        var model = Choice("--model", "voice: tiny | tiny-talk (decodes to the token cap: the worst case) | micro", "tiny", "tiny", "tiny-talk", "micro");
        var realTime = Int("--realtime", "voice: 1 streams in real time", 0, 1, 1);
        var hangover = Double("--hangover", "voice: VAD silence hangover in ms", 100, 2000, 300);
        var whisperThreads = Int("--whisper-threads", "voice: whisper.cpp threads per transcription (default: the engine's)", 1, 16, null);
        var whisperConcurrency = Int("--whisper-concurrency", "voice: transcriptions at once (default: the engine's)", 1, 16, null);
        var weights = new Option<string[]>("--weights")
        {
            Description = "voice: Whisper weight formats, comma separated, one run each: f16 | q8_0 | q5_1 (default f16)", HelpName = "LIST",
            CustomParser = r =>
            {
                string[] list = r.Tokens[0].Value.Split(',');
                if (list.Any(w => w is not ("f16" or "q8_0" or "q5_1"))) r.AddError($"--weights must be f16, q8_0 or q5_1, comma separated, not '{r.Tokens[0].Value}'");
                return list;
            },
        };
        var maxTokens = Int("--max-tokens", "voice: command token cap (default: the engine's, 32)", 2, 224, null);
        var besideRealWork = Int("--speculate-beside-real-work", "voice: 1 lets speculations start beside real transcriptions", 0, 1, 0);
        var jfk = new Option<string>("--jfk") { Description = "voice: also replay this 16 kHz WAV through one session", HelpName = "PATH" };

        var gateway = Choice("--gateway", "gateway: off | on | both", "both", "off", "on", "both");
        var flood = Int("--flood", "gateway: 1 = N-1 devices at --rate (default 500) without, then with, one flat-out flooder", 0, 1, 0);
        var rateLimit = new Option<string>("--rate-limit") { Description = "gateway: per-device rate limit (default 1000000/second; 200/second with --flood)", HelpName = "LIMIT" };
        var floodInFlight = Int("--flood-inflight", "gateway: concurrent publishes of the flooder", 1, 1000, 4);
        var devicesProcess = Choice("--devices-process", "gateway: where the devices run: in (the engine's process) | child (a child process) | both (in, then child, same run)", "in", "in", "child", "both");
        var engineCores = IntList("--engine-cores", "gateway: engine core counts, one run each, comma separated (the process pinned to its first N cores; e.g. 1,2)", 1, Math.Min(64, Environment.ProcessorCount), []);

        var publishers = IntList("--publishers", "broker-compare: publisher counts of the matrix, comma separated (default 1,8)", 1, 64, [1, 8]);
        var compareQos = IntList("--qos-list", "broker-compare: QoS levels of the matrix, comma separated (default 0,1)", 0, 1, [0, 1]);
        var window = Int("--window", "broker-compare: publishes outstanding per MQTT.js publisher", 1, 10_000, 1);
        var timeLimit = Double("--time-limit", "broker-compare: time limit of one flood in seconds", 1, 600, 60);
        var results = new Option<string>("--results") { Description = "broker-compare: results folder (default bench/results)", HelpName = "DIR" };
        var mqttjs = new Option<string>("--mqttjs") { Description = "broker-compare: the MQTT.js folder (default bench/mqttjs)", HelpName = "DIR" };
        var unbatched = Int("--compare-unbatched", "broker-compare: 1 = also run the embedded broker flushing every packet at once (no queue-aware batching)", 0, 1, 0);
        var node = new Option<string>("--node") { Description = "broker-compare: node binary", HelpName = "PATH", DefaultValueFactory = _ => "node" };

        var root = new RootCommand("Alicia.Load: N signing devices -> broker -> one verifying subscriber; end-to-end latency and loss. " +
            "Scenarios: telemetry (the load run), registry (engine + registry with a heartbeating fleet), " +
            "voice (engine with the voice service; random-weight Whisper: compute cost only), gateway (security gateway off / on).")
        {
            scenario, devices, rate, duration, messages, qos, target, payload, inFlight, warmup, drain, mosquitto, watermark, allocProfile,
            registrations, connections, heartbeat, gap, tempRoot,
            sessions, utterances, stagger, speculate, model, realTime, hangover, whisperThreads, whisperConcurrency, jfk, weights, maxTokens, besideRealWork,
            gateway, flood, rateLimit, floodInFlight, devicesProcess, engineCores,
            publishers, compareQos, window, timeLimit, results, mqttjs, node, unbatched,
        };
        root.HelpName = "Alicia.Load";
        root.SetAction((r, _) =>
        {
            string scenarioName = r.GetValue(scenario)!;
            bool flooding = r.GetValue(flood) == 1;
            var o = new LoadOptions
            {
                Scenario = scenarioName,
                DevicesSet = r.GetValue(devices) is not null,
                Devices = r.GetValue(devices) ?? (scenarioName == "registry" ? 1000 : 10),
                Rate = r.GetValue(rate) is { } given && given != 0 ? given : scenarioName == "gateway" && flooding ? 500 : 0,
                DurationSeconds = r.GetValue(duration)!.Value,
                Messages = r.GetValue(messages)!.Value,
                Qos = (QualityOfService)r.GetValue(qos)!.Value,
                Targets = r.GetValue(target) == "both" ? ["embedded", "mosquitto"] : [r.GetValue(target)!],
                PayloadBytes = r.GetValue(payload)!.Value,
                InFlight = r.GetValue(inFlight)!.Value,
                Warmup = r.GetValue(warmup)!.Value,
                DrainSeconds = r.GetValue(drain)!.Value,
                Mosquitto = r.GetValue(mosquitto)!,
                Watermark = r.GetValue(watermark)!.Value,
                AllocProfile = r.GetValue(allocProfile) == 1,
                Registrations = r.GetValue(registrations)!.Value,
                Connections = r.GetValue(connections)!.Value,
                HeartbeatSeconds = r.GetValue(heartbeat)!.Value,
                GapMs = r.GetValue(gap)!.Value,
                TempRoot = r.GetValue(tempRoot) ?? Path.GetTempPath(),
                VoiceSessions = r.GetValue(sessions) is { Length: > 0 } s ? s : [1, 10], // an absent list option reads as empty, not null
                Utterances = r.GetValue(utterances)!.Value,
                StaggerMs = r.GetValue(stagger)!.Value,
                SpeculateModes = r.GetValue(speculate) == "both" ? ["off", "on"] : [r.GetValue(speculate)!],
                WhisperModel = r.GetValue(model)!,
                RealTime = r.GetValue(realTime) == 1,
                HangoverMs = r.GetValue(hangover)!.Value,
                WhisperThreads = r.GetValue(whisperThreads),
                WhisperConcurrency = r.GetValue(whisperConcurrency),
                Jfk = r.GetValue(jfk),
                WhisperWeights = r.GetValue(weights) is { Length: > 0 } w ? w : ["f16"],
                MaxTokens = r.GetValue(maxTokens),
                SpeculateBesideRealWork = r.GetValue(besideRealWork) == 1,
                GatewayModes = r.GetValue(gateway) == "both" ? ["off", "on"] : [r.GetValue(gateway)!],
                Flood = flooding,
                GatewayRateLimit = r.GetValue(rateLimit),
                FloodInFlight = r.GetValue(floodInFlight)!.Value,
                DevicesIn = r.GetValue(devicesProcess) == "both" ? ["in", "child"] : [r.GetValue(devicesProcess)!],
                EngineCores = r.GetValue(engineCores) ?? [],
                Publishers = r.GetValue(publishers) is { Length: > 0 } p ? p : [1, 8],
                CompareQos = r.GetValue(compareQos) is { Length: > 0 } q ? q : [0, 1],
                Window = r.GetValue(window)!.Value,
                TimeLimitSeconds = r.GetValue(timeLimit)!.Value,
                ResultsDirectory = r.GetValue(results),
                MqttJsDirectory = r.GetValue(mqttjs),
                Node = r.GetValue(node)!,
                CompareUnbatched = r.GetValue(unbatched) == 1,
            };
            return run(o);
        });
        return root;
    }

    private static Option<int?> Int(string name, string description, int min, int max, int? defaultValue) => new(name)
    {
        Description = description,
        HelpName = "N",
        DefaultValueFactory = _ => defaultValue,
        CustomParser = r =>
        {
            string value = r.Tokens[0].Value;
            if (int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v >= min && v <= max) return v;
            r.AddError($"{name} must be an integer in [{min}, {max}], not '{value}'");
            return defaultValue;
        },
    };

    private static Option<int[]> IntList(string name, string description, int min, int max, int[] defaultValue) => new(name)
    {
        Description = description,
        HelpName = "LIST",
        DefaultValueFactory = _ => defaultValue,
        CustomParser = r =>
        {
            var list = new List<int>();
            foreach (string item in r.Tokens[0].Value.Split(','))
            {
                if (!int.TryParse(item, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) || n < min || n > max)
                {
                    r.AddError($"{name} must be integers in [{min}, {max}], comma separated, not '{r.Tokens[0].Value}'");
                    return [];
                }
                list.Add(n);
            }
            return [.. list.Distinct()];
        },
    };

    private static Option<double?> Double(string name, string description, double min, double max, double? defaultValue) => new(name)
    {
        Description = description,
        HelpName = "X",
        DefaultValueFactory = _ => defaultValue,
        CustomParser = r =>
        {
            string value = r.Tokens[0].Value;
            if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && v >= min && v <= max) return v;
            r.AddError($"{name} must be a number in [{min.ToString(CultureInfo.InvariantCulture)}, {max.ToString(CultureInfo.InvariantCulture)}], not '{value}'");
            return defaultValue;
        },
    };

    private static Option<string> Choice(string name, string description, string defaultValue, params string[] values)
    {
        var option = new Option<string>(name) { Description = description, HelpName = string.Join('|', values), DefaultValueFactory = _ => defaultValue };
        option.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<string>() is { } value && !values.Contains(value, StringComparer.Ordinal))
                r.AddError($"{name} must be {string.Join(", ", values[..^1])} or {values[^1]}, not '{value}'");
        });
        return option;
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"devices={Devices} rate={(Rate == 0 ? "flat-out" : Rate.ToString("0.#", CultureInfo.InvariantCulture) + "/s")} duration={DurationSeconds:0.#}s messages={(Messages == 0 ? "-" : Messages.ToString(CultureInfo.InvariantCulture))} qos={(int)Qos} inflight={InFlight} payload~{PayloadBytes}B warmup={Warmup}/device watermark={(Watermark == 0 ? "default" : Watermark.ToString(CultureInfo.InvariantCulture))}");
}
