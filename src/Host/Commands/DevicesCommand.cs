using System.Globalization;
using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Engine.Hosting;
using Alicia.Engine.Security;
using Alicia.Host.Configuration;

namespace Alicia.Host.Commands;

/// <summary>
/// <c>alicia devices list|show &lt;id&gt;|remove &lt;id&gt;|lookup &lt;capability&gt; [--in PLACE]</c>: the
/// registry's API over the bus (a signed <see cref="RegistryRequest"/> to the running engine).
/// </summary>
public static class DevicesCommand
{
    public static async Task<int> ExecuteAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var tokens = args.ToList();
        string? sub = tokens.Count > 0 && !tokens[0].StartsWith('-') ? tokens[0] : null;
        if (sub is not ("list" or "show" or "remove" or "lookup"))
        {
            stderr.WriteLine("alicia devices: say 'list', 'show <id>', 'remove <id>' or 'lookup <capability> [--in PLACE]'");
            return Cli.Usage;
        }
        tokens.RemoveAt(0);
        string argument = "";
        if (sub is "show" or "remove" or "lookup")
        {
            if (tokens.Count == 0 || tokens[0].StartsWith('-'))
            {
                stderr.WriteLine($"alicia devices {sub}: {(sub == "lookup" ? "a capability" : "a device id")} is required");
                return Cli.Usage;
            }
            argument = tokens[0];
            tokens.RemoveAt(0);
        }
        string identityName = Cli.TakeOption(tokens, "--as") ?? "alicia-cli";
        string? target = Cli.TakeOption(tokens, "--to");
        string location = Cli.TakeOption(tokens, "--in") ?? "";
        string capability = Cli.TakeOption(tokens, "--capability") ?? "";
        double seconds = Cli.TakeSeconds(tokens, "--timeout", 5);
        if (!IdentityNames.IsValid(identityName)) throw new ConfigurationError($"--as: '{identityName}' is not a valid identity name");

        AliciaEngineOptions options = ConfigurationLoader.Load(tokens);
        target ??= options.Name;
        BrokerEndpoint endpoint = BusClient.EndpointOf(options);
        var request = new RegistryRequest
        {
            Operation = sub,
            DeviceId = sub is "show" or "remove" ? argument : "",
            Capability = sub == "lookup" ? argument : capability,
            Location = location,
        };

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
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
            if (response.Status != 200)
            {
                stderr.WriteLine($"alicia devices {sub}: {response.Error} (status {response.Status})");
                return Cli.Failed;
            }
            switch (sub)
            {
                case "show": Show(response.Devices[0], stdout); break;
                case "remove": stdout.WriteLine($"removed '{argument}'"); break;
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
