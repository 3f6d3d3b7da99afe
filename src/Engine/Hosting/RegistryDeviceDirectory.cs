using Alicia.Engine.Registry;

namespace Alicia.Engine.Hosting;

/// <summary>The engine's registry (when it has one) as an <see cref="IDeviceDirectory"/>.</summary>
internal sealed class RegistryDeviceDirectory(AliciaEngine engine) : IDeviceDirectory
{
    public IReadOnlyList<DirectoryDevice> Find(string capability, string location)
    {
        // The registry exists once its service has started; before that (or without one) there is nothing to find.
        DeviceRegistry? registry = engine.Services.OfType<RegistryService>().FirstOrDefault()?.Registry;
        if (registry is null) return [];
        return [.. registry.WithCapability(capability)
            .Where(d => location.Length == 0 || string.Equals(d.Location, location, StringComparison.OrdinalIgnoreCase))
            .Select(d => new DirectoryDevice(d.DeviceId, d.DeviceType, d.Location, d.Registration.Metadata.Manufacturer,
                new Dictionary<string, string>(d.Registration.Endpoints, StringComparer.Ordinal), d.IsLive))];
    }
}

/// <summary>The device directory of an engine.</summary>
public static class DeviceDirectoryExtensions
{
    /// <summary>The engine's registered devices, read-only (empty while the engine has no running registry).</summary>
    public static IDeviceDirectory DeviceDirectory(this AliciaEngine engine) => new RegistryDeviceDirectory(engine);
}
