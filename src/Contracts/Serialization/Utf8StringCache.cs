using System.Text;

namespace Alicia.Contracts.Serialization;

/// <summary>
/// Interns short strings decoded from UTF-8 (device names, topics, units, metadata keys), so a bus that
/// hears the same names over and over decodes them without allocating. Bounded: past its capacity it
/// simply stops caching and allocates like any decoder would.
/// </summary>
public sealed class Utf8StringCache(int capacity = 4096, int maxLength = 128)
{
    internal static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly Entry[] _buckets = new Entry[NextPowerOfTwo(capacity * 2)];
    private readonly Lock _lock = new();
    private int _count;

    private sealed class Entry(byte[] utf8, string value, int hash, Entry? next)
    {
        public readonly byte[] Utf8 = utf8;
        public readonly string Value = value;
        public readonly int Hash = hash;
        public readonly Entry? Next = next;
    }

    public int Count => Volatile.Read(ref _count);

    public string GetOrAdd(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length == 0) return string.Empty;
        if (utf8.Length > maxLength) return Strict.GetString(utf8);
        var hasher = new HashCode();
        hasher.AddBytes(utf8);
        int hash = hasher.ToHashCode();
        int index = hash & (_buckets.Length - 1);
        for (Entry? e = Volatile.Read(ref _buckets[index]); e is not null; e = e.Next)
        {
            if (e.Hash == hash && utf8.SequenceEqual(e.Utf8)) return e.Value;
        }
        string value = Strict.GetString(utf8);
        if (Volatile.Read(ref _count) >= capacity) return value;
        lock (_lock)
        {
            // Prepend: readers walking the old chain still see a consistent list.
            _buckets[index] = new Entry(utf8.ToArray(), value, hash, _buckets[index]);
            _count++;
        }
        return value;
    }

    private static int NextPowerOfTwo(int n)
    {
        int p = 16;
        while (p < n) p <<= 1;
        return p;
    }
}
