namespace Alicia.Engine.Security;

/// <summary>
/// Remembers message ids for a window so that a message delivered twice is refused the second time.
/// A ring of (id, expiry) in arrival order plus a set for lookup. Sized to the traffic it sees: it starts
/// at <see cref="InitialCapacity"/> ids, doubles when the ring is full of unexpired ids (up to the cap),
/// and halves once expiry has left it three-quarters empty, so a verifier that sees little traffic holds a
/// few kilobytes, not the cap's megabytes. At a steady rate the size settles and checks allocate nothing.
/// At the cap the oldest id is forgotten early; the timestamp skew check still refuses anything older
/// than the skew, so size the cap to the window's peak traffic.
/// </summary>
internal sealed class ReplayFilter
{
    /// <summary>Where every filter starts (about 24 KB with the set), and the least it shrinks to.</summary>
    internal const int InitialCapacity = 1024;

    private HashSet<Guid> _seen;
    private Guid[] _ids;
    private long[] _expiries;
    private readonly int _maxCapacity;
    private readonly int _minCapacity;
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
        _maxCapacity = capacity;
        _minCapacity = Math.Min(capacity, InitialCapacity);
        _seen = new HashSet<Guid>(_minCapacity);
        _ids = new Guid[_minCapacity];
        _expiries = new long[_minCapacity];
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

    /// <summary>How many ids the ring holds before it grows (or, at the cap, forgets the oldest early).</summary>
    internal int Capacity
    {
        get { lock (_lock) return _ids.Length; }
    }

    /// <summary>Records <paramref name="id"/>; false when it was already seen inside the window.</summary>
    public bool TryRecord(Guid id)
    {
        long now = _clock.GetTimestamp();
        lock (_lock)
        {
            EvictExpired(now);
            if (_seen.Contains(id)) return false;
            if (_count == _ids.Length)
            {
                if (_ids.Length < _maxCapacity) Resize(Math.Min(_maxCapacity, _ids.Length * 2));
                else EvictOldest();
            }
            else if (_count <= _ids.Length / 4 && _ids.Length > _minCapacity)
            {
                // Hysteresis: grow when full, shrink at a quarter, so a steady rate never flips between sizes.
                Resize(Math.Max(_minCapacity, _ids.Length / 2));
            }
            int tail = (_head + _count) % _ids.Length;
            _ids[tail] = id;
            _expiries[tail] = now + _windowTicks;
            _count++;
            _seen.Add(id);
            return true;
        }
    }

    private void Resize(int capacity)
    {
        var ids = new Guid[capacity];
        var expiries = new long[capacity];
        for (int i = 0; i < _count; i++)
        {
            int from = (_head + i) % _ids.Length;
            ids[i] = _ids[from];
            expiries[i] = _expiries[from];
        }
        if (capacity < _ids.Length)
        {
            // The set keeps its largest size otherwise; a fresh one at the new size gives the memory back.
            var seen = new HashSet<Guid>(capacity);
            for (int i = 0; i < _count; i++) seen.Add(ids[i]);
            _seen = seen;
        }
        _ids = ids;
        _expiries = expiries;
        _head = 0;
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
