namespace Alicia.Voice.Speech.Espeak;

/// <summary>
/// Text to IPA phonemes as Piper's phonemizer makes them, one string per sentence. Debian's espeak-ng 1.51 lacks
/// <c>espeak_TextToPhonemesWithTerminator</c>, so <c>espeak_TextToPhonemes</c> drops the clause punctuation that Piper
/// voices were trained with: the text is cut into clauses here and each clause's punctuation put back after its phonemes.
/// </summary>
internal static class EspeakPhonemizer
{
    /// <summary>Punctuation that ends a clause when followed by white space or the end (as espeak-ng's clause rules).</summary>
    private const string ClausePunctuation = ".,;:!?";

    private const string SentenceEnds = ".!?";

    public static List<string> Phonemize(string text, string voice)
    {
        var sentences = new List<string>();
        var sentence = new System.Text.StringBuilder();
        foreach ((string clause, char punctuation) in Clauses(text))
        {
            string phonemes = EspeakLibrary.Phonemize(clause, voice);
            if (phonemes.Length == 0 && punctuation == '\0') continue;
            if (sentence.Length > 0) sentence.Append(' ');
            sentence.Append(phonemes);
            if (punctuation != '\0') sentence.Append(punctuation);
            if (SentenceEnds.Contains(punctuation) && sentence.Length > 0)
            {
                sentences.Add(sentence.ToString().Trim());
                sentence.Clear();
            }
        }
        if (sentence.Length > 0) sentences.Add(sentence.ToString().Trim());
        return sentences;
    }

    /// <summary>The clauses of <paramref name="text"/> with the punctuation that ended each ('\0' for none).</summary>
    internal static IEnumerable<(string Clause, char Punctuation)> Clauses(string text)
    {
        int start = 0;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (!ClausePunctuation.Contains(c)) continue;
            if (i + 1 < text.Length && !char.IsWhiteSpace(text[i + 1])) continue; // 3.5, e.g., a.m.
            // Repeated marks ("Really?!", "wait...") end one clause: the last one stands for them.
            string clause = text[start..i].TrimEnd(ClausePunctuation.ToCharArray()).Trim();
            if (clause.Length > 0) yield return (clause, c);
            start = i + 1;
        }
        string rest = text[start..].Trim();
        if (rest.Length > 0) yield return (rest, '\0');
    }
}
