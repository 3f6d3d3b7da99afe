namespace Alicia.Engine.Security;

/// <summary>
/// Remembers message ids for a window so that a message delivered twice is refused the second time.
/// A ring of (id, expiry) in arrival order plus a set for lookup: both are sized once, so steady-state
/// checks allocate nothing. When the ring is full the oldest id is forgotten early; the timestamp skew
/// check still refuses anything older than the skew, so size the capacity to the window's traffic.
/// </summary>
internal sealed class ReplayFilter
{
    private readonly HashSet<Guid> _seen;
    private readonly Guid[] _ids;
    private readonly long[] _expiries;
    private readonly long _windowTicks;
    private readonly TimeProvider _clock;
    private readonly Lock _lock = new();
    private int _head;
    private int _count;

    public ReplayFilter(TimeSpan window, int capacity = 1 << 18, TimeProvider? clock = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(capacity, 0);
        _clock = clock ?? TimeProvider.System;
        _windowTicks = (long)(window.TotalSeconds * _clock.TimestampFrequency);
        _seen = new HashSet<Guid>(capacity);
        _ids = new Guid[capacity];
        _expiries = new long[capacity];
    }

    public int Count
    {
        get { lock (_lock) return _count; }
    }

    /// <summary>True when <paramref name="id"/> was seen inside the window (a cheap refusal before any signature is checked).</summary>
    public bool Contains(Guid id)
    {
        long now = _clock.GetTimestamp();
        lock (_lock)
        {
            EvictExpired(now);
            return _seen.Contains(id);
        }
    }

    /// <summary>Records <paramref name="id"/>; false when it was already seen inside the window.</summary>
    public bool TryRecord(Guid id)
    {
        long now = _clock.GetTimestamp();
        lock (_lock)
        {
            EvictExpired(now);
            if (_seen.Contains(id)) return false;
            if (_count == _ids.Length) EvictOldest();
            int tail = (_head + _count) % _ids.Length;
            _ids[tail] = id;
            _expiries[tail] = now + _windowTicks;
            _count++;
            _seen.Add(id);
            return true;
        }
    }

    private void EvictExpired(long now)
    {
        while (_count > 0 && _expiries[_head] <= now) EvictOldest();
    }

    private void EvictOldest()
    {
        _seen.Remove(_ids[_head]);
        _head = (_head + 1) % _ids.Length;
        _count--;
    }
}
