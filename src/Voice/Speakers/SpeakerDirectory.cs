using Alicia.Voice.Speech.Output;

namespace Alicia.Voice.Speakers;

/// <summary>A speaker that can say a reply, and the room it is in (the registry's location name).</summary>
internal sealed record RoomSpeaker(string Room, string Name, IReplyOutput Output);

/// <summary>
/// The speakers by room: a reply with no satellite connection goes to the best speaker of its room (the first one
/// that answers: configured ones in configuration order, then registered ones); an announcement goes to every speaker
/// of its room, or of every room.
/// </summary>
internal sealed class SpeakerDirectory(IReadOnlyList<RoomSpeaker> speakers, RegisteredSpeakers? registered = null)
{
    public IReadOnlyList<RoomSpeaker> All => [.. In("")];

    public IReplyOutput? BestIn(string room) => In(room).FirstOrDefault(s => s.Output.IsAvailable)?.Output;

    /// <summary>Every speaker of <paramref name="room"/>; empty room: every speaker everywhere.</summary>
    public IEnumerable<RoomSpeaker> In(string room)
    {
        IEnumerable<RoomSpeaker> configured = room.Length == 0 ? speakers : speakers.Where(s => SameRoom(s.Room, room));
        return registered is null ? configured : configured.Concat(registered.In(room));
    }

    private static bool SameRoom(string a, string b) => string.Equals(a, b, StringComparison.OrdinalIgnoreCase);
}
