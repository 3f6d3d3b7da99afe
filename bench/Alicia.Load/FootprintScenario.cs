using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Alicia.Load;

/// <summary>
/// <c>--scenario footprint --binary PATH</c>: the published (Native AOT) <c>alicia</c> as a user runs it. Reports the
/// binary's size, the start of <c>alicia run</c> over several runs (process spawn until the broker accepts a TCP
/// connection, and until it answers an MQTT 5 CONNECT on that connection with a successful CONNACK: the kernel's
/// backlog accepts before the server runs, a CONNACK needs the broker and its gateway serving; the engine's own
/// broker-ready and core-services times, printed from Main; the "running" line; every service ready, voice models
/// included; the engine's startup trace), with heavy services loading in the background (what <c>alicia run</c> does),
/// in the foreground (<c>--BackgroundStart=false</c>, the baseline in the same run) and as a restart on the data the
/// first start left; then the engine's resident memory idle and with 1,000 simulated devices connected
/// (<c>alicia simulate</c>, one MQTT connection per device, loopback only). Writes a table and
/// <c>bench/results/footprint.json</c> with the machine's description.
/// </summary>
internal static partial class FootprintScenario
{
    private static readonly List<Process> Started = [];

    private sealed record Options(string Binary, int Runs, int Devices, string? Whisper, string Output, double SettleSeconds, bool Trace);

    private sealed record StartRun(string Mode, double TcpAcceptMs, double ConnAckMs, double BrokerReadyMs, double CoreServicesMs, double RunningLineMs, double AllReadyMs,
        IReadOnlyList<(string Phase, double Ms)> Trace);

    [GeneratedRegex(@"alicia: broker ready ([0-9.]+) ms after start, core services ([0-9.]+) ms")]
    private static partial Regex ReadyLine();

    [GeneratedRegex(@"^alicia-trace: ([0-9.]+) (.+)$")]
    private static partial Regex TraceLine();

    [GeneratedRegex(@"dashboard on http://127\.0\.0\.1:(\d+)/")]
    private static partial Regex DashboardLine();

    [GeneratedRegex(@"""registry"":""ok \((\d+) devices\)""")]
    private static partial Regex RegistryCount();

    /// <summary>Its own options (the other scenarios' do not apply): <c>--binary PATH [--runs N] [--devices N] [--whisper MODEL] [--out FILE]</c>.</summary>
    public static async Task<int> MainAsync(string[] args)
    {
        Options? o = Parse(args);
        if (o is null)
        {
            Console.Error.WriteLine("usage: Alicia.Load --scenario footprint --binary PATH/alicia [--runs 10] [--devices 1000] [--whisper MODEL.bin] [--settle 3] [--no-trace] [--out bench/results/footprint.json]");
            return 2;
        }
        string root = Path.Combine(Path.GetTempPath(), $"alicia-footprint-{Environment.ProcessId}");
        Directory.CreateDirectory(root);
        try
        {
            return await RunAsync(o, root).ConfigureAwait(false);
        }
        finally
        {
            // Whatever failed, no engine or simulator outlives the scenario.
            lock (Started) foreach (Process p in Started) { try { if (!p.HasExited) p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { } }
            Directory.Delete(root, recursive: true);
        }
    }

    private static Options? Parse(string[] args)
    {
        string? binary = null, whisper = null, output = Path.Combine("bench", "results", "footprint.json");
        int runs = 10, devices = 1000;
        double settle = 3;
        bool trace = true;
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--scenario": Next(); break;
                case "--binary": binary = Next(); break;
                case "--runs": runs = Math.Clamp(int.Parse(Next(), CultureInfo.InvariantCulture), 1, 100); break;
                case "--devices": devices = Math.Clamp(int.Parse(Next(), CultureInfo.InvariantCulture), 0, 10_000); break;
                case "--whisper": whisper = Next(); break;
                case "--settle": settle = Math.Clamp(double.Parse(Next(), CultureInfo.InvariantCulture), 0, 60); break;
                case "--out": output = Next(); break;
                case "--no-trace": trace = false; break; // a binary older than the startup trace
                default: Console.Error.WriteLine($"footprint: unknown option {args[i]}"); return null;
            }
        }
        return binary is null || !File.Exists(binary) ? null : new Options(Path.GetFullPath(binary), runs, devices, whisper, output, settle, trace);
    }

    private static async Task<int> RunAsync(Options o, string root)
    {
        string loadBefore = File.ReadAllText("/proc/loadavg").Trim();
        long binaryBytes = new FileInfo(o.Binary).Length;
        long directoryBytes = Directory.EnumerateFiles(Path.GetDirectoryName(o.Binary)!).Sum(f => new FileInfo(f).Length);
        Console.WriteLine($"binary {o.Binary}: {binaryBytes / 1048576.0:F1} MB (with the native libraries beside it: {directoryBytes / 1048576.0:F1} MB)");

        var runs = new List<StartRun>();
        // One run not counted: it warms the page cache with the binary and the load tool's own probe code (JIT).
        await StartOnceAsync(o, root, "warmup", background: true, keep: false).ConfigureAwait(false);
        // Alternate the modes so that the machine's load (shared with other work) weighs on all alike. A restart is
        // alicia run again on the data directory and keys the first start left (what systemd restarts): no key to
        // generate, no database to create.
        for (int i = 0; i < o.Runs; i++)
        {
            foreach (string mode in Modes)
            {
                StartRun run = mode == "restart"
                    ? await StartOnceAsync(o, root, $"run{i}-bg", background: true, keep: false, restart: true).ConfigureAwait(false)
                    : await StartOnceAsync(o, root, $"run{i}-{(mode == "background" ? "bg" : "fg")}", mode == "background", keep: mode == "background").ConfigureAwait(false);
                runs.Add(run);
                Console.WriteLine($"  {run.Mode,-10} tcp accept {run.TcpAcceptMs,7:F1} ms | CONNACK {run.ConnAckMs,7:F1} ms | broker ready (from Main) {run.BrokerReadyMs,6:F1} ms | core services {run.CoreServicesMs,6:F1} ms | 'running' line {run.RunningLineMs,7:F1} ms | all ready {run.AllReadyMs,7:F1} ms");
            }
        }

        (long idleKb, long loadedKb, int registered, double connectSeconds) = await MemoryAsync(o, root).ConfigureAwait(false);
        string loadAfter = File.ReadAllText("/proc/loadavg").Trim();

        Console.WriteLine();
        Console.WriteLine("| mode | metric | median ms | p95 ms |");
        Console.WriteLine("|---|---|---|---|");
        foreach (string mode in Modes)
        {
            List<StartRun> of = [.. runs.Where(r => r.Mode == mode)];
            foreach ((string name, Func<StartRun, double> pick) in Metrics)
                Console.WriteLine($"| {mode} | {name} | {Percentile(of.Select(pick), 50):F1} | {Percentile(of.Select(pick), 95):F1} |");
        }
        foreach (string mode in Modes)
        {
            Console.WriteLine($"startup trace, {mode} (median ms from spawn, p95):");
            foreach ((string phase, double median, double p95) in TraceSummary(runs, mode)) Console.WriteLine($"  {median,8:F1} {p95,8:F1}  {phase}");
        }
        Console.WriteLine($"RSS idle (every service ready, {o.SettleSeconds:0.#} s settle): {idleKb / 1024.0:F1} MB; with {registered} of {o.Devices} simulated devices connected and registered: {loadedKb / 1024.0:F1} MB (connected in {connectSeconds:F1} s)");
        Console.WriteLine($"load average before {loadBefore}, after {loadAfter} ({Environment.ProcessorCount} cores, shared)");

        WriteJson(o, runs, binaryBytes, directoryBytes, idleKb, loadedKb, registered, connectSeconds, loadBefore, loadAfter);
        Console.WriteLine($"written {Path.GetFullPath(o.Output)}");
        return 0;
    }

    /// <summary>
    /// Voice in the background on a fresh data directory (first start), in the foreground (the same-run baseline), and a
    /// restart: in the background again on the directory the first start left.
    /// </summary>
    private static readonly string[] Modes = ["background", "foreground", "restart"];

    private static readonly (string Name, Func<StartRun, double> Pick)[] Metrics =
    [
        ("spawn to broker accepting TCP", r => r.TcpAcceptMs),
        ("spawn to MQTT 5 CONNACK", r => r.ConnAckMs),
        ("broker ready, from Main (printed)", r => r.BrokerReadyMs),
        ("core services ready, from Main (printed)", r => r.CoreServicesMs),
        ("spawn to 'running' line", r => r.RunningLineMs),
        ("spawn to every service ready", r => r.AllReadyMs),
    ];

    /// <summary>Each phase of the engine's startup trace in one mode: median and p95 of its time from the spawn, in the order of the medians.</summary>
    private static List<(string Phase, double Median, double P95)> TraceSummary(List<StartRun> runs, string mode)
    {
        List<StartRun> of = [.. runs.Where(r => r.Mode == mode)];
        return [.. of.SelectMany(r => r.Trace.Select(t => t.Phase)).Distinct()
            .Select(phase =>
            {
                List<double> at = [.. of.SelectMany(r => r.Trace.Where(t => t.Phase == phase).Select(t => t.Ms))];
                return (phase, Percentile(at, 50), Percentile(at, 95));
            })
            .OrderBy(t => t.Item2)];
    }

    /// <summary>
    /// One <c>alicia run</c> in a fresh data directory (kept with <paramref name="keep"/>; with <paramref name="restart"/>,
    /// the one a first start kept): timed from the spawn, stopped with SIGTERM once every service is ready.
    /// </summary>
    private static async Task<StartRun> StartOnceAsync(Options o, string root, string name, bool background, bool keep, bool restart = false)
    {
        string dir = Path.Combine(root, name);
        int port = FreePort();
        var clock = new Stopwatch();
        using Process engine = Spawn(o, dir, port, background, clock, out EngineLines lines, out EngineLines errors, out double spawnUnixMs);
        (double accept, double connack) = await WaitForConnAckAsync(engine, port, clock).ConfigureAwait(false);
        (double running, string runningLine) = await lines.WaitAsync(l => l.Contains(" running; ", StringComparison.Ordinal), clock).ConfigureAwait(false);
        _ = runningLine;
        (_, string ready) = await lines.WaitAsync(l => ReadyLine().IsMatch(l), clock).ConfigureAwait(false);
        // In the foreground mode every service is up before the 'running' line.
        double all = background ? (await lines.WaitAsync(l => l.StartsWith("alicia: every service ready", StringComparison.Ordinal), clock).ConfigureAwait(false)).At : running;
        Match m = ReadyLine().Match(ready);
        // The engine's own startup trace (Diagnostics:StartupTrace): written once it runs, and again once every service is ready.
        if (o.Trace) await errors.WaitAsync(l => l.EndsWith(background ? " every service ready" : " running", StringComparison.Ordinal), clock).ConfigureAwait(false);
        List<(string, double)> trace = [.. errors.All().Select(l => TraceLine().Match(l)).Where(t => t.Success)
            .Select(t => (t.Groups[2].Value, Math.Round(Number(t.Groups[1].Value) - spawnUnixMs, 2)))];
        await StopAsync(engine).ConfigureAwait(false);
        if (!keep) Directory.Delete(dir, recursive: true);
        return new StartRun(restart ? "restart" : background ? "background" : "foreground", accept, connack, Number(m.Groups[1].Value), Number(m.Groups[2].Value), running, all, trace);
    }

    /// <summary>The engine's RSS once every service is ready and settled, then with the simulated fleet connected and registered.</summary>
    private static async Task<(long IdleKb, long LoadedKb, int Registered, double ConnectSeconds)> MemoryAsync(Options o, string root)
    {
        string dir = Path.Combine(root, "memory");
        int port = FreePort();
        var clock = new Stopwatch();
        using Process engine = Spawn(o, dir, port, background: true, clock, out EngineLines lines, out _, out _);
        await lines.WaitAsync(l => l.StartsWith("alicia: every service ready", StringComparison.Ordinal), clock).ConfigureAwait(false);
        (_, string dashboard) = await lines.WaitAsync(l => DashboardLine().IsMatch(l), clock).ConfigureAwait(false);
        int web = int.Parse(DashboardLine().Match(dashboard).Groups[1].Value, CultureInfo.InvariantCulture);
        await Task.Delay(TimeSpan.FromSeconds(o.SettleSeconds)).ConfigureAwait(false);
        long idle = RssKb(engine.Id);
        if (o.Devices == 0)
        {
            await StopAsync(engine).ConfigureAwait(false);
            return (idle, idle, 0, 0);
        }

        var started = Stopwatch.StartNew();
        using Process simulator = Track(Process.Start(Info(o.Binary, dir, ["simulate", "--devices", o.Devices.ToString(CultureInfo.InvariantCulture), "--heartbeat", "5",
            "--port", port.ToString(CultureInfo.InvariantCulture), "--keys", Path.Combine(dir, "keys"), "--data", Path.Combine(dir, "data"), "--duration", "600"]))!);
        simulator.OutputDataReceived += (_, _) => { };
        simulator.ErrorDataReceived += (_, _) => { };
        simulator.BeginOutputReadLine();
        simulator.BeginErrorReadLine();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        int registered = 0;
        // Bounded: at most 5 minutes for the fleet to connect and register.
        for (int i = 0; i < 3000 && registered < o.Devices && !simulator.HasExited; i++)
        {
            await Task.Delay(100).ConfigureAwait(false);
            try
            {
                string readyz = await http.GetStringAsync($"http://127.0.0.1:{web}/readyz").ConfigureAwait(false);
                if (RegistryCount().Match(readyz) is { Success: true } count) registered = int.Parse(count.Groups[1].Value, CultureInfo.InvariantCulture);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // A loaded machine may answer late while the fleet connects: ask again.
            }
        }
        double connectSeconds = started.Elapsed.TotalSeconds;
        await Task.Delay(TimeSpan.FromSeconds(o.SettleSeconds)).ConfigureAwait(false);
        long loaded = RssKb(engine.Id);
        if (!simulator.HasExited) simulator.Kill();
        await simulator.WaitForExitAsync().ConfigureAwait(false);
        await StopAsync(engine).ConfigureAwait(false);
        return (idle, loaded, registered, connectSeconds);
    }

    private sealed class EngineLines
    {
        private readonly List<(double At, string Line)> _lines = [];
        private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Add(Stopwatch clock, string? line)
        {
            if (line is null) return;
            TaskCompletionSource changed;
            lock (_lines)
            {
                _lines.Add((clock.Elapsed.TotalMilliseconds, line));
                changed = _changed;
                _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
            }
            changed.TrySetResult();
        }

        public List<string> All()
        {
            lock (_lines) return [.. _lines.Select(l => l.Line)];
        }

        /// <summary>The first line matching (with when it arrived), waiting at most 60 s.</summary>
        public async Task<(double At, string Line)> WaitAsync(Func<string, bool> match, Stopwatch clock)
        {
            TimeSpan deadline = clock.Elapsed + TimeSpan.FromSeconds(60);
            while (true)
            {
                Task changed;
                lock (_lines)
                {
                    foreach ((double at, string line) in _lines) if (match(line)) return (at, line);
                    changed = _changed.Task;
                }
                TimeSpan left = deadline - clock.Elapsed;
                if (left <= TimeSpan.Zero) throw new TimeoutException("the engine did not print the expected line:\n" + string.Join('\n', _lines.Select(l => l.Line)));
                await Task.WhenAny(changed, Task.Delay(left)).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Starts <c>alicia run</c> (with its startup trace on) and <paramref name="clock"/> with it; when, on the wall clock, it was spawned.</summary>
    private static Process Spawn(Options o, string dir, int port, bool background, Stopwatch clock, out EngineLines lines, out EngineLines errors, out double spawnUnixMs)
    {
        Directory.CreateDirectory(dir);
        List<string> args = ["run", "--port", port.ToString(CultureInfo.InvariantCulture), "--keys", Path.Combine(dir, "keys"), "--data", Path.Combine(dir, "data"),
            "--Web:Port=0", $"--BackgroundStart={(background ? "true" : "false")}",
            // The fleet's devices all sign as the local simulator: a thousand connections of one identity are not flapping.
            "--Gateway:FlapConnects=100000"];
        if (o.Whisper is not null) args.Add($"--Voice:WhisperModelPath={Path.GetFullPath(o.Whisper)}");
        ProcessStartInfo info = Info(o.Binary, Directory.GetCurrentDirectory(), args);
        // The engine notes its start phases anyway (a few clock reads into a list); this only has it write them once it runs.
        if (o.Trace) info.ArgumentList.Add("--Diagnostics:StartupTrace=true");
        var received = new EngineLines();
        var failed = new EngineLines();
        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => received.Add(clock, e.Data);
        process.ErrorDataReceived += (_, e) => failed.Add(clock, e.Data);
        spawnUnixMs = (DateTime.UtcNow - DateTime.UnixEpoch).TotalMilliseconds;
        clock.Start();
        process.Start();
        Track(process);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        lines = received;
        errors = failed;
        return process;
    }

    private static Process Track(Process process)
    {
        lock (Started) Started.Add(process);
        return process;
    }

    private static ProcessStartInfo Info(string binary, string workingDirectory, IEnumerable<string> args)
    {
        var info = new ProcessStartInfo(binary) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = workingDirectory };
        foreach (string a in args) info.ArgumentList.Add(a);
        foreach (string key in info.Environment.Keys.Where(k => k.StartsWith("ALICIA_", StringComparison.Ordinal)).ToList()) info.Environment.Remove(key);
        return info;
    }

    /// <summary>
    /// Connects to the broker's port until it accepts (a refused connect on loopback answers at once), then sends an
    /// MQTT 5 CONNECT on that connection (anonymous, allowed read-only on loopback) and waits for its CONNACK, which
    /// must be a success: when each came, from the spawn. Bounded to 60 s.
    /// </summary>
    private static async Task<(double AcceptMs, double ConnAckMs)> WaitForConnAckAsync(Process engine, int port, Stopwatch clock)
    {
        while (clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port)).ConfigureAwait(false);
            }
            catch (SocketException)
            {
                if (engine.HasExited) throw new InvalidOperationException($"alicia run exited with {engine.ExitCode} before its broker accepted");
                await Task.Delay(1).ConfigureAwait(false);
                continue;
            }
            double accepted = clock.Elapsed.TotalMilliseconds;
            await socket.SendAsync(ConnectPacket).ConfigureAwait(false);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            byte[] connack = new byte[64];
            int read = 0;
            // CONNACK: 0x20, remaining length (one byte here), acknowledge flags, reason code, properties.
            while (read < 4)
            {
                int n = await socket.ReceiveAsync(connack.AsMemory(read), timeout.Token).ConfigureAwait(false);
                if (n == 0) throw new InvalidOperationException("the broker closed the connection before its CONNACK");
                read += n;
            }
            double acked = clock.Elapsed.TotalMilliseconds;
            if (connack[0] != 0x20 || connack[3] != 0x00)
                throw new InvalidOperationException($"expected a successful CONNACK, got packet 0x{connack[0]:x2} with reason 0x{connack[3]:x2}");
            await socket.SendAsync(new byte[] { 0xE0, 0x00 }).ConfigureAwait(false); // DISCONNECT, normal
            return (accepted, acked);
        }
        throw new TimeoutException("the broker did not accept within 60 s");
    }

    /// <summary>An MQTT 5 CONNECT: clean start, keep-alive 60 s, no properties, client id "footprint-probe", no credentials.</summary>
    private static readonly byte[] ConnectPacket = BuildConnect("footprint-probe");

    private static byte[] BuildConnect(string clientId)
    {
        byte[] id = System.Text.Encoding.UTF8.GetBytes(clientId);
        byte[] variable = [0x00, 0x04, (byte)'M', (byte)'Q', (byte)'T', (byte)'T', 0x05, 0x02, 0x00, 0x3C, 0x00];
        int remaining = variable.Length + 2 + id.Length; // below 128: one length byte
        byte[] packet = new byte[2 + remaining];
        packet[0] = 0x10;
        packet[1] = (byte)remaining;
        variable.CopyTo(packet, 2);
        packet[2 + variable.Length] = (byte)(id.Length >> 8);
        packet[3 + variable.Length] = (byte)id.Length;
        id.CopyTo(packet, 4 + variable.Length);
        return packet;
    }

    private static async Task StopAsync(Process engine)
    {
        if (engine.HasExited) return;
        // SIGTERM: the engine stops cleanly (the registry's writer drains, SQLite closes).
        _ = kill(engine.Id, 15);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try { await engine.WaitForExitAsync(timeout.Token).ConfigureAwait(false); }
        catch (OperationCanceledException) { engine.Kill(); }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static long RssKb(int pid)
    {
        foreach (string line in File.ReadLines($"/proc/{pid}/status"))
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line["VmRSS:".Length..].Replace("kB", "", StringComparison.Ordinal).Trim(), CultureInfo.InvariantCulture);
        throw new InvalidOperationException($"no VmRSS for {pid}");
    }

    private static double Number(string text) => double.Parse(text, CultureInfo.InvariantCulture);

    private static double Percentile(IEnumerable<double> values, double p)
    {
        double[] sorted = [.. values.Order()];
        if (sorted.Length == 0) return double.NaN;
        // Nearest rank: with 10 runs, p95 is the slowest.
        int rank = (int)Math.Ceiling(p / 100 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }

    private static string CpuModel()
    {
        foreach (string line in File.ReadLines("/proc/cpuinfo"))
            if (line.StartsWith("model name", StringComparison.Ordinal)) return line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
        return "unknown";
    }

    private static void WriteJson(Options o, List<StartRun> runs, long binaryBytes, long directoryBytes, long idleKb, long loadedKb, int registered, double connectSeconds,
        string loadBefore, string loadAfter)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(o.Output))!);
        using FileStream file = File.Create(o.Output);
        using var json = new Utf8JsonWriter(file, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteString("generated_by", "dotnet run -c Release --project bench/Alicia.Load -- --scenario footprint (scripts/footprint.sh)");
        json.WriteString("generated_at", DateTimeOffset.UtcNow);
        json.WriteStartObject("machine");
        json.WriteNumber("cores", Environment.ProcessorCount);
        json.WriteString("cpu", CpuModel());
        json.WriteString("os", RuntimeInformation.OSDescription);
        json.WriteString("loadavg_before", loadBefore);
        json.WriteString("loadavg_after", loadAfter);
        json.WriteString("note", "shared machine: other work (builds, tests, other benchmarks) ran at the same time; compare the modes of this run with each other, not with other machines");
        json.WriteEndObject();
        json.WriteStartObject("binary");
        json.WriteString("path", Path.GetFileName(o.Binary)); // the file name only: a results file carries no machine path
        json.WriteNumber("bytes", binaryBytes);
        json.WriteNumber("mb", Math.Round(binaryBytes / 1048576.0, 2));
        json.WriteNumber("with_native_libraries_mb", Math.Round(directoryBytes / 1048576.0, 2));
        json.WriteNumber("goal_mb", 30);
        json.WriteEndObject();
        json.WriteStartObject("start");
        json.WriteNumber("runs_per_mode", o.Runs);
        json.WriteString("voice", o.Whisper is null ? "Silero VAD (ONNX Runtime) only" : $"Silero VAD (ONNX Runtime) and Whisper {Path.GetFileName(o.Whisper)}");
        json.WriteNumber("goal_broker_ready_ms", 50);
        json.WriteString("goal_measured_by", "spawn to MQTT 5 CONNACK");
        foreach (string mode in Modes)
        {
            List<StartRun> of = [.. runs.Where(r => r.Mode == mode)];
            json.WriteStartObject(mode);
            foreach ((string name, Func<StartRun, double> pick) in Metrics)
            {
                json.WriteStartObject(name);
                json.WriteNumber("median_ms", Math.Round(Percentile(of.Select(pick), 50), 2));
                json.WriteNumber("p95_ms", Math.Round(Percentile(of.Select(pick), 95), 2));
                json.WriteStartArray("runs_ms");
                foreach (StartRun r in of) json.WriteNumberValue(Math.Round(pick(r), 2));
                json.WriteEndArray();
                json.WriteEndObject();
            }
            // The engine's own trace (Diagnostics:StartupTrace): when each start phase ended, from the spawn.
            json.WriteStartObject("trace_ms_from_spawn");
            foreach ((string phase, double median, double p95) in TraceSummary(runs, mode))
            {
                json.WriteStartObject(phase);
                json.WriteNumber("median_ms", Math.Round(median, 2));
                json.WriteNumber("p95_ms", Math.Round(p95, 2));
                json.WriteEndObject();
            }
            json.WriteEndObject();
            json.WriteEndObject();
        }
        json.WriteEndObject();
        json.WriteStartObject("memory");
        json.WriteNumber("rss_idle_mb", Math.Round(idleKb / 1024.0, 1));
        json.WriteNumber("devices_requested", o.Devices);
        json.WriteNumber("devices_registered", registered);
        json.WriteNumber("rss_with_devices_mb", Math.Round(loadedKb / 1024.0, 1));
        json.WriteNumber("fleet_connect_seconds", Math.Round(connectSeconds, 1));
        json.WriteString("how", "VmRSS of the alicia run process after every service is ready and a settle pause; then with alicia simulate's devices (one MQTT connection each, loopback) connected and registered (the registry's count in /readyz), after the same pause");
        json.WriteEndObject();
        json.WriteEndObject();
    }
}
