using Alicia.Engine.Registry;

namespace Alicia.Assistant.Intents;

/// <summary>One registered device as the intent engine sees it: its room, the words that name it, what it can do.</summary>
internal sealed record HomeDevice(DeviceRecord Record, string Room, HashSet<string> NameTokens, HashSet<string> Capabilities, string DisplayName, string ShortName)
{
    public string Id => Record.DeviceId;
}

/// <summary>
/// The live registry as words: each device's name tokens (its id without its room's words, plus configured names),
/// and every room's phrases (the grammar's synonyms and the registry's locations, <c>living_room</c> as "living room").
/// Rebuilt only when the registry's index changes (a new immutable snapshot).
/// </summary>
internal sealed class HomeModel
{
    public required HomeDevice[] Devices { get; init; }

    /// <summary>Room phrases, longest first: (words, room id).</summary>
    public required (string[] Words, string Room)[] RoomPhrases { get; init; }

    public static string SpokenRoom(string room) => room.Replace('_', ' ').Replace('-', ' ');

    public static HomeModel Build(IReadOnlyList<DeviceRecord> records, Grammar grammar, IReadOnlyDictionary<string, string>? names)
    {
        var phrases = new List<(string[] Words, string Room)>();
        foreach ((string phrase, string room) in grammar.Rooms) phrases.Add((phrase.Split(' ', StringSplitOptions.RemoveEmptyEntries), room));
        foreach (string location in records.Select(r => r.Location).Where(l => l.Length > 0).Distinct(StringComparer.Ordinal))
        {
            phrases.Add((SpokenRoom(location).Split(' ', StringSplitOptions.RemoveEmptyEntries), location));
            if (location.Contains('_') || location.Contains('-')) phrases.Add(([location], location));
        }
        (string[] Words, string Room)[] ordered = [.. phrases.OrderByDescending(p => p.Words.Length)];

        var devices = new List<HomeDevice>(records.Count);
        foreach (DeviceRecord record in records)
        {
            string room = record.Location;
            string[] roomWords = SpokenRoom(room).Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var nameTokens = new HashSet<string>(StringComparer.Ordinal);
            string[] idWords = record.DeviceId.ToLowerInvariant().Split(['-', '_', '.', ' '], StringSplitOptions.RemoveEmptyEntries);
            foreach (string w in idWords)
                if (!roomWords.Contains(w) && !w.All(char.IsAsciiDigit)) nameTokens.Add(w);
            string shortName = string.Join(' ', idWords.Where(w => nameTokens.Contains(w)));
            string? alias = null;
            if (names is not null && names.TryGetValue(record.DeviceId, out string? configured))
            {
                foreach (string n in configured.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                {
                    alias ??= n;
                    foreach (string w in n.ToLowerInvariant().Split(' ', StringSplitOptions.RemoveEmptyEntries)) nameTokens.Add(w);
                }
            }
            var capabilities = new HashSet<string>(record.CapabilityNames, StringComparer.Ordinal);
            string noun = grammar.Nouns.FirstOrDefault(n => capabilities.Contains(n.Capability))?.Singular ?? "device";
            if (alias is not null) shortName = alias;
            if (shortName.Length == 0) shortName = noun;
            string display = alias ?? (room.Length > 0 ? SpokenRoom(room) + " " + shortName : shortName);
            devices.Add(new HomeDevice(record, room, nameTokens, capabilities, display, shortName));
        }
        return new HomeModel { Devices = [.. devices], RoomPhrases = ordered };
    }
}
