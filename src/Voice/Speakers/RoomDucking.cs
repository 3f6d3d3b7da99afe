using Microsoft.Extensions.Logging;

namespace Alicia.Voice.Speakers;

/// <summary>A speaker that plays media of its own (radio, music) whose volume can be lowered while someone speaks to Alicia.</summary>
internal interface IDucksMedia
{
    Task DuckAsync(int volume);

    Task RestoreDuckAsync();
}

/// <summary>
/// Ducking by room: while at least one voice session of a room is open, its media speakers play at most
/// <c>duckVolume</c>; when the last one closes, each gets its own volume back. A session's room is the one its request
/// names, else its satellite's location in the registry (<paramref name="locationOf"/>); a session from nowhere known
/// ducks nothing (a voice from an unknown place does not turn down the whole house). Calls are not awaited by the
/// session (a slow speaker must not hold the audio path); each speaker orders its own duck and restore.
/// </summary>
internal sealed class RoomDucking(SpeakerDirectory speakers, int duckVolume, ILogger logger, Func<string, string?>? locationOf = null)
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _sessionRooms = new(StringComparer.Ordinal);

    private readonly Dictionary<string, int> _listening = new(StringComparer.OrdinalIgnoreCase);
    private readonly Lock _lock = new();

    /// <summary>The last duck or restore started (tests wait on it).</summary>
    public Task Last { get; private set; } = Task.CompletedTask;

    /// <summary>A session opens: ducks its room (see the class); returns that room (empty: none).</summary>
    public string BeginSession(string sessionId, string room, string deviceId)
    {
        string resolved = room.Length > 0 ? room : deviceId.Length > 0 ? locationOf?.Invoke(deviceId) ?? "" : "";
        if (resolved.Length == 0 || !_sessionRooms.TryAdd(sessionId, resolved)) return "";
        Begin(resolved);
        return resolved;
    }

    /// <summary>A session closes: its room gets its volume back once no other session listens there.</summary>
    public void EndSession(string sessionId)
    {
        if (_sessionRooms.TryRemove(sessionId, out string? room)) End(room);
    }

    public void Begin(string room)
    {
        if (room.Length == 0 || duckVolume >= 100) return;
        lock (_lock)
        {
            _listening[room] = _listening.GetValueOrDefault(room) + 1;
            if (_listening[room] == 1) Last = Task.WhenAll(Media(room).Select(m => m.DuckAsync(duckVolume)));
        }
        logger.LogDebug("Voice: a session listens in {Room}: media ducked to {Volume}", room, duckVolume);
    }

    public void End(string room)
    {
        if (room.Length == 0 || duckVolume >= 100) return;
        lock (_lock)
        {
            if (!_listening.TryGetValue(room, out int count)) return;
            if (count > 1) { _listening[room] = count - 1; return; }
            _listening.Remove(room);
            Last = Task.WhenAll(Media(room).Select(m => m.RestoreDuckAsync()));
        }
    }

    private IEnumerable<IDucksMedia> Media(string room) => speakers.In(room).Select(s => s.Output).OfType<IDucksMedia>();
}
