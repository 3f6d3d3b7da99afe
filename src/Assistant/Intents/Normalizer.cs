using System.Globalization;
using System.Text;

namespace Alicia.Assistant.Intents;

/// <summary>
/// Turns what was said into the tokens the patterns are written in: lower case, punctuation gone, contractions
/// expanded, fillers and articles dropped, symbols spelled out (<c>50%</c> → <c>50 percent</c>) and numbers said as
/// words made digits (<c>twenty five</c> → <c>25</c>).
/// </summary>
internal sealed class Normalizer
{
    private readonly Grammar _grammar;
    private readonly string[][] _fillers;
    private readonly HashSet<string> _articles;

    public Normalizer(Grammar grammar)
    {
        _grammar = grammar;
        // Longest first, so "could you" goes before a one-word filler inside it.
        _fillers = [.. grammar.Fillers.Select(f => f.Split(' ', StringSplitOptions.RemoveEmptyEntries)).OrderByDescending(f => f.Length)];
        _articles = [.. grammar.Articles];
    }

    public string[] Tokens(string text)
    {
        var words = new List<string>();
        foreach (string raw in Split(text.ToLowerInvariant()))
        {
            string word = raw;
            if (_grammar.Contractions.TryGetValue(word, out string? expanded))
            {
                words.AddRange(expanded.Split(' ', StringSplitOptions.RemoveEmptyEntries));
                continue;
            }
            if (word.EndsWith("'s", StringComparison.Ordinal)) word = word[..^2];
            word = word.Replace("'", "", StringComparison.Ordinal);
            // 50% and 2700k: the number and its symbol are two words.
            int digits = 0;
            while (digits < word.Length && (char.IsAsciiDigit(word[digits]) || (word[digits] == '.' && digits > 0))) digits++;
            if (digits > 0 && digits < word.Length && _grammar.Symbols.TryGetValue(word[digits..], out string? symbol))
            {
                words.Add(word[..digits].TrimEnd('.'));
                words.Add(symbol);
                continue;
            }
            if (_grammar.Symbols.TryGetValue(word, out symbol) && word.Length == 1 && !char.IsAsciiLetter(word[0])) word = symbol;
            word = word.Trim('.');
            if (word.Length > 0) words.Add(word);
        }
        List<string> kept = DropFillers(words);
        kept.RemoveAll(_articles.Contains);
        return [.. JoinNumbers(kept)];
    }

    /// <summary>Words and the symbols that carry meaning (<c>%</c>, <c>°c</c>); other punctuation separates.</summary>
    private static IEnumerable<string> Split(string text)
    {
        var word = new StringBuilder();
        foreach (char c in text)
        {
            if (char.IsLetterOrDigit(c) || c is '\'' or '%' or '°' or '.' || (c == '’'))
            {
                word.Append(c == '’' ? '\'' : c);
                continue;
            }
            if (word.Length > 0) { yield return word.ToString(); word.Clear(); }
        }
        if (word.Length > 0) yield return word.ToString();
    }

    private List<string> DropFillers(List<string> words)
    {
        var kept = new List<string>(words.Count);
        for (int i = 0; i < words.Count;)
        {
            string[]? filler = Array.Find(_fillers, f => i + f.Length <= words.Count && f.AsSpan().SequenceEqual(words.GetRange(i, f.Length).ToArray()));
            if (filler is not null)
            {
                i += filler.Length;
                continue;
            }
            kept.Add(words[i++]);
        }
        return kept;
    }

    /// <summary>Runs of number words ("one hundred and twenty five") become one number; "a hundred" works because articles are gone.</summary>
    private IEnumerable<string> JoinNumbers(List<string> words)
    {
        for (int i = 0; i < words.Count; i++)
        {
            if (!IsNumberWord(words[i]))
            {
                yield return words[i];
                continue;
            }
            long total = 0, current = 0;
            int j = i;
            while (j < words.Count)
            {
                string w = words[j];
                if (_grammar.NumberWords.TryGetValue(w, out int value)) current += value;
                else if (_grammar.NumberMultipliers.TryGetValue(w, out int multiplier))
                {
                    current = Math.Max(current, 1) * multiplier;
                    if (multiplier >= 1000) { total += current; current = 0; }
                }
                else if (_grammar.NumberJoiners.Contains(w) && j + 1 < words.Count && IsNumberWord(words[j + 1]) && j > i) { }
                else break;
                j++;
            }
            yield return (total + current).ToString(CultureInfo.InvariantCulture);
            i = j - 1;
        }
    }

    // "no" is zero only inside a number ("one hundred and no"... rare): alone it stays a word.
    private bool IsNumberWord(string w) => (_grammar.NumberWords.ContainsKey(w) && w != "no") || _grammar.NumberMultipliers.ContainsKey(w);
}
