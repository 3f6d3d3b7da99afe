using System.Globalization;
using System.Text;

namespace Alicia.Voice.Speech.Piper;

/// <summary>
/// Phonemes to a Piper voice's input ids, as piper-phonemize maps them: <c>^</c>, the pad <c>_</c>, then each phoneme
/// (a codepoint of the NFD-normalised IPA) followed by the pad, then <c>$</c>. Phonemes the voice lacks are skipped.
/// </summary>
internal static class PiperPhonemeIds
{
    public static long[] Map(string phonemes, IReadOnlyDictionary<string, long[]> map)
    {
        long[] pad = map["_"];
        var ids = new List<long>(phonemes.Length * 2 + 4);
        ids.AddRange(map["^"]);
        ids.AddRange(pad);
        foreach (Rune rune in IpaDecomposition.Decompose(phonemes).EnumerateRunes())
        {
            if (!map.TryGetValue(rune.ToString(), out long[]? id)) continue;
            ids.AddRange(id);
            ids.AddRange(pad);
        }
        ids.AddRange(map["$"]);
        return [.. ids];
    }

    /// <summary>For messages: the phonemes a voice cannot say.</summary>
    public static string Missing(string phonemes, IReadOnlyDictionary<string, long[]> map) =>
        string.Join(" ", IpaDecomposition.Decompose(phonemes).EnumerateRunes().Select(r => r.ToString()).Where(r => !map.ContainsKey(r)).Distinct()
            .Select(r => string.Create(CultureInfo.InvariantCulture, $"U+{char.ConvertToUtf32(r, 0):X4}")));
}
