using Alicia.Engine.Bus;
using Alicia.Engine.Security;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Alicia.Tools.Simulation;

/// <summary>
/// Brings up N simulated devices of the design's kinds (sensors, bulbs, switches, speakers) spread over
/// rooms, all signing as one simulator identity that the engine trusts. Each registers, heartbeats,
/// publishes and obeys commands; disposing unregisters them (or leave them and let liveness notice).
/// </summary>
internal sealed class DeviceSimulator(BrokerEndpoint endpoint, SigningIdentity identity, EnvelopeVerifier verifier, ILoggerFactory? loggerFactory = null, TimeProvider? clock = null) : IAsyncDisposable
{
    public static readonly string[] Rooms = ["kitchen", "living_room", "bedroom", "office", "hallway", "garage"];
    private static readonly SimulatedKind[] Kinds = [SimulatedKind.Sensor, SimulatedKind.Bulb, SimulatedKind.Switch, SimulatedKind.Speaker];
    private readonly List<SimulatedDevice> _devices = [];
    private readonly EnvelopeSigner _signer = new(identity);

    public IReadOnlyList<SimulatedDevice> Devices => _devices;

    /// <summary>Broker credentials for every simulated device (a gateway-protected broker).</summary>
    public (string User, byte[] Password)? Credentials { get; init; }

    /// <summary>Device i is of kind i mod 4 in room (i / 4) mod rooms, named <c>{prefix}-{kind}-{i}</c>.</summary>
    public async Task StartAsync(int count, TimeSpan heartbeatInterval, string prefix = "sim", int parallelism = 16, CancellationToken cancellationToken = default)
    {
        var created = new SimulatedDevice[count];
        for (int i = 0; i < count; i++)
        {
            SimulatedKind kind = Kinds[i % Kinds.Length];
            string room = Rooms[i / Kinds.Length % Rooms.Length];
            ILogger logger = loggerFactory?.CreateLogger<SimulatedDevice>() ?? NullLogger<SimulatedDevice>.Instance;
            created[i] = new SimulatedDevice($"{prefix}-{kind.ToString().ToLowerInvariant()}-{i}", kind, room, _signer, verifier, endpoint, heartbeatInterval, logger, clock) { Credentials = Credentials };
        }
        _devices.AddRange(created);
        await Parallel.ForEachAsync(created, new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = cancellationToken },
            async (device, ct) => await device.StartAsync(ct).ConfigureAwait(false)).ConfigureAwait(false);
    }

    public async Task UnregisterAllAsync(CancellationToken cancellationToken = default)
    {
        foreach (SimulatedDevice device in _devices)
        {
            try { await device.UnregisterAsync(cancellationToken).ConfigureAwait(false); }
            catch (Exception e) when (e is not OperationCanceledException) { /* best effort on the way out */ _ = e; }
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (SimulatedDevice device in _devices) await device.DisposeAsync().ConfigureAwait(false);
    }
}
