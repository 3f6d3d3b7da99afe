using Alicia.Contracts.Messages;
using Alicia.Engine.Registry;
using Alicia.Tools.Simulation;

namespace Alicia.Registry.Tests;

internal static class RegistryWaits
{
    private static TimeSpan Long => Waits.Long;

    /// <summary>Completes when the registry reports the change <paramref name="match"/> describes.</summary>
    public static Task<RegistryChange> Change(DeviceRegistry registry, Func<RegistryChange, bool> match)
    {
        var tcs = new TaskCompletionSource<RegistryChange>(TaskCreationOptions.RunContinuationsAsynchronously);
        void Handler(RegistryChange c)
        {
            if (!match(c)) return;
            registry.Changed -= Handler;
            tcs.TrySetResult(c);
        }
        registry.Changed += Handler;
        return tcs.Task.WaitAsync(Long);
    }

    public static Task<RegistryChange> State(DeviceRegistry registry, string deviceId, DeviceState state) =>
        Change(registry, c => c.Device.DeviceId == deviceId && c.Device.State == state && c.Kind is RegistryChangeKind.StateChanged or RegistryChangeKind.Registered);
}

internal static class Registrations
{
    public static DeviceRegistration Bulb(string id, string location = "kitchen") => SimulatedDevice.Describe(id, SimulatedKind.Bulb, location);

    public static DeviceRegistration Speaker(string id, string location = "kitchen") => SimulatedDevice.Describe(id, SimulatedKind.Speaker, location);

    public static DeviceRegistration Service(string id, string capability, int maxConnections = 0) => new()
    {
        DeviceId = id,
        DeviceType = "service",
        Capabilities = new DeviceCapabilities
        {
            Capabilities = [new Capability { Name = capability }],
            Constraints = new CapabilityConstraints { MaxConnections = maxConnections },
        },
        Metadata = new DeviceMetadata { Manufacturer = "alicia", Model = "stt", Version = "1" },
    };
}
