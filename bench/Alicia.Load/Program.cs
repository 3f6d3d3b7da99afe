using System.CommandLine;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using HdrHistogram;

namespace Alicia.Load;

public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
        CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
        // The footprint scenario runs the published binary with options of its own.
        if (Array.IndexOf(args, "footprint") is int at and > 0 && args[at - 1] == "--scenario") return await FootprintScenario.MainAsync(args).ConfigureAwait(false);
        // The gateway scenario's devices in a child process (--devices-process child): an internal role.
        if (args.Length > 0 && args[0] == GatewayDevicesChild.Role) return await GatewayDevicesChild.MainAsync(args).ConfigureAwait(false);
        ParseResult parsed = LoadOptions.Command(RunAsync).Parse(args);
        if (parsed.Action is ParseErrorAction)
        {
            foreach (ParseError error in parsed.Errors) Console.Error.WriteLine($"Alicia.Load: {error.Message}");
            Console.Error.WriteLine("Run 'Alicia.Load --help' for the options.");
            return 2;
        }
        return await parsed.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null }).ConfigureAwait(false);
    }

    private static async Task<int> RunAsync(LoadOptions options)
    {
        Console.WriteLine($"Alicia.Load {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}");
        Console.WriteLine($"  scenario={options.Scenario} {options}");

        if (options.Scenario != "telemetry")
        {
            try
            {
                return options.Scenario switch
                {
                    "registry" => await RegistryScenario.RunAsync(options, Console.Error).ConfigureAwait(false),
                    "voice" => await VoiceScenario.RunAsync(options, Console.Error).ConfigureAwait(false),
                    "voice-loop" => await VoiceLoopScenario.RunAsync(options, Console.Error).ConfigureAwait(false),
                    "reply" => await ReplyScenario.RunAsync(options, Console.Error).ConfigureAwait(false),
                    "broker-compare" => await BrokerCompareScenario.RunAsync(options, Console.Error).ConfigureAwait(false),
                    "health" => await HealthScenario.RunAsync(options, Console.Error).ConfigureAwait(false),
                    _ => await GatewayScenario.RunAsync(options, Console.Error).ConfigureAwait(false),
                };
            }
            catch (Exception e)
            {
                Console.Error.WriteLine($"[{options.Scenario}] crashed: {e}");
                return 1;
            }
        }

        var results = new List<TargetResult>();
        int exitCode = 0;
        foreach (string target in options.Targets)
        {
            try
            {
                results.Add(await LoadRun.RunAsync(target, options, Console.Error).ConfigureAwait(false));
            }
            catch (Exception e)
            {
                Console.Error.WriteLine($"[{target}] crashed: {e}");
                exitCode = 1;
            }
        }

        Console.WriteLine();
        Console.WriteLine(Report(results));
        return exitCode;
    }

    internal static string Report(IReadOnlyList<TargetResult> results)
    {
        var sb = new StringBuilder();
        var rows = new List<string[]>
        {
            new[] { "target", "qos", "devices", "rate/s", "envelope B", "sent", "delivered", "lost", "dup", "rejected", "failed", "sent/s", "delivered/s", "p50 us", "p99 us", "p99.9 us", "max us" },
        };
        foreach (TargetResult r in results)
        {
            rows.Add([
                r.Target, ((int)r.Options.Qos).ToString(), r.Options.Devices.ToString(), r.Options.Rate == 0 ? "max" : r.Options.Rate.ToString("0"),
                r.EnvelopeBytes.ToString(), r.Sent.ToString(), r.Delivered.ToString(), r.Lost.ToString(), r.Duplicates.ToString(), r.Rejected.ToString(), r.Failed.ToString(),
                r.SentPerSecond.ToString("0"), r.DeliveredPerSecond.ToString("0"),
                P(r, 50), P(r, 99), P(r, 99.9), r.Latency.TotalCount > 0 ? r.Latency.GetMaxValue().ToString() : "-",
            ]);
        }
        sb.AppendLine("Latency = receive time in the subscriber's handler - envelope timestamp (same clock, same process).");
        Table(sb, rows);

        if (results.Any(r => r.ScheduleLatency is not null))
        {
            sb.AppendLine();
            sb.AppendLine("Latency from the scheduled send time (includes the pacer's own timer lateness and any delay of a publisher behind its schedule):");
            var sched = new List<string[]> { new[] { "target", "p50 us", "p99 us", "p99.9 us", "max us", "pacer late p50 us", "pacer late p99 us" } };
            foreach (TargetResult r in results)
            {
                if (r.ScheduleLatency is not { TotalCount: > 0 } h) continue;
                HistogramBase? late = r.PacerLateness is { TotalCount: > 0 } l ? l : null;
                sched.Add([r.Target, h.GetValueAtPercentile(50).ToString(), h.GetValueAtPercentile(99).ToString(), h.GetValueAtPercentile(99.9).ToString(), h.GetMaxValue().ToString(),
                    late?.GetValueAtPercentile(50).ToString() ?? "-", late?.GetValueAtPercentile(99).ToString() ?? "-"]);
            }
            Table(sb, sched);
        }

        sb.AppendLine();
        sb.AppendLine("Resources during the measured phase (this process holds devices + subscriber, and the broker when embedded):");
        var res = new List<string[]> { new[] { "target", "process CPU s", "CPU us/msg", "broker CPU s", "alloc B/msg", "gen0", "gen1", "gen2", "broker qos1 dropped", "backpressure waits" } };
        foreach (TargetResult r in results)
        {
            long n = Math.Max(1, r.Delivered);
            res.Add([
                r.Target, r.ProcessCpuSeconds.ToString("0.00"), (r.ProcessCpuSeconds * 1e6 / n).ToString("0"),
                r.BrokerCpuSeconds is { } b ? b.ToString("0.00") : "(in process)",
                (r.AllocatedBytes / (double)n).ToString("0"), r.Gen0.ToString(), r.Gen1.ToString(), r.Gen2.ToString(),
                r.Target == "embedded" ? r.BrokerQos1Dropped.ToString() : "-", r.Target == "embedded" ? r.BackpressureWaits.ToString() : "-",
            ]);
        }
        Table(sb, res);

        foreach (TargetResult r in results)
        {
            if (r.AllocationProfile is null) continue;
            sb.AppendLine();
            sb.AppendLine($"[{r.Target}] {r.AllocationProfile}");
        }

        foreach (TargetResult r in results)
            if (r.FirstError is not null) sb.AppendLine($"{r.Target}: first publish error: {r.FirstError}");

        TargetResult? embedded = results.FirstOrDefault(r => r.Target == "embedded");
        TargetResult? mosquitto = results.FirstOrDefault(r => r.Target == "mosquitto");
        if (embedded is not null && mosquitto is not null)
        {
            sb.AppendLine();
            sb.AppendLine($"embedded/mosquitto: delivered msg/s {Ratio(embedded.DeliveredPerSecond, mosquitto.DeliveredPerSecond)}, " +
                          $"p99 latency {Ratio(embedded.Latency.TotalCount > 0 ? embedded.Latency.GetValueAtPercentile(99) : 0, mosquitto.Latency.TotalCount > 0 ? mosquitto.Latency.GetValueAtPercentile(99) : 0)}");
        }
        return sb.ToString();
    }

    private static string P(TargetResult r, double percentile) => r.Latency.TotalCount > 0 ? r.Latency.GetValueAtPercentile(percentile).ToString() : "-";

    private static string Ratio(double a, double b) => b > 0 ? (a / b).ToString("0.00") + "x" : "n/a";

    internal static void Table(StringBuilder sb, List<string[]> rows)
    {
        int[] widths = new int[rows[0].Length];
        foreach (string[] row in rows)
            for (int i = 0; i < row.Length; i++) widths[i] = Math.Max(widths[i], row[i].Length);
        for (int r = 0; r < rows.Count; r++)
        {
            sb.Append("| ");
            for (int i = 0; i < rows[r].Length; i++)
            {
                sb.Append(i == 0 ? rows[r][i].PadRight(widths[i]) : rows[r][i].PadLeft(widths[i]));
                sb.Append(" | ");
            }
            sb.Length--;
            sb.AppendLine();
            if (r == 0)
            {
                sb.Append('|');
                for (int i = 0; i < widths.Length; i++) sb.Append(i == 0 ? ":" : "-").Append('-', widths[i]).Append(i == 0 ? "-|" : ":|");
                sb.AppendLine();
            }
        }
    }
}
