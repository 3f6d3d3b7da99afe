namespace Alicia.Voice.Speech;

/// <summary>The speaking half's options (from <see cref="VoiceSettings"/>'s <c>Speech*</c> keys).</summary>
internal sealed record SpeechOptions
{
    /// <summary>Speak replies (<c>AiResponse</c>) and answer <c>TtsRequest</c>s.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>A Piper voice (<c>.onnx</c> with its <c>.onnx.json</c> beside it); null: espeak-ng alone.</summary>
    public string? PiperModelPath { get; init; }

    /// <summary>espeak-ng's voice for its own synthesis (and the fallback), e.g. <c>en-us</c>.</summary>
    public string EspeakVoice { get; init; } = "en-us";

    /// <summary>Reply audio goes out in chunks of this length: a stop is heard within one of them.</summary>
    public TimeSpan ChunkLength { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>How far ahead of real time a satellite may be sent audio (its jitter buffer); a stop is heard within this plus one chunk.</summary>
    public TimeSpan ReplyLead { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>How long a satellite's connection stays open after <c>done</c> for a reply to start.</summary>
    public TimeSpan ReplyWait { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Fixed phrases ("Done.") whose audio is kept, per voice and settings.</summary>
    public int PhraseCacheEntries { get; init; } = 64;

    /// <summary>Sonos players by room: (room, <c>http://address:1400/</c>).</summary>
    public IReadOnlyList<(string Room, Uri Address)> SonosSpeakers { get; init; } = [];

    /// <summary>Where the clip server for URL-playing speakers binds (a LAN address the speakers reach).</summary>
    public string ClipListenAddress { get; init; } = "127.0.0.1";

    /// <summary>The host name put in clip URLs (null: the listen address).</summary>
    public string? ClipAdvertisedHost { get; init; }

    /// <summary>Volume (1-100) for replies and announcements on speakers; 0 keeps each speaker's own.</summary>
    public int AnnounceVolume { get; init; }

    /// <summary>Media speakers of a room play at most this volume (0-100) while a voice session there listens; 100: no ducking.</summary>
    public int DuckVolume { get; init; } = 10;

    /// <summary>A reply whose next piece does not arrive within this is ended as it stands.</summary>
    public TimeSpan PieceTimeout { get; init; } = TimeSpan.FromSeconds(30);
}
