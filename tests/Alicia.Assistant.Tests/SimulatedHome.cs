using Alicia.Contracts.Messages;
using Alicia.Tools.Simulation;

namespace Alicia.Assistant.Tests;

/// <summary>One device of the test home (IntentSet/home.tsv): a simulated device, or a satellite (a room's microphone).</summary>
internal sealed record HomeEntry(string Id, string Kind, string Room)
{
    public bool IsSatellite => Kind == "Satellite";
    public SimulatedKind SimulatedKind => Enum.Parse<SimulatedKind>(Kind);

    public DeviceRegistration Registration => IsSatellite ? Satellite(Id, Room) : SimulatedDevice.Describe(Id, SimulatedKind, Room);

    /// <summary>A voice satellite as it registers: a microphone in a room.</summary>
    public static DeviceRegistration Satellite(string id, string room) => new()
    {
        DeviceId = id,
        DeviceType = "controller",
        Capabilities = new DeviceCapabilities { Capabilities = [new Capability { Name = "audio_capture", Version = "1.0" }] },
        Metadata = new DeviceMetadata { Manufacturer = "Espressif", Model = "ESP32-S3-BOX", Location = room, Version = "1.0.0-sim" },
    };
}

/// <summary>The test home, read from the repository's data (IntentSet/home.tsv).</summary>
internal static class SimulatedHome
{
    public static IReadOnlyList<HomeEntry> Entries { get; } = [.. File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "IntentSet", "home.tsv"))
        .Where(l => l.Length > 0 && !l.StartsWith('#'))
        .Select(l => l.Split('\t'))
        .Select(f => new HomeEntry(f[0], f[1], f[2]))];

    public static IEnumerable<HomeEntry> Devices => Entries.Where(e => !e.IsSatellite);

    public static string SatelliteOf(string room) => Entries.First(e => e.IsSatellite && e.Room == room).Id;

    public static string Spoken(string room) => room.Replace('_', ' ');

    public static string[] Lights(string room) => [.. Devices.Where(d => d.Room == room && d.Kind == "Bulb").Select(d => d.Id)];

    public static string[] Rooms => [.. Entries.Select(e => e.Room).Distinct()];
}
