using System.Globalization;
using System.Runtime.InteropServices;
using Alicia.Engine.Bus;
using Alicia.Engine.Hosting;
using Alicia.Engine.Security;
using Alicia.Tools.Simulation;
using Alicia.Host.Configuration;
using Alicia.Host.Logging;
using Microsoft.Extensions.Logging;

namespace Alicia.Host.Commands;

/// <summary>
/// <c>alicia simulate --devices N</c>: N simulated devices (sensors, bulbs, switches, speakers) that register
/// with a running engine, heartbeat, publish telemetry and obey commands, until Ctrl+C (or <c>--duration S</c>).
/// </summary>
public static class SimulateCommand
{
    public static async Task<int> ExecuteAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var tokens = args.ToList();
        string countText = Cli.TakeOption(tokens, "--devices") ?? "8";
        string intervalText = Cli.TakeOption(tokens, "--heartbeat") ?? "5";
        string? durationText = Cli.TakeOption(tokens, "--duration");
        string identityName = Cli.TakeOption(tokens, "--as") ?? "alicia-simulator";
        string prefix = Cli.TakeOption(tokens, "--prefix") ?? "sim";
        bool keep = Cli.TakeFlag(tokens, "--keep");
        bool verbose = Cli.TakeFlag(tokens, "--verbose");
        if (!int.TryParse(countText, NumberStyles.None, CultureInfo.InvariantCulture, out int count) || count is < 1 or > 10_000)
            throw new ConfigurationError($"--devices: '{countText}' is not a number of devices from 1 to 10000");
        if (!double.TryParse(intervalText, NumberStyles.Float, CultureInfo.InvariantCulture, out double interval) || interval < 0.1)
            throw new ConfigurationError($"--heartbeat: '{intervalText}' is not a number of seconds (at least 0.1)");
        double duration = 0;
        if (durationText is not null && (!double.TryParse(durationText, NumberStyles.Float, CultureInfo.InvariantCulture, out duration) || duration <= 0))
            throw new ConfigurationError($"--duration: '{durationText}' is not a positive number of seconds");
        if (!IdentityNames.IsValid(identityName)) throw new ConfigurationError($"--as: '{identityName}' is not a valid identity name");
        if (RegistrationValidator_IsBadPrefix(prefix)) throw new ConfigurationError($"--prefix: '{prefix}' must be letters, digits, '-' or '_'");

        AliciaEngineOptions options = ConfigurationLoader.Load(tokens);
        BrokerEndpoint endpoint = BusClient.EndpointOf(options);
        LogLevel level = verbose ? LogLevel.Information : LogLevel.Warning;
        using ILoggerFactory loggerFactory = ConsoleLogging.Create(level);
        var keys = new KeyDirectory(options.KeyDirectory);
        using SigningIdentity identity = keys.Load(identityName, createIfMissing: true); // the engine trusts the key directory
        var verifier = new EnvelopeVerifier(new TrustStore(keys), options.Security);

        using var stop = new CancellationTokenSource();
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

    private static bool RegistrationValidator_IsBadPrefix(string prefix) =>
        prefix.Length == 0 || prefix.Length > 32 || !prefix.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');
}
