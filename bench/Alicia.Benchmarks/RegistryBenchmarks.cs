using Alicia.Contracts.Messages;
using Alicia.Engine.Registry;
using Alicia.Tools.Simulation;
using BenchmarkDotNet.Attributes;

namespace Alicia.Benchmarks;

/// <summary>
/// Capability lookup in the router with 1,000 registered devices (in memory, no broker): the lock-free
/// index read plus round-robin choice and constraint checks. Also the cost of one registration (index
/// rebuild included, without SQLite). Run: dotnet run -c Release --project bench/Alicia.Benchmarks -- --filter '*Registry*'
/// </summary>
[MemoryDiagnoser]
public class RegistryBenchmarks
{
    private static readonly SimulatedKind[] Kinds = [SimulatedKind.Sensor, SimulatedKind.Bulb, SimulatedKind.Switch, SimulatedKind.Speaker];
    private DeviceRegistry _registry = null!;
    private CapabilityRouter _router = null!;
    private int _next;

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

    [Benchmark]
    public int Register_one_more_device() => _registry.Register(SimulatedDevice.Describe($"new-{_next++}", SimulatedKind.Bulb, "office"), "bench").Accepted ? 1 : 0;
}
