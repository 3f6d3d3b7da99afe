using System.Globalization;

namespace Alicia.Assistant.Intents;

/// <summary>What the patterns found in an utterance: the intent entry and its slots.</summary>
internal sealed record IntentMatch(GrammarIntent Intent, string Pattern, string[] Target, double? Number, int? Kelvin, int? DurationSeconds)
{
    public string Name => Intent.Name;
}

/// <summary>
/// Matches normalised tokens against the grammar's intent patterns, in order; a pattern matches the whole utterance.
/// Slots: <c>{target}</c> (one or more words, resolved against the registry later), <c>{number}</c>, <c>{colour}</c>
/// (a named colour temperature) and <c>{duration}</c> (an optional number and a unit).
/// </summary>
internal sealed class PatternMatcher
{
    private readonly Grammar _grammar;
    private readonly List<(GrammarIntent Intent, string Text, string[] Parts)> _patterns = [];
    private readonly string[][] _colours;

    public PatternMatcher(Grammar grammar)
    {
        _grammar = grammar;
        foreach (GrammarIntent intent in grammar.Intents)
            foreach (string pattern in intent.Patterns)
                _patterns.Add((intent, pattern, pattern.Split(' ', StringSplitOptions.RemoveEmptyEntries)));
        _colours = [.. grammar.ColourTemperatures.Keys.Select(k => k.Split(' ')).OrderByDescending(k => k.Length)];
    }

    public IntentMatch? Match(string[] tokens)
    {
        if (tokens.Length == 0) return null;
        // One Slots for every pattern tried: a slot is written only once its whole pattern has matched, so a failed
        // pattern leaves it empty (a new one per pattern was most of an utterance's allocations).
        var slots = new Slots();
        foreach ((GrammarIntent intent, string text, string[] parts) in _patterns)
        {
            if (Match(parts, 0, tokens, 0, slots))
                return new IntentMatch(intent, text, slots.Target ?? [], slots.Number, slots.Kelvin, slots.Duration);
        }
        return null;
    }

    private sealed class Slots
    {
        public string[]? Target;
        public double? Number;
        public int? Kelvin;
        public int? Duration;
    }

    private bool Match(string[] parts, int p, string[] tokens, int t, Slots slots)
    {
        if (p == parts.Length) return t == tokens.Length;
        string part = parts[p];
        switch (part)
        {
            case "{target}":
                // Shortest first: literals after the slot ("turn {target} off") anchor it.
                for (int end = t + 1; end <= tokens.Length; end++)
                {
                    if (Match(parts, p + 1, tokens, end, slots))
                    {
                        slots.Target = tokens[t..end];
                        return true;
                    }
                }
                return false;
            case "{number}":
                if (t >= tokens.Length || !double.TryParse(tokens[t], NumberStyles.Float, CultureInfo.InvariantCulture, out double number)) return false;
                if (!Match(parts, p + 1, tokens, t + 1, slots)) return false;
                slots.Number = number;
                return true;
            case "{colour}":
                foreach (string[] colour in _colours)
                {
                    if (t + colour.Length > tokens.Length || !colour.AsSpan().SequenceEqual(tokens.AsSpan(t, colour.Length))) continue;
                    if (!Match(parts, p + 1, tokens, t + colour.Length, slots)) continue;
                    slots.Kelvin = _grammar.ColourTemperatures[string.Join(' ', colour)];
                    return true;
                }
                return false;
            case "{duration}":
            {
                // [number] unit, repeated: "1 hour 30 minutes".
                int end = t, seconds = 0;
                bool any = false;
                while (end < tokens.Length)
                {
                    double count = 1;
                    int next = end;
                    if (double.TryParse(tokens[next], NumberStyles.Float, CultureInfo.InvariantCulture, out double n)) { count = n; next++; }
                    if (next >= tokens.Length || !_grammar.DurationUnits.TryGetValue(tokens[next], out int unit)) break;
                    seconds += (int)Math.Round(count * unit);
                    end = next + 1;
                    any = true;
                    if (end < tokens.Length && _grammar.NumberJoiners.Contains(tokens[end])) end++;
                }
                if (!any || !Match(parts, p + 1, tokens, end, slots)) return false;
                slots.Duration = seconds;
                return true;
            }
            default:
                return t < tokens.Length && tokens[t] == part && Match(parts, p + 1, tokens, t + 1, slots);
        }
    }
}
