namespace Alicia.Voice.Speech;

/// <summary>Cuts text into sentences (at . ! ? followed by white space), so each can be spoken as soon as it is ready.</summary>
internal static class SentenceSplitter
{
    public static IEnumerable<string> Split(string text)
    {
        int start = 0;
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] is not ('.' or '!' or '?')) continue;
            if (i + 1 < text.Length && !char.IsWhiteSpace(text[i + 1])) continue;
            string sentence = text[start..(i + 1)].Trim();
            if (sentence.Length > 0) yield return sentence;
            start = i + 1;
        }
        string rest = text[start..].Trim();
        if (rest.Length > 0) yield return rest;
    }
}
