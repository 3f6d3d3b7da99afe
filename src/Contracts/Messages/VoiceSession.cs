namespace Alicia.Contracts.Messages;

/// <summary>What a voice session is for: device commands are served first when speech-to-text is saturated.</summary>
public enum VoiceSessionKind
{
    Command,
    Dictation,
}

/// <summary>
/// A satellite asks to stream audio. Control stays on the bus; the audio goes over the dedicated stream
/// that the response names (length-prefixed PCM frames over TCP, or the same frames in binary WebSocket
/// messages for browsers), authorised by a one-time token.
/// </summary>
[AliciaMessage("alicia/voice/session/request", Kind = MessageKind.Request)]
public sealed partial class VoiceSessionRequest
{
    /// <summary>The satellite the audio comes from.</summary>
    public string DeviceId { get; set; } = "";

    public VoiceSessionKind Kind { get; set; }

    public string Language { get; set; } = "en";

    /// <summary>The sample rate the satellite will send; converted to 16 kHz at the edge.</summary>
    public int SampleRate { get; set; } = 16000;

    /// <summary>1 or 2 (interleaved); stereo is mixed to mono at the edge.</summary>
    public int Channels { get; set; } = 1;

    /// <summary>A speech-to-text engine by name (e.g. <c>whisper:tiny.en</c>); empty lets the engine manager choose.</summary>
    public string SttEngine { get; set; } = "";

    /// <summary>Time allowed from the end of speech to the transcript, in ms (0: none): picks an engine expected to fit it.</summary>
    public int LatencyBudgetMs { get; set; }

    /// <summary>
    /// SHA-256 of a random secret only the requester knows (32 bytes; empty: none). The token issued for this request is
    /// then bound to the requester: the audio hello must carry the secret (<c>token.base64url(secret)</c>), so a token
    /// seen by anyone else is refused (and not used up). The request is signed, so nobody can change this commitment.
    /// </summary>
    public byte[] HelloProofHash { get; set; } = [];

    /// <summary>The satellite's room (its registry location; empty: unknown): media there is ducked while the session listens.</summary>
    public string Room { get; set; } = "";
}

/// <summary>
/// The engine's answer, on the requester's own topic (<c>alicia/voice/session/response/{requester}</c>, the requester being
/// the request's signed source): it carries a one-time audio token, so only the requester (and the engine) may read it, and
/// the token is valid only for a stream of that requester.
/// </summary>
[AliciaMessage("alicia/voice/session/response/{requester}", Kind = MessageKind.Response)]
public sealed partial class VoiceSessionResponse
{
    public bool Accepted { get; set; }

    /// <summary>Why the session was refused (when not accepted).</summary>
    public string Error { get; set; } = "";

    public string SessionId { get; set; } = "";

    /// <summary>Where to stream: <c>tcp://host:port</c>, or <c>tls://host:port</c> when the engine's audio port has TLS (its certificate is from the bus's CA).</summary>
    public string Endpoint { get; set; } = "";

    /// <summary>
    /// The same stream for browsers: <c>ws://host:port/voice</c> (<c>wss://</c> with TLS), one audio frame per binary message, same
    /// token. Empty from engines that predate it (readers that predate it skip the field).
    /// </summary>
    public string WebSocketEndpoint { get; set; } = "";

    /// <summary>One-time token: the first frame of the stream; valid once, until <see cref="TokenExpiresMs"/> passes.</summary>
    public string Token { get; set; } = "";

    public int TokenExpiresMs { get; set; }

    /// <summary>The most bytes one frame's payload may carry.</summary>
    public int MaxFrameBytes { get; set; }

    /// <summary>The speech-to-text engine chosen for the session (empty: none configured: segments only).</summary>
    public string SttEngine { get; set; } = "";

    /// <summary>True when no engine serving the language was expected to fit the latency budget (the quickest was chosen).</summary>
    public bool OverBudget { get; set; }
}

public enum VoiceSessionState
{
    Open,
    Streaming,
    Closed,
    Failed,
    Busy,
}

/// <summary>Life of a voice session: opened, streaming, closed, or failed with the reason (malformed frame, bad token ...).</summary>
[AliciaMessage("alicia/voice/session/status", Kind = MessageKind.Event)]
public sealed partial class VoiceSessionStatus
{
    public string SessionId { get; set; } = "";
    public string DeviceId { get; set; } = "";
    public VoiceSessionState State { get; set; }
    public string Reason { get; set; } = "";

    /// <summary>Audio received so far, in seconds of 16 kHz mono.</summary>
    public double AudioSeconds { get; set; }

    public int Utterances { get; set; }
}

public enum SpeechEdge
{
    Start,
    End,
}

/// <summary>The voice activity detector found speech start or end (times from the start of the session's audio).</summary>
[AliciaMessage("alicia/voice/vad/segment", Kind = MessageKind.Event)]
public sealed partial class SpeechSegment
{
    public string SessionId { get; set; } = "";

    /// <summary>0-based index of the utterance within the session.</summary>
    public int Index { get; set; }

    public SpeechEdge Edge { get; set; }

    public double StartSeconds { get; set; }

    /// <summary>Set on <see cref="SpeechEdge.End"/>.</summary>
    public double EndSeconds { get; set; }
}
