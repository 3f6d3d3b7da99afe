using Alicia.Engine.Hosting;
using Alicia.Engine.Monitoring;
using Alicia.Engine.Registry;
using Alicia.Engine.Security;
using Alicia.Tools.Simulation;

namespace Alicia.Web.Tests;

/// <summary>An engine with the registry, the monitoring service (judging every 100 ms) and the web host on a free loopback port.</summary>
public sealed class ObservedEngine : IAsyncLifetime
{
    public TestEngine Test { get; private set; } = null!;
    internal RegistryService Registry { get; private set; } = null!;
    internal MonitoringService Monitoring { get; private set; } = null!;
    internal WebService Web { get; private set; } = null!;

    /// <summary>Set before start to require a token.</summary>
    public string Token { get; init; } = "";

    /// <summary>Adjusts the monitoring options (judging every 100 ms by default here).</summary>
    public Action<MonitoringOptions>? ConfigureMonitoring { get; init; }

    /// <summary>Set before start to export spans over OTLP.</summary>
    public string OtlpEndpoint { get; init; } = "";

    public Uri Url => Web.Url ?? throw new InvalidOperationException("the web host is not started");
    public AliciaEngine Engine => Test.Engine;

    public async Task InitializeAsync()
    {
        Test = await TestEngine.StartAsync(services: e => e
            .AddService(Registry = new RegistryService())
            .AddService(Monitoring = new MonitoringService(MonitoringOptions()))
            .AddService(Web = new WebService(new WebOptions { Port = 0, Token = Token, OtlpEndpoint = OtlpEndpoint })));
    }

    private MonitoringOptions MonitoringOptions()
    {
        var options = new MonitoringOptions { EvaluationInterval = TimeSpan.FromMilliseconds(100) };
        ConfigureMonitoring?.Invoke(options);
        return options;
    }

    /// <summary>A simulated device (signed, with its own identity the engine trusts) on the engine's broker.</summary>
    internal async Task<SimulatedDevice> DeviceAsync(string id, string location = "hall", SimulatedKind kind = SimulatedKind.Bulb, string? identity = null)
    {
        var device = new SimulatedDevice(id, kind, location, new EnvelopeSigner(Test.Identity(identity ?? "sim-" + id)), Test.Verifier(), Test.Endpoint, TimeSpan.FromSeconds(5));
        await device.StartAsync();
        return device;
    }

    public async Task DisposeAsync() => await Test.DisposeAsync();
}
