using System.Globalization;
using MQTTnet.Protocol;

namespace Alicia.Load;

internal sealed class LoadOptions
{
    public const int MaxDurationSeconds = 120;

    public int Devices { get; private set; } = 10;

    /// <summary>Total messages per second over all devices; 0 = each device publishes as fast as it can.</summary>
    public double Rate { get; private set; }

    public double DurationSeconds { get; private set; } = 10;

    /// <summary>Cap on measured messages over all devices (0 = none: the duration bounds the run).</summary>
    public long Messages { get; private set; }

    public MqttQualityOfServiceLevel Qos { get; private set; } = MqttQualityOfServiceLevel.AtLeastOnce;

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
                case "--devices": o.Devices = Int(name, value, 1, 1000); break;
                case "--rate": o.Rate = Double(name, value, 0, 1_000_000); break;
                case "--duration": o.DurationSeconds = Double(name, value, 0.1, MaxDurationSeconds); break;
                case "--messages": o.Messages = Int(name, value, 0, 100_000_000); break;
                case "--qos": o.Qos = (MqttQualityOfServiceLevel)Int(name, value, 0, 1); break;
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
