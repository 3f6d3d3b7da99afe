using System.Collections.Concurrent;

namespace Alicia.Voice.Speech.Output;

/// <summary>
/// The audio connections that asked for reply audio (a <c>listen</c> frame), by voice session and by satellite: a reply
/// for a session, or for a satellite, is spoken on that satellite's own connection while it is open.
/// </summary>
internal sealed class SatelliteConnections
{
    private readonly ConcurrentDictionary<string, IReplyOutput> _bySession = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, IReplyOutput> _byDevice = new(StringComparer.Ordinal);

    public IDisposable Register(string sessionId, string deviceId, IReplyOutput output)
    {
        _bySession[sessionId] = output;
        if (deviceId.Length > 0) _byDevice[deviceId] = output;
        return new Registration(this, sessionId, deviceId, output);
    }

    /// <summary>The open connection for the session, else the satellite's newest open one (null: none).</summary>
    public IReplyOutput? Find(string sessionId, string deviceId)
    {
        if (sessionId.Length > 0 && _bySession.TryGetValue(sessionId, out IReplyOutput? s) && s.IsAvailable) return s;
        if (deviceId.Length > 0 && _byDevice.TryGetValue(deviceId, out IReplyOutput? d) && d.IsAvailable) return d;
        return null;
    }

    private sealed class Registration(SatelliteConnections owner, string sessionId, string deviceId, IReplyOutput output) : IDisposable
    {
        public void Dispose()
        {
            owner._bySession.TryRemove(new KeyValuePair<string, IReplyOutput>(sessionId, output));
            if (deviceId.Length > 0) owner._byDevice.TryRemove(new KeyValuePair<string, IReplyOutput>(deviceId, output));
        }
    }
}
