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
/// <c>duckVolume</c>; when the last one closes, each gets its own volume back. Calls are not awaited by the session
/// (a slow speaker must not hold the audio path); each speaker orders its own duck and restore.
/// </summary>
internal sealed class RoomDucking(SpeakerDirectory speakers, int duckVolume, ILogger logger)
{
    private readonly Dictionary<string, int> _listening = new(StringComparer.OrdinalIgnoreCase);
    private readonly Lock _lock = new();

    /// <summary>The last duck or restore started (tests wait on it).</summary>
    public Task Last { get; private set; } = Task.CompletedTask;

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
