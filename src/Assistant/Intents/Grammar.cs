using System.Text.Json;
using System.Text.Json.Serialization;

namespace Alicia.Assistant.Intents;

/// <summary>
/// A language's grammar as data (<c>Grammar/{language}.json</c>, embedded; or a file named in the settings): the words
/// the normaliser drops or rewrites, numbers as words, rooms and device nouns, the intents' patterns and every reply
/// sentence. Another language is another file, not code.
/// </summary>
internal sealed class Grammar
{
    public string Language { get; set; } = "en";
    public Dictionary<string, string> Contractions { get; set; } = [];
    public List<string> Fillers { get; set; } = [];
    public List<string> Articles { get; set; } = [];
    public List<string> Connectors { get; set; } = [];
    public List<string> AllWords { get; set; } = [];
    public Dictionary<string, int> NumberWords { get; set; } = [];
    public Dictionary<string, int> NumberMultipliers { get; set; } = [];
    public List<string> NumberJoiners { get; set; } = [];
    public Dictionary<string, string> Symbols { get; set; } = [];
    public Dictionary<string, string> Rooms { get; set; } = [];
    public List<GrammarNoun> Nouns { get; set; } = [];
    public Dictionary<string, int> ColourTemperatures { get; set; } = [];
    public Dictionary<string, int> DurationUnits { get; set; } = [];
    public List<GrammarIntent> Intents { get; set; } = [];
    public Dictionary<string, string> Replies { get; set; } = [];

    /// <summary>A reply sentence with its <c>{placeholders}</c> filled.</summary>
    public string Reply(string key, params (string Name, string Value)[] values)
    {
        string text = Replies.TryGetValue(key, out string? template) ? template : key;
        foreach ((string name, string value) in values) text = text.Replace("{" + name + "}", value, StringComparison.Ordinal);
        return text;
    }

    public GrammarNoun? NounOf(string capability) => Nouns.Find(n => n.Capability == capability);

    /// <summary>The embedded grammar of <paramref name="language"/>, or the file at <paramref name="path"/> when given.</summary>
    public static Grammar Load(string language, string? path = null)
    {
        if (!string.IsNullOrWhiteSpace(path))
        {
            using FileStream file = File.OpenRead(path);
            return Parse(file, path);
        }
        string name = $"Alicia.Assistant.Grammar.{language}.json";
        using Stream stream = typeof(Grammar).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"no grammar for language '{language}' (embedded: {string.Join(", ", Languages())}); set Assistant:GrammarPath to a grammar file");
        return Parse(stream, name);
    }

    /// <summary>The languages with an embedded grammar.</summary>
    public static IEnumerable<string> Languages() => typeof(Grammar).Assembly.GetManifestResourceNames()
        .Where(n => n.StartsWith("Alicia.Assistant.Grammar.", StringComparison.Ordinal))
        .Select(n => n["Alicia.Assistant.Grammar.".Length..^".json".Length]);

    private static Grammar Parse(Stream stream, string name)
    {
        try
        {
            return JsonSerializer.Deserialize(stream, GrammarJson.Default.Grammar) ?? throw new InvalidDataException($"{name} is empty");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{name} is not a valid grammar: {e.Message}", e);
        }
    }
}

internal sealed class GrammarNoun
{
    public string Capability { get; set; } = "";
    public string Singular { get; set; } = "";
    public string Plural { get; set; } = "";
    public List<string> Words { get; set; } = [];
}

internal sealed class GrammarIntent
{
    public string Name { get; set; } = "";

    /// <summary>The capabilities a target of this intent may have (empty: the intent has no device target).</summary>
    public List<string> Capabilities { get; set; } = [];

    /// <summary>Slots every match of this entry carries (a fixed level, the sensor asked about).</summary>
    public Dictionary<string, string> Slots { get; set; } = [];

    /// <summary>Word patterns with <c>{target}</c>, <c>{number}</c>, <c>{colour}</c> and <c>{duration}</c> slots, tried in order.</summary>
    public List<string> Patterns { get; set; } = [];
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true)]
[JsonSerializable(typeof(Grammar))]
internal sealed partial class GrammarJson : JsonSerializerContext;
