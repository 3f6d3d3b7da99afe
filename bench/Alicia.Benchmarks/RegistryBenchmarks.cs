using Alicia.Contracts.Messages;
using Alicia.Engine.Registry;
using Alicia.Tools.Simulation;
using BenchmarkDotNet.Attributes;

namespace Alicia.Benchmarks;

/// <summary>
/// Capability lookup in the router with 1,000 registered devices (in memory, no broker): the lock-free
/// index read plus round-robin choice and constraint checks. Also the cost of registrations (incremental
/// index update included, without SQLite). Run: dotnet run -c Release --project bench/Alicia.Benchmarks -- --filter '*Registry*'
/// </summary>
[MemoryDiagnoser]
public class RegistryBenchmarks
{
    private static readonly SimulatedKind[] Kinds = [SimulatedKind.Sensor, SimulatedKind.Bulb, SimulatedKind.Switch, SimulatedKind.Speaker];
    private DeviceRegistry _registry = null!;
    private CapabilityRouter _router = null!;
    private int _next;
    private int _moves;

    [GlobalSetup]
    public void Setup()
    {
        _registry = new DeviceRegistry(null);
        for (int i = 0; i < 1000; i++)
        {
            DeviceRegistration r = SimulatedDevice.Describe($"dev-{i}", Kinds[i % 4], DeviceSimulator.Rooms[i / 4 % DeviceSimulator.Rooms.Length]);
            r.Capabilities.Constraints.RateLimit = ""; // measure lookup, not the token bucket running dry
            _registry.Register(r, "bench");
        }
        _router = new CapabilityRouter(_registry);
    }

    [GlobalCleanup]
    public void Cleanup() => _registry.Dispose();

    [Benchmark]
    public int Resolve_light_in_kitchen() => _router.Resolve("light", "kitchen").Devices.Length;

    [Benchmark]
    public int Live_lookup_light_in_kitchen() => _router.Live("light", "kitchen").Length;

    /// <summary>An update at 1,000 devices: one device moves between two rooms, so its index entries move (the registry stays at 1,000).</summary>
    [Benchmark]
    public int Register_update_in_1000_devices() =>
        _registry.Register(SimulatedDevice.Describe("dev-500", SimulatedKind.Bulb, (_moves++ & 1) == 0 ? "office" : "hall"), "bench").Accepted ? 1 : 0;

    /// <summary>A new device registered into 1,000 and removed again (two index changes per operation; the registry stays at 1,000).</summary>
    [Benchmark(OperationsPerInvoke = 2)]
    public int Register_and_remove_in_1000_devices()
    {
        int accepted = _registry.Register(SimulatedDevice.Describe("probe-bulb", SimulatedKind.Bulb, "office"), "bench").Accepted ? 1 : 0;
        return accepted + (_registry.Unregister("probe-bulb", null, "bench").Accepted ? 1 : 0);
    }

    [Benchmark]
    public int Register_one_more_device() => _registry.Register(SimulatedDevice.Describe($"new-{_next++}", SimulatedKind.Bulb, "office"), "bench").Accepted ? 1 : 0;
}
