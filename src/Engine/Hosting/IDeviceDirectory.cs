namespace Alicia.Engine.Hosting;

/// <summary>One registered device as capabilities see it: who, what, where, and how to reach it.</summary>
/// <param name="Endpoints">Its named endpoints (topics or URLs) from its registration.</param>
/// <param name="IsLive">Online and not suspected dead.</param>
public sealed record DirectoryDevice(string DeviceId, string DeviceType, string Location, string Manufacturer,
    IReadOnlyDictionary<string, string> Endpoints, bool IsLive);

/// <summary>
/// A read-only look into the device registry for capabilities outside the engine (voice finds speakers by room).
/// Each call reads the registry as it is now; empty while no registry runs.
/// </summary>
public interface IDeviceDirectory
{
    /// <summary>Devices registered with <paramref name="capability"/> in <paramref name="location"/> (any case; empty: every location).</summary>
    IReadOnlyList<DirectoryDevice> Find(string capability, string location);
}
