namespace Alicia.Engine.Security;

/// <summary>
/// Remembers message ids for a window so that a message delivered twice is refused the second time. The ids are
/// spread over independent stripes by hash (each a <see cref="ReplayRing"/> with its own lock), so verifiers on
/// several cores record ids without waiting on one lock; one stripe behaves exactly as a single ring. Each stripe
/// sizes itself to the traffic it sees (see <see cref="ReplayRing"/>), within its share of the cap.
/// </summary>
internal sealed class ReplayFilter
{
    /// <summary>Where every filter starts (about 24 KB with the set, over all stripes), and the least it shrinks to.</summary>
    internal const int InitialCapacity = 1024;

    private readonly ReplayRing[] _stripes;
    private readonly int _mask;

    public ReplayFilter(TimeSpan window, int capacity = 1 << 18, TimeProvider? clock = null, int stripes = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(capacity, 0);
        if (stripes < 1 || (stripes & (stripes - 1)) != 0) throw new ArgumentOutOfRangeException(nameof(stripes), stripes, "a power of two");
        stripes = Math.Min(stripes, Math.Max(1, capacity / 64)); // a tiny cap is not worth splitting
        stripes = 1 << (31 - int.LeadingZeroCount(stripes));
        _mask = stripes - 1;
        _stripes = new ReplayRing[stripes];
        for (int i = 0; i < stripes; i++)
            _stripes[i] = new ReplayRing(window, Math.Max(1, capacity / stripes), Math.Max(1, InitialCapacity / stripes), clock ?? TimeProvider.System);
    }

    /// <summary>Stripes for a verifier shared by the cores of this machine: two per core (fewer collisions), at most 16.</summary>
    internal static int StripesFor(int processors) => (int)Math.Min(16, System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(1, processors * 2)));

    internal int Stripes => _stripes.Length;

    public int Count
    {
        get { int n = 0; foreach (ReplayRing r in _stripes) n += r.Count; return n; }
    }

    /// <summary>How many ids the rings hold before they grow (or, at the cap, forget their oldest early).</summary>
    internal int Capacity
    {
        get { int n = 0; foreach (ReplayRing r in _stripes) n += r.Capacity; return n; }
    }

    private ReplayRing Of(Guid id) => _stripes[id.GetHashCode() & _mask];

    /// <summary>True when <paramref name="id"/> was seen inside the window (a cheap refusal before any signature is checked).</summary>
    public bool Contains(Guid id) => Of(id).Contains(id);

    /// <summary>Records <paramref name="id"/>; false when it was already seen inside the window.</summary>
    public bool TryRecord(Guid id) => Of(id).TryRecord(id);
}

/// <summary>
/// One stripe of a <see cref="ReplayFilter"/>.
/// A ring of (id, expiry) in arrival order plus a set for lookup. Sized to the traffic it sees: it starts
/// at its initial capacity, doubles when the ring is full of unexpired ids (up to the cap),
/// and halves once expiry has left it three-quarters empty, so a verifier that sees little traffic holds a
/// few kilobytes, not the cap's megabytes. At a steady rate the size settles and checks allocate nothing.
/// At the cap the oldest id is forgotten early; the timestamp skew check still refuses anything older
/// than the skew, so size the cap to the window's peak traffic.
/// </summary>
internal sealed class ReplayRing
{
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

    public ReplayRing(TimeSpan window, int capacity, int initialCapacity, TimeProvider clock)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(capacity, 0);
        _clock = clock;
        _windowTicks = (long)(window.TotalSeconds * _clock.TimestampFrequency);
        _maxCapacity = capacity;
        _minCapacity = Math.Min(capacity, initialCapacity);
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
