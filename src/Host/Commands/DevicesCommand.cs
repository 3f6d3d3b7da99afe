using System.CommandLine;
using System.Globalization;
using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Engine.Hosting;

namespace Alicia.Host.Commands;

/// <summary>
/// <c>alicia devices list|show &lt;id&gt;|remove &lt;id&gt;|lookup &lt;capability&gt; [--in PLACE]</c>: the
/// registry's API over the bus (a signed <see cref="RegistryRequest"/> to the running engine).
/// </summary>
public static class DevicesCommand
{
    /// <summary><c>alicia devices ARGS</c>, as from the command line (exit code; output to the writers).</summary>
    public static Task<int> ExecuteAsync(string[] args, TextWriter stdout, TextWriter stderr) => Cli.RunAsync(["devices", .. args], stdout, stderr);

    internal static Command Create(CliContext cli)
    {
        var place = new Option<string>("--in") { Description = "Only devices in this location (e.g. kitchen)", HelpName = "PLACE" };
        var capability = new Option<string>("--capability") { Description = "Only devices with this capability", HelpName = "NAME" };
        var id = new Argument<string>("id") { Description = "The device id" };
        var wanted = new Argument<string>("capability") { Description = "The capability, e.g. light" };

        Command Sub(string name, string description, Func<ParseResult, RegistryRequest> request, params Symbol[] symbols)
        {
            var timeout = CommonOptions.Seconds("--timeout", "How long to wait for the engine's reply", 5);
            var command = cli.ReadsConfiguration(new Command(name, description), endpoint: true);
            foreach (Symbol symbol in symbols)
            {
                if (symbol is Argument argument) command.Add(argument);
                else command.Add((Option)symbol);
            }
            command.Add(cli.Options.As);
            command.Add(cli.Options.To);
            command.Add(timeout);
            command.SetAction((result, cancellationToken) => ExecuteAsync(cli, cli.Load(result), request(result),
                result.GetValue(cli.Options.As) ?? Alicia.Tools.LocalTools.Cli, result.GetValue(cli.Options.To), result.GetValue(timeout), cancellationToken));
            return command;
        }

        return new Command("devices", "The device registry of a running engine (a signed request over the bus)")
        {
            Sub("list", "List the registered devices", r => new RegistryRequest { Operation = "list", Location = r.GetValue(place) ?? "", Capability = r.GetValue(capability) ?? "" }, place, capability),
            Sub("show", "Show one device: state, capabilities, constraints, endpoints", r => new RegistryRequest { Operation = "show", DeviceId = r.GetValue(id)! }, id),
            Sub("remove", "Remove a device from the registry", r => new RegistryRequest { Operation = "remove", DeviceId = r.GetValue(id)! }, id),
            Sub("lookup", "Find the live devices with a capability (optionally in a place)", r => new RegistryRequest { Operation = "lookup", Capability = r.GetValue(wanted)!, Location = r.GetValue(place) ?? "" }, wanted, place),
        };
    }

    private static async Task<int> ExecuteAsync(CliContext cli, AliciaEngineOptions options, RegistryRequest request, string identityName, string? target, double seconds,
        CancellationToken cancellationToken)
    {
        TextWriter stdout = cli.Out, stderr = cli.Err;
        string sub = request.Operation;
        target ??= options.Name;
        BrokerEndpoint endpoint = BusClient.EndpointOf(options);

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(TimeSpan.FromSeconds(seconds));
        BusClient? client = await BusClient.ConnectAsync("devices", options, identityName, TimeSpan.FromSeconds(seconds), stderr, cts.Token).ConfigureAwait(false);
        if (client is null) return Cli.Failed;
        AliciaBus bus = client.Bus;
        await using (client.ConfigureAwait(false))
        {
            RegistryResponse response;
            try
            {
                response = (await bus.RequestAsync<RegistryRequest, RegistryResponse>(request, target, timeout: TimeSpan.FromSeconds(seconds), cancellationToken: cts.Token).ConfigureAwait(false)).Data;
            }
            catch (Exception e) when (e is TimeoutException or OperationCanceledException)
            {
                stderr.WriteLine($"alicia devices: no reply from '{target}' on {endpoint} within {seconds} s. Is the engine running with the registry, and does it trust key '{identityName}'?");
                return Cli.Failed;
            }
            catch (BusPublishException e)
            {
                stderr.WriteLine($"alicia devices: {e.Message}{client.RefusalHint(options)}");
                return Cli.Failed;
            }
            if (response.Status != 200)
            {
                stderr.WriteLine($"alicia devices {sub}: {response.Error} (status {response.Status})");
                return Cli.Failed;
            }
            switch (sub)
            {
                case "show": Show(response.Devices[0], stdout); break;
                case "remove": stdout.WriteLine($"removed '{request.DeviceId}'"); break;
                default: List(response.Devices, stdout); break;
            }
            return Cli.Ok;
        }
    }

    internal static void List(IReadOnlyList<DeviceSummary> devices, TextWriter stdout)
    {
        if (devices.Count == 0)
        {
            stdout.WriteLine("no devices");
            return;
        }
        int id = Math.Max(9, devices.Max(d => d.DeviceId.Length));
        int place = Math.Max(8, devices.Max(d => d.Location.Length));
        stdout.WriteLine($"{"DEVICE".PadRight(id)}  {"TYPE",-10}  {"LOCATION".PadRight(place)}  {"STATE",-8}  {"LAST SEEN",-20}  CAPABILITIES");
        foreach (DeviceSummary d in devices)
            stdout.WriteLine($"{d.DeviceId.PadRight(id)}  {d.DeviceType,-10}  {d.Location.PadRight(place)}  {Name(d.State),-8}  {d.LastSeen.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture),-20}  {string.Join(",", d.Capabilities)}");
        stdout.WriteLine($"{devices.Count} device(s), {devices.Count(d => d.State != DeviceState.Offline)} live");
    }

    internal static void Show(DeviceSummary d, TextWriter stdout)
    {
        DeviceRegistration r = d.Registration;
        stdout.WriteLine($"device_id:      {d.DeviceId}");
        stdout.WriteLine($"device_type:    {d.DeviceType}");
        stdout.WriteLine($"location:       {d.Location}");
        stdout.WriteLine($"state:          {Name(d.State)} (birth sequence {d.BirthSequence}, heartbeat every {d.HeartbeatIntervalMs} ms)");
        stdout.WriteLine($"owner:          {d.Owner}");
        stdout.WriteLine($"registered_at:  {d.RegisteredAt:O}");
        stdout.WriteLine($"last_seen:      {d.LastSeen:O}");
        stdout.WriteLine($"metadata:       {r.Metadata.Manufacturer} {r.Metadata.Model} v{r.Metadata.Version}");
        CapabilityConstraints c = r.Capabilities.Constraints;
        stdout.WriteLine($"constraints:    max_connections={c.MaxConnections} rate_limit={Or(c.RateLimit)} latency_requirement={Or(c.LatencyRequirement)}");
        stdout.WriteLine("capabilities:");
        foreach (Capability cap in r.Capabilities.Capabilities)
        {
            string parameters = string.Join(", ", cap.Parameters.Select(p => p.Unit is null ? $"{p.Name}:{p.Type}" : $"{p.Name}:{p.Type} [{p.Unit}]"));
            stdout.WriteLine($"  - {cap.Name} v{cap.Version}{(parameters.Length > 0 ? " (" + parameters + ")" : "")}");
        }
        if (r.Endpoints.Count > 0)
        {
            stdout.WriteLine("endpoints:");
            foreach ((string name, string value) in r.Endpoints) stdout.WriteLine($"  {name}: {value}");
        }
    }

    private static string Or(string s) => string.IsNullOrEmpty(s) ? "-" : s;

    private static string Name(DeviceState state) => state.ToString().ToLowerInvariant();
}
