namespace Alicia.Engine.Security.Gateway;

/// <summary>Bans a client id that connects too often in a short window (a crash loop or an attack).</summary>
internal sealed class ConnectionFlapGuard(GatewayOptions options, TimeProvider clock)
{
    private readonly Dictionary<string, (Queue<long> Connects, long BannedUntil)> _clients = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    /// <summary>Records a connect attempt; false (with the remaining ban) when the client is banned.</summary>
    public bool TryConnect(string clientId, out TimeSpan bannedFor)
    {
        long now = clock.GetTimestamp();
        long window = (long)(options.FlapWindow.TotalSeconds * clock.TimestampFrequency);
        bannedFor = TimeSpan.Zero;
        lock (_lock)
        {
            if (!_clients.TryGetValue(clientId, out var state))
            {
                if (_clients.Count > 100_000) _clients.Clear(); // bounded memory under a storm of ids
                state = (new Queue<long>(), 0);
            }
            if (now < state.BannedUntil)
            {
                bannedFor = clock.GetElapsedTime(now, state.BannedUntil);
                return false;
            }
            while (state.Connects.Count > 0 && now - state.Connects.Peek() > window) state.Connects.Dequeue();
            state.Connects.Enqueue(now);
            if (state.Connects.Count > options.FlapConnects)
            {
                state.Connects.Clear();
                state.BannedUntil = now + (long)(options.BanDuration.TotalSeconds * clock.TimestampFrequency);
                _clients[clientId] = state;
                bannedFor = options.BanDuration;
                return false;
            }
            _clients[clientId] = state;
            return true;
        }
    }
}
