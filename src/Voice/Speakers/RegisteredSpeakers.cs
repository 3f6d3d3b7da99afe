using System.Collections.Concurrent;
using Alicia.Engine.Hosting;
using Alicia.Voice.Speech.Output;

namespace Alicia.Voice.Speakers;

/// <summary>
/// Speakers from the device registry: a device registered with the <c>audio_playback</c> capability, its room as its
/// location, and an endpoint named <c>sonos</c> (or <c>upnp</c>) holding its base address (<c>http://host:1400/</c>).
/// Read from the registry on each lookup, so a speaker registered later is used at once; one output per device and
/// address, kept, so its state (what it played, its volume before ducking) survives between replies.
/// </summary>
internal sealed class RegisteredSpeakers(IDeviceDirectory directory, Func<Uri, IReplyOutput> create)
{
    public const string Capability = "audio_playback";
    private static readonly string[] EndpointNames = ["sonos", "upnp"];
    private readonly ConcurrentDictionary<(string Device, Uri Address), IReplyOutput> _outputs = new();

    /// <summary>The registered speakers of <paramref name="room"/> (empty: of every room), live ones only.</summary>
    public IEnumerable<RoomSpeaker> In(string room)
    {
        foreach (DirectoryDevice device in directory.Find(Capability, room))
        {
            if (!device.IsLive || AddressOf(device) is not { } address) continue;
            yield return new RoomSpeaker(device.Location, device.DeviceId, _outputs.GetOrAdd((device.DeviceId, address), key => create(key.Address)));
        }
    }

    private static Uri? AddressOf(DirectoryDevice device)
    {
        foreach (string name in EndpointNames)
            if (device.Endpoints.TryGetValue(name, out string? value) && Uri.TryCreate(value, UriKind.Absolute, out Uri? uri) && uri.Scheme == Uri.UriSchemeHttp)
                return uri;
        return null;
    }
}
