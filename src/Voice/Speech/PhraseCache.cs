namespace Alicia.Voice.Speech;

/// <summary>
/// The audio of fixed phrases ("Done.", "The kitchen light is on."), keyed by voice, text and settings, least recently
/// used out first: a confirmation costs a lookup instead of a synthesis.
/// </summary>
internal sealed class PhraseCache(int capacity)
{
    private readonly Dictionary<Key, LinkedListNode<(Key Key, CachedPhrase Phrase)>> _entries = [];
    private readonly LinkedList<(Key Key, CachedPhrase Phrase)> _recency = new();
    private readonly Lock _gate = new();

    public int Count
    {
        get { lock (_gate) return _entries.Count; }
    }

    public long Hits => Interlocked.Read(ref _hits);

    private long _hits;

    public bool TryGet(string voice, string text, SpeechSettings settings, out CachedPhrase phrase)
    {
        lock (_gate)
        {
            if (_entries.TryGetValue(new Key(voice, text, settings), out LinkedListNode<(Key, CachedPhrase)>? node))
            {
                _recency.Remove(node);
                _recency.AddFirst(node);
                phrase = node.Value.Item2;
                Interlocked.Increment(ref _hits);
                return true;
            }
        }
        phrase = default;
        return false;
    }

    public void Add(string voice, string text, SpeechSettings settings, CachedPhrase phrase)
    {
        if (capacity <= 0) return;
        var key = new Key(voice, text, settings);
        lock (_gate)
        {
            if (_entries.TryGetValue(key, out LinkedListNode<(Key, CachedPhrase)>? old)) _recency.Remove(old);
            _entries[key] = _recency.AddFirst((key, phrase));
            while (_entries.Count > capacity)
            {
                LinkedListNode<(Key Key, CachedPhrase Phrase)> last = _recency.Last!;
                _recency.RemoveLast();
                _entries.Remove(last.Value.Key);
            }
        }
    }

    private readonly record struct Key(string Voice, string Text, SpeechSettings Settings);
}

/// <summary>A phrase's whole audio.</summary>
internal readonly record struct CachedPhrase(SpeechFormat Format, byte[] Pcm);
