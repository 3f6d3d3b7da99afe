using System.Text;

namespace Alicia.Assistant.Replies;

/// <summary>
/// Cuts streamed text into sentences as it arrives (at <c>.</c>, <c>!</c>, <c>?</c> or a line break followed by space),
/// so speech output can start on the first sentence while the rest is still coming. Decimal points ("21.5") do not cut.
/// </summary>
internal sealed class SentenceSplitter
{
    private readonly StringBuilder _pending = new();

    /// <summary>Adds streamed text; returns the sentences it completed.</summary>
    public List<string> Append(string text)
    {
        _pending.Append(text);
        var sentences = new List<string>();
        int start = 0;
        for (int i = 0; i < _pending.Length - 1; i++)
        {
            char c = _pending[i];
            bool end = c is '.' or '!' or '?' or '\n';
            if (!end || !char.IsWhiteSpace(_pending[i + 1])) continue;
            string sentence = _pending.ToString(start, i + 1 - start).Trim();
            if (sentence.Length > 0) sentences.Add(sentence);
            start = i + 1;
        }
        _pending.Remove(0, start);
        return sentences;
    }

    /// <summary>The text left when the stream ended.</summary>
    public string Flush()
    {
        string rest = _pending.ToString().Trim();
        _pending.Clear();
        return rest;
    }
}
