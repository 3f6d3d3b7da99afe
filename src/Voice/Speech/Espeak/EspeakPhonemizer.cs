using System.Text;

namespace Alicia.Voice.Speech.Espeak;

/// <summary>
/// Text to IPA phonemes as Piper's phonemizer makes them, one string per sentence. Debian's espeak-ng 1.51 lacks
/// <c>espeak_TextToPhonemesWithTerminator</c>, so <c>espeak_TextToPhonemes</c> drops the clause punctuation that Piper
/// voices were trained with: the text is cut into clauses here and each clause's punctuation put back after its phonemes.
/// Per call it allocates only what it returns (the list and one string per sentence): clauses are spans of the text,
/// phonemes are decoded into a builder kept per thread.
/// </summary>
internal static class EspeakPhonemizer
{
    /// <summary>Punctuation that ends a clause when followed by white space or the end (as espeak-ng's clause rules).</summary>
    private const string ClausePunctuation = ".,;:!?";

    private const string SentenceEnds = ".!?";

    /// <summary>Longer builders are dropped after use rather than kept by the thread.</summary>
    private const int KeptCapacity = 4096;

    [ThreadStatic]
    private static StringBuilder? t_sentence;

    public static List<string> Phonemize(string text, string voice)
    {
        var sentences = new List<string>();
        StringBuilder sentence = t_sentence ?? new StringBuilder(256);
        t_sentence = null; // taken: a nested call on this thread gets its own
        sentence.Clear();
        int start = 0;
        while (NextClause(text, ref start, out ReadOnlySpan<char> clause, out char punctuation))
        {
            int mark = sentence.Length;
            if (mark > 0) sentence.Append(' ');
            int before = sentence.Length;
            EspeakLibrary.AppendPhonemes(clause, voice, sentence);
            if (sentence.Length == before && punctuation == '\0')
            {
                sentence.Length = mark; // nothing to say and nothing to put back: as if the clause were absent
                continue;
            }
            if (punctuation != '\0') sentence.Append(punctuation);
            if (SentenceEnds.Contains(punctuation) && sentence.Length > 0)
            {
                sentences.Add(Trimmed(sentence));
                sentence.Clear();
            }
        }
        if (sentence.Length > 0) sentences.Add(Trimmed(sentence));
        if (sentence.Capacity <= KeptCapacity) t_sentence = sentence;
        return sentences;
    }

    /// <summary>The clauses of <paramref name="text"/> with the punctuation that ended each ('\0' for none).</summary>
    internal static IEnumerable<(string Clause, char Punctuation)> Clauses(string text)
    {
        var clauses = new List<(string, char)>();
        int start = 0;
        while (NextClause(text, ref start, out ReadOnlySpan<char> clause, out char punctuation)) clauses.Add((clause.ToString(), punctuation));
        return clauses;
    }

    /// <summary>
    /// The next non-empty clause of <paramref name="text"/> from <paramref name="start"/> (trimmed, without its
    /// punctuation) and the punctuation that ended it ('\0' for none); false when none is left.
    /// </summary>
    internal static bool NextClause(ReadOnlySpan<char> text, ref int start, out ReadOnlySpan<char> clause, out char punctuation)
    {
        for (int i = start; i < text.Length; i++)
        {
            char c = text[i];
            if (!ClausePunctuation.Contains(c)) continue;
            if (i + 1 < text.Length && !char.IsWhiteSpace(text[i + 1])) continue; // 3.5, e.g., a.m.
            // Repeated marks ("Really?!", "wait...") end one clause: the last one stands for them.
            clause = text[start..i].TrimEnd(ClausePunctuation).Trim();
            start = i + 1;
            if (clause.Length == 0) continue;
            punctuation = c;
            return true;
        }
        clause = start < text.Length ? text[start..].Trim() : default;
        start = text.Length;
        punctuation = '\0';
        return clause.Length > 0;
    }

    /// <summary>The builder's text without leading and trailing white space (as <see cref="string.Trim()"/>), in one string.</summary>
    private static string Trimmed(StringBuilder text)
    {
        int first = 0, end = text.Length;
        while (first < end && char.IsWhiteSpace(text[first])) first++;
        while (end > first && char.IsWhiteSpace(text[end - 1])) end--;
        return text.ToString(first, end - first);
    }
}
