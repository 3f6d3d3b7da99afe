namespace Alicia.Assistant.Llm;

/// <summary>One remembered turn: who spoke (<c>user</c> or <c>assistant</c>) and what was said.</summary>
internal readonly record struct Remembered(string Role, string Text);

/// <summary>
/// A short conversation memory per room (or per session when the room is unknown), so "and the bedroom too?" follows
/// "turn on the kitchen light". Bounded twice: the last <c>turns</c> messages of a conversation, and at most
/// <c>conversations</c> conversations (the least recently used goes first).
/// </summary>
internal sealed class ConversationMemory(int turns, int conversations, TimeProvider clock, TimeSpan forgetAfter)
{
    private readonly Dictionary<string, (List<Remembered> Messages, DateTimeOffset LastUsed)> _conversations = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    public static string KeyOf(string room, string sessionId) => room.Length > 0 ? "room:" + room : "session:" + sessionId;

    public IReadOnlyList<Remembered> Recall(string key)
    {
        lock (_lock)
        {
            if (!_conversations.TryGetValue(key, out var c)) return [];
            if (clock.GetUtcNow() - c.LastUsed > forgetAfter)
            {
                _conversations.Remove(key);
                return [];
            }
            return [.. c.Messages];
        }
    }

    public void Remember(string key, string userText, string assistantText)
    {
        lock (_lock)
        {
            if (!_conversations.TryGetValue(key, out var c))
            {
                if (_conversations.Count >= conversations)
                    _conversations.Remove(_conversations.MinBy(kv => kv.Value.LastUsed).Key);
                c = ([], clock.GetUtcNow());
            }
            c.Messages.Add(new Remembered("user", userText));
            if (assistantText.Length > 0) c.Messages.Add(new Remembered("assistant", assistantText));
            if (c.Messages.Count > turns) c.Messages.RemoveRange(0, c.Messages.Count - turns);
            _conversations[key] = (c.Messages, clock.GetUtcNow());
        }
    }

    public int Count
    {
        get { lock (_lock) return _conversations.Count; }
    }
}
