namespace Alicia.Assistant.Replies;

/// <summary>One thing to act on, from a transcript or a text request: who asked, where, in which language, and when it arrived.</summary>
internal sealed record RouteRequest(string SessionId, string DeviceId, string Room, string Language, string Text, long ArrivedAt)
{
    /// <summary>Timings the request brought along (the voice session's per-stage timings).</summary>
    public Dictionary<string, double> Timings { get; init; } = [];

    /// <summary>Who the device commands are on behalf of (the satellite, or the session).</summary>
    public string RequestedBy => DeviceId.Length > 0 ? DeviceId : "session:" + SessionId;
}
