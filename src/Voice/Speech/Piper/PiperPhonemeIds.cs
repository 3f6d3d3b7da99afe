using System.Globalization;
using System.Text;

namespace Alicia.Voice.Speech.Piper;

/// <summary>
/// Phonemes to a Piper voice's input ids, as piper-phonemize maps them: <c>^</c>, the pad <c>_</c>, then each phoneme
/// (a codepoint of the NFD-normalised IPA) followed by the pad, then <c>$</c>. Phonemes the voice lacks are skipped.
/// </summary>
internal static class PiperPhonemeIds
{
    /// <summary>The ids as a new array of their exact length.</summary>
    public static long[] Map(string phonemes, IReadOnlyDictionary<string, long[]> map)
    {
        long[] buffer = new long[phonemes.Length * 2 + 4];
        int count = Map(phonemes, map, ref buffer);
        return count == buffer.Length ? buffer : buffer[..count];
    }

    /// <summary>
    /// The ids written into <paramref name="buffer"/> from its start, the count returned; a buffer too small is replaced
    /// by a larger one. Allocates nothing once the caller's buffer is big enough: the NFD decomposition is walked in place
    /// and each codepoint looked up as a span, not a string.
    /// </summary>
    public static int Map(ReadOnlySpan<char> phonemes, IReadOnlyDictionary<string, long[]> map, ref long[] buffer)
    {
        long[] pad = map["_"];
        var ids = new IdWriter(buffer);
        var lookup = new CodepointLookup(map);
        ids.Append(map["^"]);
        ids.Append(pad);
        while (!phonemes.IsEmpty)
        {
            Rune.DecodeFromUtf16(phonemes, out Rune rune, out int consumed); // an unpaired surrogate is U+FFFD, as EnumerateRunes gives it
            phonemes = phonemes[consumed..];
            if (rune.IsBmp && IpaDecomposition.TryDecompose((char)rune.Value, out string? parts))
            {
                foreach (char part in parts) Append(ref ids, lookup.Find(new Rune(part)), pad);
            }
            else Append(ref ids, lookup.Find(rune), pad);
        }
        ids.Append(map["$"]);
        buffer = ids.Buffer;
        return ids.Count;

        static void Append(ref IdWriter ids, long[]? id, long[] pad)
        {
            if (id is null) return;
            ids.Append(id);
            ids.Append(pad);
        }
    }

    /// <summary>For messages: the phonemes a voice cannot say.</summary>
    public static string Missing(string phonemes, IReadOnlyDictionary<string, long[]> map) =>
        string.Join(" ", IpaDecomposition.Decompose(phonemes).EnumerateRunes().Select(r => r.ToString()).Where(r => !map.ContainsKey(r)).Distinct()
            .Select(r => string.Create(CultureInfo.InvariantCulture, $"U+{char.ConvertToUtf32(r, 0):X4}")));

    /// <summary>A codepoint's ids, looked up by its UTF-16 as a span when the map is a string dictionary (no string per codepoint).</summary>
    private readonly ref struct CodepointLookup
    {
        private readonly IReadOnlyDictionary<string, long[]> _map;
        private readonly Dictionary<string, long[]>.AlternateLookup<ReadOnlySpan<char>> _bySpan;
        private readonly bool _hasSpanLookup;

        public CodepointLookup(IReadOnlyDictionary<string, long[]> map)
        {
            _map = map;
            _hasSpanLookup = map is Dictionary<string, long[]> d && d.TryGetAlternateLookup(out _bySpan);
        }

        public long[]? Find(Rune rune)
        {
            if (!_hasSpanLookup) return _map.TryGetValue(rune.ToString(), out long[]? slow) ? slow : null;
            Span<char> utf16 = stackalloc char[2];
            return _bySpan.TryGetValue(utf16[..rune.EncodeToUtf16(utf16)], out long[]? id) ? id : null;
        }
    }

    /// <summary>Appends ids to a buffer, doubling it when full.</summary>
    private ref struct IdWriter(long[] buffer)
    {
        public long[] Buffer = buffer;
        public int Count;

        public void Append(long[] ids)
        {
            if (Count + ids.Length > Buffer.Length) Array.Resize(ref Buffer, Math.Max(Buffer.Length * 2, Count + ids.Length));
            ids.CopyTo(Buffer.AsSpan(Count));
            Count += ids.Length;
        }
    }
}
