using Alicia.Contracts;

namespace VoiceHost;

/// <summary>A satellite asks the host what it offers for voice (a request/response pair of our own).</summary>
[AliciaMessage("alicia/samples/voice-host/status/request", Kind = MessageKind.Request)]
public sealed partial class VoiceStatusRequest
{
    public string Satellite { get; set; } = "";
}

[AliciaMessage("alicia/samples/voice-host/status/response", Kind = MessageKind.Response)]
public sealed partial class VoiceStatus
{
    /// <summary>Where the voice service listens for audio streams (<c>host:port</c>).</summary>
    public string AudioEndpoint { get; set; } = "";

    /// <summary>Speech-to-text engines in preference order (empty: VAD segments only).</summary>
    public List<string> SttEngines { get; set; } = [];

    public int ActiveSessions { get; set; }
}
