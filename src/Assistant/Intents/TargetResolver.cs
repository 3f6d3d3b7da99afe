namespace Alicia.Assistant.Intents;

/// <summary>What a target phrase came to: devices, or a reply that says why not (a question or a clear answer).</summary>
internal sealed record TargetResolution(HomeDevice[] Devices, string Room, bool All, bool Specific, string Capability, string? ReplyKey, (string, string)[] ReplyValues, bool Question)
{
    public bool Resolved => ReplyKey is null;
}

/// <summary>
/// Resolves "the kitchen light", "all the lights in the kitchen", "the lamp" against the home: the room named (else the
/// satellite's), a device noun, and the words that name a device. Among matching devices the ones named by more of the
/// words win ("lamp" picks the lamp, not every light); a tie is a question ("which light, the ceiling or the lamp?"),
/// devices in several rooms with none in the satellite's a question about the room, words that name nothing a clear answer.
/// </summary>
internal sealed class TargetResolver(Grammar grammar)
{
    private readonly HashSet<string> _connectors = [.. grammar.Connectors];
    private readonly HashSet<string> _allWords = [.. grammar.AllWords];
    private readonly HashSet<string> _genericNouns = [.. grammar.Nouns.SelectMany(n => new[] { n.Singular, n.Plural })];

    public TargetResolution Resolve(HomeModel home, string[] target, IReadOnlyList<string> allowedCapabilities, string defaultRoom, bool wantAll = false)
    {
        bool all = wantAll || target.Any(_allWords.Contains);
        var words = target.Where(w => !_connectors.Contains(w)).ToList();
        string? room = TakeRoom(home, words);

        // A device noun narrows the capability; a plural one means all of them.
        string? nounCapability = null;
        foreach (string w in words)
        {
            GrammarNoun? noun = grammar.Nouns.Find(n => n.Words.Contains(w) && (allowedCapabilities.Count == 0 || allowedCapabilities.Contains(n.Capability)));
            if (noun is null) continue;
            nounCapability ??= noun.Capability;
            if (w == noun.Plural || (w.EndsWith('s') && noun.Words.Contains(w[..^1]))) all = true;
        }
        string capabilityForReply = nounCapability ?? allowedCapabilities.FirstOrDefault() ?? "";
        string nounWord = NounFor(capabilityForReply, all);

        var matches = new List<(HomeDevice Device, int Score)>();
        foreach (HomeDevice d in home.Devices)
        {
            if (allowedCapabilities.Count > 0 && !allowedCapabilities.Any(d.Capabilities.Contains)) continue;
            if (nounCapability is not null && !d.Capabilities.Contains(nounCapability)) continue;
            int score = 0;
            bool ok = true;
            foreach (string w in words)
            {
                if (d.NameTokens.Contains(w) || (w.EndsWith('s') && d.NameTokens.Contains(w[..^1])))
                {
                    // "light" names kitchen-light no better than any light; "lamp" or "ceiling" do single one out.
                    if (!_genericNouns.Contains(w)) score++;
                }
                else if (!IsNounOf(w, d)) { ok = false; break; }
            }
            if (ok) matches.Add((d, score));
        }
        string said = string.Join(' ', words);
        if (matches.Count == 0)
        {
            if (words.Count > 0 && nounCapability is null)
                return Fail("unknown_device", false, ("name", said));
            if (room is not null) return Fail("none_in_room", false, ("noun", nounWord), ("room", HomeModel.SpokenRoom(room)));
            return words.Count == 0 ? Fail("which_target", true) : Fail("unknown_device", false, ("name", said));
        }

        List<(HomeDevice Device, int Score)> scoped;
        if (room is not null)
        {
            scoped = matches.FindAll(m => m.Device.Room == room);
            if (scoped.Count == 0) return Fail("none_in_room", false, ("noun", nounWord), ("room", HomeModel.SpokenRoom(room)));
        }
        else
        {
            scoped = matches.FindAll(m => m.Device.Room == defaultRoom);
            if (scoped.Count == 0 || (defaultRoom.Length == 0))
            {
                // Nothing here: a device named well enough is found wherever it is; otherwise ask which room.
                int best = matches.Max(m => m.Score);
                List<(HomeDevice Device, int Score)> named = best > 0 ? matches.FindAll(m => m.Score == best) : matches;
                string[] rooms = [.. named.Select(m => m.Device.Room).Distinct(StringComparer.Ordinal)];
                if (rooms.Length > 1)
                    return Fail("which_room", true, ("options", Options(rooms.Select(r => "the " + HomeModel.SpokenRoom(r)))));
                scoped = named;
            }
            room = scoped[0].Device.Room;
        }

        int top = scoped.Max(m => m.Score);
        HomeDevice[] chosen = all ? [.. scoped.Select(m => m.Device)] : [.. scoped.Where(m => m.Score == top).Select(m => m.Device)];
        if (!all && chosen.Length > 1)
            return Fail("which_device", true, ("noun", NounFor(capabilityForReply, false)), ("options", Options(chosen.Select(d => "the " + d.ShortName))));
        return new TargetResolution(chosen, room, all, top > 0, nounCapability ?? chosen[0].Capabilities.First(c => allowedCapabilities.Count == 0 || allowedCapabilities.Contains(c)), null, [], false);

        TargetResolution Fail(string key, bool question, params (string, string)[] values) =>
            new([], room ?? defaultRoom, all, false, capabilityForReply, key, values, question);
    }

    private bool IsNounOf(string word, HomeDevice device) =>
        grammar.Nouns.Any(n => n.Words.Contains(word) && device.Capabilities.Contains(n.Capability));

    private string NounFor(string capability, bool plural) =>
        grammar.NounOf(capability) is { } n ? (plural ? n.Plural : n.Singular) : capability.Replace('_', ' ');

    private string Options(IEnumerable<string> options)
    {
        string[] list = [.. options];
        return list.Length <= 1 ? string.Join("", list) : string.Join(", ", list[..^1]) + " " + grammar.Reply("or") + " " + list[^1];
    }

    /// <summary>Takes the longest room phrase out of <paramref name="words"/>.</summary>
    private static string? TakeRoom(HomeModel home, List<string> words)
    {
        foreach ((string[] phrase, string room) in home.RoomPhrases)
        {
            for (int i = 0; i + phrase.Length <= words.Count; i++)
            {
                if (!phrase.AsSpan().SequenceEqual(words.GetRange(i, phrase.Length).ToArray())) continue;
                words.RemoveRange(i, phrase.Length);
                return room;
            }
        }
        return null;
    }
}
