using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using Alicia.Engine.Bus;
using Alicia.Engine.Hosting;
using Alicia.Engine.Security;
using Alicia.Tools.Simulation;
using Alicia.Host.Logging;
using Microsoft.Extensions.Logging;

namespace Alicia.Host.Commands;

/// <summary>
/// <c>alicia simulate --devices N</c>: N simulated devices (sensors, bulbs, switches, speakers) that register
/// with a running engine, heartbeat, publish telemetry and obey commands, until Ctrl+C (or <c>--duration S</c>).
/// </summary>
public static class SimulateCommand
{
    internal static Command Create(CliContext cli)
    {
        var devices = new Option<int>("--devices") { Description = "How many devices (sensors, bulbs, switches and speakers in turn)", HelpName = "N", DefaultValueFactory = _ => 8,
            CustomParser = CommonOptions.Integer("--devices", 1, 10_000, "a number of devices") };
        var heartbeat = CommonOptions.Seconds("--heartbeat", "Heartbeat interval of every device", 5, minimum: 0.1);
        var duration = new Option<double?>("--duration") { Description = "Stop after this many seconds (default: until Ctrl+C)", HelpName = "SECONDS",
            CustomParser = r =>
            {
                string text = r.Tokens[0].Value;
                if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds) && seconds > 0) return seconds;
                r.AddError($"--duration: '{text}' is not a positive number of seconds");
                return null;
            } };
        var prefix = new Option<string>("--prefix") { Description = "Device id prefix (letters, digits, '-' or '_')", HelpName = "PREFIX", DefaultValueFactory = _ => "sim" };
        prefix.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<string>() is { } p && IsBadPrefix(p)) r.AddError($"--prefix: '{p}' must be 1-32 letters, digits, '-' or '_'");
        });
        var keep = new Option<bool>("--keep") { Description = "Leave the devices registered when stopping (default: unregister them)" };
        var command = cli.ReadsConfiguration(new Command("simulate", "Simulated sensors, bulbs, switches and speakers that register with a running engine, heartbeat, publish telemetry and obey commands"), endpoint: true);
        command.Add(devices);
        command.Add(heartbeat);
        command.Add(duration);
        command.Add(cli.Options.As);
        command.Add(prefix);
        command.Add(keep);
        command.Add(cli.Options.Verbose);
        command.SetAction((result, cancellationToken) => ExecuteAsync(cli, cli.Load(result), result.GetValue(devices), result.GetValue(heartbeat), result.GetValue(duration) ?? 0,
            result.GetValue(cli.Options.As) ?? Alicia.Tools.LocalTools.Simulator, result.GetValue(prefix)!, result.GetValue(keep), result.GetValue(cli.Options.Verbose), cancellationToken));
        return command;
    }

    private static async Task<int> ExecuteAsync(CliContext cli, AliciaEngineOptions options, int count, double interval, double duration, string identityName, string prefix,
        bool keep, bool verbose, CancellationToken cancellationToken)
    {
        TextWriter stdout = cli.Out, stderr = cli.Err;
        BrokerEndpoint endpoint = BusClient.EndpointOf(options);
        LogLevel level = verbose ? LogLevel.Information : LogLevel.Warning;
        using ILoggerFactory loggerFactory = ConsoleLogging.Create(level);
        var keys = new KeyDirectory(options.KeyDirectory);
        using SigningIdentity identity = keys.Load(identityName, createIfMissing: true); // the engine trusts the key directory
        var verifier = new EnvelopeVerifier(new TrustStore(keys), options.Security);

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using PosixSignalRegistration sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
        using PosixSignalRegistration sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
        if (duration > 0) stop.CancelAfter(TimeSpan.FromSeconds(duration));

        await using var simulator = new DeviceSimulator(endpoint, identity, verifier, loggerFactory) { Credentials = BusClient.LocalCredentials(options, identityName) };
        try
        {
            await simulator.StartAsync(count, TimeSpan.FromSeconds(interval), prefix, cancellationToken: stop.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException and not OperationCanceledException)
        {
            stderr.WriteLine($"alicia simulate: cannot bring devices up on {endpoint}: {e.Message}");
            return Cli.Failed;
        }
        foreach (SimulatedDevice device in simulator.Devices)
            device.CommandReceived += (d, c) => { lock (stdout) stdout.WriteLine($"{d.DeviceId} ({d.Location}): {c.Command} {string.Join(" ", c.Parameters.Select(kv => kv.Key + "=" + kv.Value))}"); };
        stdout.WriteLine($"alicia simulate: {count} devices up on {endpoint}, signing as '{identityName}', heartbeat every {interval} s. Ctrl+C stops{(keep ? "" : " and unregisters them")}.");
        stdout.Flush();
        try { await Task.Delay(Timeout.Infinite, stop.Token).ConfigureAwait(false); }
        catch (OperationCanceledException) { }
        if (!keep)
        {
            using var bye = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await simulator.UnregisterAllAsync(bye.Token).ConfigureAwait(false);
        }
        stdout.WriteLine("alicia simulate: stopped");
        return Cli.Ok;
    }

    private static bool IsBadPrefix(string prefix) =>
        prefix.Length == 0 || prefix.Length > 32 || !prefix.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');
}
