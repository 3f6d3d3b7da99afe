using System.Text;

namespace Alicia.Contracts.Serialization;

/// <summary>
/// Interns short strings decoded from UTF-8 (device names, topics, units, metadata keys), so a bus that
/// hears the same names over and over decodes them without allocating. Fixed capacity with eviction:
/// a string is kept in one of two slots chosen by its hash, a new one displaces the older of the two,
/// and what is displaced is simply decoded again (allocating) the next time it is heard.
/// </summary>
public sealed class Utf8StringCache
{
    internal static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    // Evicting rather than first-come-forever: no sender, however many distinct strings it sends, can fill the
    // cache for good and leave the names the bus really hears uncached (the engine also interns verified traffic only).
    private readonly Entry?[] _slots;
    private readonly int _maxLength;

    private sealed class Entry(byte[] utf8, string value, int hash)
    {
        public readonly byte[] Utf8 = utf8;
        public readonly string Value = value;
        public readonly int Hash = hash;
    }

    public Utf8StringCache(int capacity = 4096, int maxLength = 128)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 2);
        _slots = new Entry?[NextPowerOfTwo(capacity)];
        _maxLength = maxLength;
    }

    /// <summary>The most strings the cache holds.</summary>
    public int Capacity => _slots.Length;

    /// <summary>The strings the cache holds now (counted by walking it: for diagnostics and tests, not the hot path).</summary>
    public int Count
    {
        get
        {
            int n = 0;
            for (int i = 0; i < _slots.Length; i++)
            {
                if (Volatile.Read(ref _slots[i]) is not null) n++;
            }
            return n;
        }
    }

    public string GetOrAdd(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length == 0) return string.Empty;
        if (utf8.Length > _maxLength) return Strict.GetString(utf8);
        var hasher = new HashCode();
        hasher.AddBytes(utf8);
        int hash = hasher.ToHashCode();
        int first = hash & (_slots.Length - 1) & ~1;
        Entry? newer = Volatile.Read(ref _slots[first]);
        if (newer is not null && newer.Hash == hash && utf8.SequenceEqual(newer.Utf8)) return newer.Value;
        Entry? older = Volatile.Read(ref _slots[first + 1]);
        if (older is not null && older.Hash == hash && utf8.SequenceEqual(older.Utf8)) return older.Value;

        string value = Strict.GetString(utf8);
        // Entries are immutable and written whole: a racing reader sees an old entry, a new one, or a miss, never a torn one.
        if (newer is not null) Volatile.Write(ref _slots[first + 1], newer);
        Volatile.Write(ref _slots[first], new Entry(utf8.ToArray(), value, hash));
        return value;
    }

    private static int NextPowerOfTwo(int n)
    {
        int p = 16;
        while (p < n) p <<= 1;
        return p;
    }
}
