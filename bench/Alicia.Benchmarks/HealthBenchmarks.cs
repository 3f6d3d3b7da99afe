using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Engine.Hosting;
using Alicia.Engine.Monitoring;
using Alicia.Engine.Registry;
using Alicia.Engine.Security;
using BenchmarkDotNet.Attributes;

namespace Alicia.Benchmarks;

/// <summary>
/// A health request (design target 50 ms, aim p99 ≤ 2 ms): judging the whole system in process, and the round trip over
/// the bus from a signed TCP client on loopback to the engine's monitoring service and back, with 50 devices and 10
/// heartbeating services known. Run: dotnet run -c Release --project bench/Alicia.Benchmarks -- --filter '*Health*'
/// </summary>
[MemoryDiagnoser]
public class HealthBenchmarks
{
    private string _dir = "";
    private AliciaEngine _engine = null!;
    private MonitoringService _monitoring = null!;
    private AliciaBus _client = null!;

    [GlobalSetup]
    public void Setup() => SetupAsync().GetAwaiter().GetResult();

    private async Task SetupAsync()
    {
        _dir = Path.Combine(Path.GetTempPath(), "alicia-bench-health-" + Guid.NewGuid().ToString("N")[..8]);
        var registry = new RegistryService();
        _monitoring = new MonitoringService();
        _engine = new AliciaEngine(new AliciaEngineOptions
        {
            KeyDirectory = Path.Combine(_dir, "keys"),
            DataDirectory = Path.Combine(_dir, "data"),
            Broker = new Engine.Bus.EmbeddedBrokerOptions { Port = 0 },
        });
        _engine.AddService(registry).AddService(_monitoring);
        await _engine.StartAsync();
        for (int i = 0; i < 50; i++)
            registry.Registry.Register(Tools.Simulation.SimulatedDevice.Describe($"dev-{i}", Tools.Simulation.SimulatedKind.Bulb, "kitchen"), "bench");
        SigningIdentity identity = _engine.Keys.Load("bench-ops", createIfMissing: true);
        _client = await AliciaBus.ConnectAsync(_engine.ClientEndpoint!, identity, new EnvelopeVerifier(new TrustStore(_engine.Keys)));
        for (int i = 0; i < 10; i++)
        {
            SigningIdentity service = _engine.Keys.Load($"svc-{i}", createIfMissing: true);
            await using AliciaBus bus = await AliciaBus.ConnectAsync(_engine.ClientEndpoint!, service, new EnvelopeVerifier(new TrustStore(_engine.Keys)));
            await bus.PublishAsync(new ServiceHealth { Service = $"svc-{i}", IntervalMs = 600_000, Metrics = new() { ["cpu_percent"] = 10, ["error_rate"] = 0 } });
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _client.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _engine.DisposeAsync().AsTask().GetAwaiter().GetResult();
        Directory.Delete(_dir, recursive: true);
    }

    [Benchmark]
    public int Judge_system_in_process() => _monitoring.Report("").Health.Components.Count;

    [Benchmark]
    public async Task<int> Health_request_over_the_bus()
    {
        BusMessage<HealthReport> answer = await _client.RequestAsync<HealthRequest, HealthReport>(new HealthRequest(), _engine.Name);
        return answer.Data.Health.Components.Count;
    }
}
