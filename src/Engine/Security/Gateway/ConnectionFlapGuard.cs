namespace Alicia.Engine.Security.Gateway;

/// <summary>
/// Bans what connects too often in a short window, keyed so that nobody can get someone else banned:
/// an authenticated identity by its own unclean connects (a crash loop, two clients fighting over one
/// id: a connect whose session then ends with a clean DISCONNECT is forgiven, so one-shot publishers
/// are never flapping), and refused or anonymous attempts by their source address, never by the client
/// id they claim. An address ban refuses unauthenticated attempts only; valid credentials still get in.
/// </summary>
internal sealed class ConnectionFlapGuard(GatewayOptions options, TimeProvider clock)
{
    private readonly Dictionary<string, Window> _windows = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    private sealed class Window
    {
        public readonly Queue<long> Events = new();
        public long BannedUntil;
    }

    /// <summary>Records an authenticated identity's connect; false (with the remaining ban) when it is banned.</summary>
    public bool TryConnect(string identity, out TimeSpan bannedFor) => Record("id:" + identity, out bannedFor);

    /// <summary>The identity's session ended with a clean DISCONNECT: its connect was not a flap.</summary>
    public void Forgive(string identity)
    {
        lock (_lock)
        {
            if (_windows.TryGetValue("id:" + identity, out Window? w) && w.Events.Count > 0)
            {
                // The newest connect is the one that ended cleanly; older ones keep counting.
                long[] rest = [.. w.Events];
                w.Events.Clear();
                for (int i = 0; i < rest.Length - 1; i++) w.Events.Enqueue(rest[i]);
            }
        }
    }

    /// <summary>Records a refused or anonymous attempt from an address; false when the address is banned.</summary>
    public bool TryUnauthenticated(string address, out TimeSpan bannedFor) => Record("addr:" + address, out bannedFor);

    /// <summary>Bans <paramref name="key"/> (<c>id:{identity}</c> or <c>addr:{address}</c>) for the ban duration now.</summary>
    public void Ban(string key)
    {
        long now = clock.GetTimestamp();
        lock (_lock)
        {
            if (!_windows.TryGetValue(key, out Window? w))
            {
                if (_windows.Count > 100_000) _windows.Clear();
                _windows[key] = w = new Window();
            }
            w.Events.Clear();
            w.BannedUntil = now + (long)(options.BanDuration.TotalSeconds * clock.TimestampFrequency);
        }
    }

    /// <summary>Whether unauthenticated attempts from the address are banned now (without counting one).</summary>
    public bool IsBanned(string address, out TimeSpan bannedFor)
    {
        long now = clock.GetTimestamp();
        lock (_lock)
        {
            if (_windows.TryGetValue("addr:" + address, out Window? w) && now < w.BannedUntil)
            {
                bannedFor = clock.GetElapsedTime(now, w.BannedUntil);
                return true;
            }
        }
        bannedFor = TimeSpan.Zero;
        return false;
    }

    private bool Record(string key, out TimeSpan bannedFor)
    {
        long now = clock.GetTimestamp();
        long window = (long)(options.FlapWindow.TotalSeconds * clock.TimestampFrequency);
        bannedFor = TimeSpan.Zero;
        lock (_lock)
        {
            if (!_windows.TryGetValue(key, out Window? w))
            {
                if (_windows.Count > 100_000) _windows.Clear(); // bounded memory under a storm of ids and addresses
                _windows[key] = w = new Window();
            }
            if (now < w.BannedUntil)
            {
                bannedFor = clock.GetElapsedTime(now, w.BannedUntil);
                return false;
            }
            while (w.Events.Count > 0 && now - w.Events.Peek() > window) w.Events.Dequeue();
            w.Events.Enqueue(now);
            if (w.Events.Count > options.FlapConnects)
            {
                w.Events.Clear();
                w.BannedUntil = now + (long)(options.BanDuration.TotalSeconds * clock.TimestampFrequency);
                bannedFor = options.BanDuration;
                return false;
            }
            return true;
        }
    }
}
