using System.Diagnostics;
using System.Globalization;
using Alicia.Engine.Bus;
using Alicia.Engine.Security;
using NSec.Cryptography;

namespace Alicia.Load;

/// <summary>
/// The internal role <c>Alicia.Load gateway-devices-child ...</c>: the gateway scenario's devices in a process of their
/// own, so their Ed25519 signing and MQTT client work do not share the engine's process. It speaks a line protocol with
/// <see cref="GatewayDevicesProcess"/>: stdout <c>connected N on C cores</c>, <c>warm F</c>, then after <c>go</c> on stdin
/// <c>done sent failed cpu_seconds [first error]</c>; it exits on <c>exit</c>, when stdin closes (the parent is gone),
/// or at its own deadline (duration + 180 s), whichever comes first.
/// </summary>
internal static class GatewayDevicesChild
{
    public const string Role = "gateway-devices-child";

    /// <summary>The most devices one child runs (the load tool's --devices allows 1,000).</summary>
    public const int MaxDevices = 1000;

    /// <summary>The child's arguments: the role, the broker port, the key file, the phase, and the cores to run on (0: inherited).</summary>
    public static IEnumerable<string> Arguments(int port, string keysFile, QualityOfService qos, double rate, double durationSeconds, int warmup, ulong cpuMask = 0) =>
    [
        Role, "--port", port.ToString(CultureInfo.InvariantCulture), "--keys", keysFile, "--qos", ((int)qos).ToString(CultureInfo.InvariantCulture),
        "--rate", rate.ToString("R", CultureInfo.InvariantCulture), "--duration", durationSeconds.ToString("R", CultureInfo.InvariantCulture),
        "--warmup", warmup.ToString(CultureInfo.InvariantCulture),
        .. cpuMask != 0 ? (string[])["--cpus", cpuMask.ToString("x", CultureInfo.InvariantCulture)] : [],
    ];

    /// <summary>Writes the identities' private keys (one <c>name base64-seed</c> line each) to a file only the child reads.</summary>
    public static void WriteKeys(string path, IEnumerable<SigningIdentity> ids)
    {
        using var writer = new StreamWriter(File.Create(path));
        foreach (SigningIdentity id in ids)
            writer.WriteLine($"{id.Name} {Convert.ToBase64String(id.Key.Export(KeyBlobFormat.RawPrivateKey))}");
    }

    public static async Task<int> MainAsync(string[] args)
    {
        var a = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 1; i + 1 < args.Length; i += 2) a[args[i]] = args[i + 1];
        int port = int.Parse(a["--port"], CultureInfo.InvariantCulture);
        var qos = (QualityOfService)int.Parse(a["--qos"], CultureInfo.InvariantCulture);
        double rate = double.Parse(a["--rate"], CultureInfo.InvariantCulture);
        double duration = Math.Clamp(double.Parse(a["--duration"], CultureInfo.InvariantCulture), 0.1, LoadOptions.MaxDurationSeconds);
        int warmup = int.Parse(a["--warmup"], CultureInfo.InvariantCulture);
        // A child inherits the affinity of the thread that started it: with the engine pinned to one core, the devices
        // would share that core. They get the cores the engine had before it was pinned.
        if (a.TryGetValue("--cpus", out string? cpus)) CpuAffinity.Set(ulong.Parse(cpus, NumberStyles.HexNumber, CultureInfo.InvariantCulture));

        // Bounded in time whatever the parent does.
        using var deadline = new Timer(_ => { Console.Error.WriteLine($"{Role}: deadline reached, exiting"); Environment.Exit(4); }, null, TimeSpan.FromSeconds(duration + 180), Timeout.InfiniteTimeSpan);
        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var exit = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _ = Task.Run(() =>
        {
            // stdin: "go" starts the measured phase, "exit" ends the process; end of input means the parent is gone.
            while (Console.In.ReadLine() is { } line)
            {
                if (line == "go") go.TrySetResult();
                else if (line == "exit") { exit.TrySetResult(); return; }
            }
            Environment.Exit(3);
        });

        var ids = new List<SigningIdentity>();
        foreach (string line in File.ReadLines(a["--keys"]))
        {
            string[] parts = line.Split(' ', 2);
            if (parts.Length != 2) continue;
            if (ids.Count == MaxDevices) { Console.Error.WriteLine($"{Role}: more than {MaxDevices} keys; the rest are ignored"); break; }
            ids.Add(new SigningIdentity(parts[0], Key.Import(SignatureAlgorithm.Ed25519, Convert.FromBase64String(parts[1]), KeyBlobFormat.RawPrivateKey)));
        }
        try
        {
            await using GatewayDevices devices = await GatewayDevices.ConnectAsync(BrokerEndpoint.Tcp("127.0.0.1", port), ids).ConfigureAwait(false);
            Console.WriteLine($"connected {devices.Count} on {CpuAffinity.CurrentCores()} cores");
            long warmFailed = warmup > 0 ? await devices.WarmupAsync(warmup, qos).ConfigureAwait(false) : 0;
            Console.WriteLine($"warm {warmFailed}");
            await go.Task.ConfigureAwait(false);
            var self = Process.GetCurrentProcess();
            TimeSpan cpu0 = self.TotalProcessorTime;
            SendResult r = await devices.SendAsync(warmup, rate, duration, qos, Stopwatch.GetTimestamp()).ConfigureAwait(false);
            self.Refresh();
            double cpu = (self.TotalProcessorTime - cpu0).TotalSeconds;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"done {r.Sent} {r.Failed} {cpu:0.000} {r.FirstError?.ReplaceLineEndings(" ")}").TrimEnd());
            // Stay connected until the parent has drained and measured: disconnecting 1,000 clients costs the broker CPU.
            await exit.Task.WaitAsync(TimeSpan.FromSeconds(120)).ConfigureAwait(false);
            return 0;
        }
        finally
        {
            foreach (SigningIdentity id in ids) id.Dispose();
        }
    }
}
