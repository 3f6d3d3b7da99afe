using Alicia.Engine.Bus;
using System.Globalization;

namespace Alicia.Load;

internal sealed class LoadOptions
{
    public const int MaxDurationSeconds = 120;

    public int Devices { get; private set; } = 10;

    /// <summary>telemetry (the original load run) | registry | gateway.</summary>
    public string Scenario { get; private set; } = "telemetry";

    public bool DevicesSet { get; private set; }

    // ---- registry scenario ----

    /// <summary>New devices registered (and timed) per measurement mode.</summary>
    public int Registrations { get; private set; } = 200;

    /// <summary>MQTT connections the registered fleet is multiplexed over.</summary>
    public int Connections { get; private set; } = 4;

    /// <summary>Heartbeat interval of every fleet device.</summary>
    public double HeartbeatSeconds { get; private set; } = 5;

    /// <summary>Parent of the registry scenario's temp folder (default: the system temp dir).</summary>
    public string TempRoot { get; private set; } = Path.GetTempPath();

    /// <summary>Pause between two timed registrations.</summary>
    public double GapMs { get; private set; } = 10;

    // ---- voice scenario ----

    /// <summary>Concurrent voice sessions, one run per entry (default 1 and 10).</summary>
    public int[] VoiceSessions { get; private set; } = [1, 10];

    /// <summary>Commands each session speaks in its stream (1 s of silence between them).</summary>
    public int Utterances { get; private set; } = 8;

    /// <summary>Offset between the sessions' starts, so their utterances end at staggered times.</summary>
    public double StaggerMs { get; private set; } = 300;

    /// <summary>Speculative STT modes to run: off (the baseline), on.</summary>
    public string[] SpeculateModes { get; private set; } = ["off", "on"];

    /// <summary>tiny (tiny.en's dimensions), tiny-talk (the same, decoding to the token cap) or micro (a far smaller model, for quick runs).</summary>
    public string WhisperModel { get; private set; } = "tiny";

    /// <summary>Stream audio in real time (as a microphone does) instead of as fast as possible.</summary>
    public bool RealTime { get; private set; } = true;

    public double HangoverMs { get; private set; } = 300;

    /// <summary>Null: the engine's default (VoiceOptions).</summary>
    public int? WhisperThreads { get; private set; }

    public int? WhisperConcurrency { get; private set; }

    /// <summary>Also replay this recording (16 kHz mono WAV) through one session, when it exists.</summary>
    public string? Jfk { get; private set; }

    // ---- gateway scenario ----

    /// <summary>Gateway modes to run: off, on.</summary>
    public string[] GatewayModes { get; private set; } = ["off", "on"];

    /// <summary>Flood variant: N-1 devices at --rate (default 500) with and without one device publishing flat out.</summary>
    public bool Flood { get; private set; }

    /// <summary>Per-device gateway rate limit (GatewayOptions.DefaultRateLimit); default 1000000/second, or 200/second for --flood.</summary>
    public string? GatewayRateLimit { get; private set; }

    /// <summary>Concurrent publishes of the flooder.</summary>
    public int FloodInFlight { get; private set; } = 4;

    /// <summary>Total messages per second over all devices; 0 = each device publishes as fast as it can.</summary>
    public double Rate { get; private set; }

    public double DurationSeconds { get; private set; } = 10;

    /// <summary>Cap on measured messages over all devices (0 = none: the duration bounds the run).</summary>
    public long Messages { get; private set; }

    public QualityOfService Qos { get; private set; } = QualityOfService.AtLeastOnce;

    public string[] Targets { get; private set; } = ["embedded", "mosquitto"];

    /// <summary>Approximate size of the signed envelope on the wire; the telemetry's location is padded to reach it.</summary>
    public int PayloadBytes { get; private set; }

    /// <summary>Concurrent publishes per device (1 = a device awaits each PUBACK before the next publish).</summary>
    public int InFlight { get; private set; } = 1;

    /// <summary>Unmeasured messages per device before the measurement (JIT, connections, pools).</summary>
    public int Warmup { get; private set; } = 50;

    /// <summary>Longest wait for in-flight messages after the send phase.</summary>
    public double DrainSeconds { get; private set; } = 15;

    public string Mosquitto { get; private set; } = "/usr/sbin/mosquitto";

    /// <summary>EmbeddedBrokerOptions.BackpressureWatermark for the embedded target (0 = the engine's default).</summary>
    public int Watermark { get; private set; }

    /// <summary>Sample allocations by type during the measured phase (GC AllocationTick events).</summary>
    public bool AllocProfile { get; private set; }

    public static string Usage => """
        Alicia.Load: N signing devices -> broker -> one verifying subscriber; end-to-end latency and loss.

          --scenario S         telemetry (default) | registry | gateway
          --devices N          device clients, each with its own Ed25519 identity (default 10)
          --rate R             total msg/s over all devices, 0 = flat out (default 0)
          --duration S         send phase in seconds (default 10, max 120)
          --messages M         cap on measured messages over all devices (default: none)
          --qos 0|1            (default 1)
          --target T           embedded | mosquitto | both (default both)
          --payload-bytes B    pad the signed envelope to about B bytes (default 0: no padding, ~306 B)
          --inflight K         concurrent publishes per device (default 1)
          --warmup W           unmeasured messages per device first (default 50)
          --drain S            max wait for outstanding deliveries after sending (default 15)
          --mosquitto PATH     mosquitto binary (default /usr/sbin/mosquitto)
          --watermark W        embedded broker's BackpressureWatermark (default: the engine's, 1000)
          --alloc-profile 1    print the types allocated during the measured phase (sampled)

        registry scenario (engine + RegistryService, --devices fleet devices registered and heartbeating, default 1000):
          --registrations N    new devices timed per mode (default 200)
          --connections C      MQTT connections the fleet is multiplexed over (default 4)
          --heartbeat S        fleet heartbeat interval in seconds (default 5)
          --gap MS             pause between two timed registrations (default 10)
          --temp-root DIR      where the engine's temp data folder (SQLite) goes (default: the system temp dir)

        voice scenario (engine with the voice service; espeak-ng commands of ~3 s streamed by satellites over TCP;
        random-weight Whisper with tiny.en's dimensions: compute cost only, no accuracy):
          --sessions LIST      concurrent sessions per run, comma separated (default 1,10)
          --utterances K       commands per session stream, 1 s of silence between them (default 8)
          --stagger MS         offset between the sessions' starts (default 300)
          --speculate M        off | on | both (default both: off is the baseline of the same run)
          --model M            tiny | tiny-talk (decodes to the token cap: the worst case) | micro (default tiny)
          --realtime 0|1       stream in real time (default 1)
          --hangover MS        VAD silence hangover (default 300)
          --whisper-threads N  whisper.cpp threads per transcription (default: the engine's, cores / concurrency)
          --whisper-concurrency N  transcriptions at once (default: the engine's, 2 on 2+ cores)
          --jfk PATH           also replay this 16 kHz WAV through one session

        gateway scenario (engine with the security gateway off / on, devices publish DeviceData on alicia/devices/{id}/data):
          --gateway G          off | on | both (default both)
          --flood 1            flood variant: N-1 devices at --rate (default 500) without, then with, one flat-out flooder
          --rate-limit L       per-device gateway rate limit (default 1000000/second; 200/second with --flood)
          --flood-inflight K   concurrent publishes of the flooder (default 4)
        """;

    public static LoadOptions Parse(string[] args)
    {
        var o = new LoadOptions();
        for (int i = 0; i < args.Length; i++)
        {
            string name = args[i];
            if (name is "-h" or "--help") throw new UsageException(null);
            if (i + 1 >= args.Length) throw new UsageException($"{name} needs a value");
            string value = args[++i];
            switch (name)
            {
                case "--devices": o.Devices = Int(name, value, 1, 1000); o.DevicesSet = true; break;
                case "--scenario":
                    o.Scenario = value is "telemetry" or "registry" or "gateway" or "voice" ? value : throw new UsageException($"--scenario must be telemetry, registry, gateway or voice, not '{value}'");
                    break;
                case "--sessions": o.VoiceSessions = value.Split(',').Select(v => Int(name, v, 1, 32)).ToArray(); break;
                case "--utterances": o.Utterances = Int(name, value, 1, 100); break;
                case "--stagger": o.StaggerMs = Double(name, value, 0, 5000); break;
                case "--speculate":
                    o.SpeculateModes = value switch
                    {
                        "both" => ["off", "on"],
                        "off" or "on" => [value],
                        _ => throw new UsageException($"--speculate must be off, on or both, not '{value}'"),
                    };
                    break;
                case "--model": o.WhisperModel = value is "tiny" or "tiny-talk" or "micro" ? value : throw new UsageException($"--model must be tiny, tiny-talk or micro, not '{value}'"); break;
                case "--realtime": o.RealTime = Int(name, value, 0, 1) == 1; break;
                case "--hangover": o.HangoverMs = Double(name, value, 100, 2000); break;
                case "--whisper-threads": o.WhisperThreads = Int(name, value, 1, 16); break;
                case "--whisper-concurrency": o.WhisperConcurrency = Int(name, value, 1, 16); break;
                case "--jfk": o.Jfk = value; break;
                case "--registrations": o.Registrations = Int(name, value, 1, 10_000); break;
                case "--connections": o.Connections = Int(name, value, 1, 1000); break;
                case "--heartbeat": o.HeartbeatSeconds = Double(name, value, 0.5, 300); break;
                case "--temp-root": o.TempRoot = value; break;
                case "--gap": o.GapMs = Double(name, value, 0, 10_000); break;
                case "--gateway":
                    o.GatewayModes = value switch
                    {
                        "both" => ["off", "on"],
                        "off" or "on" => [value],
                        _ => throw new UsageException($"--gateway must be off, on or both, not '{value}'"),
                    };
                    break;
                case "--flood": o.Flood = Int(name, value, 0, 1) == 1; break;
                case "--rate-limit": o.GatewayRateLimit = value; break;
                case "--flood-inflight": o.FloodInFlight = Int(name, value, 1, 1000); break;
                case "--rate": o.Rate = Double(name, value, 0, 1_000_000); break;
                case "--duration": o.DurationSeconds = Double(name, value, 0.1, MaxDurationSeconds); break;
                case "--messages": o.Messages = Int(name, value, 0, 100_000_000); break;
                case "--qos": o.Qos = (QualityOfService)Int(name, value, 0, 1); break;
                case "--target":
                    o.Targets = value switch
                    {
                        "both" => ["embedded", "mosquitto"],
                        "embedded" or "mosquitto" => [value],
                        _ => throw new UsageException($"--target must be embedded, mosquitto or both, not '{value}'"),
                    };
                    break;
                case "--payload-bytes": o.PayloadBytes = Int(name, value, 0, 200_000); break;
                case "--inflight": o.InFlight = Int(name, value, 1, 1000); break;
                case "--warmup": o.Warmup = Int(name, value, 0, 100_000); break;
                case "--drain": o.DrainSeconds = Double(name, value, 0, 120); break;
                case "--mosquitto": o.Mosquitto = value; break;
                case "--watermark": o.Watermark = Int(name, value, 0, 10_000_000); break;
                case "--alloc-profile": o.AllocProfile = Int(name, value, 0, 1) == 1; break;
                default: throw new UsageException($"unknown option {name}");
            }
        }
        if (o.Scenario == "registry" && !o.DevicesSet) o.Devices = 1000;
        if (o.Scenario == "gateway" && o.Flood && o.Rate == 0) o.Rate = 500;
        return o;
    }

    private static int Int(string name, string value, int min, int max) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v >= min && v <= max
            ? v : throw new UsageException($"{name} must be an integer in [{min}, {max}], not '{value}'");

    private static double Double(string name, string value, double min, double max) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && v >= min && v <= max
            ? v : throw new UsageException($"{name} must be a number in [{min}, {max}], not '{value}'");

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"devices={Devices} rate={(Rate == 0 ? "flat-out" : Rate.ToString("0.#", CultureInfo.InvariantCulture) + "/s")} duration={DurationSeconds:0.#}s messages={(Messages == 0 ? "-" : Messages.ToString(CultureInfo.InvariantCulture))} qos={(int)Qos} inflight={InFlight} payload~{PayloadBytes}B warmup={Warmup}/device watermark={(Watermark == 0 ? "default" : Watermark.ToString(CultureInfo.InvariantCulture))}");
}

internal sealed class UsageException(string? message) : Exception(message ?? "help")
{
    public bool IsHelp { get; } = message is null;
}
