namespace Alicia.Contracts;

/// <summary>
/// The message types of one assembly, bound to their topics: what the generator emits for every assembly
/// that declares <see cref="AliciaMessageAttribute"/> types (<c>{RootNamespace}.AliciaMessageSet.Instance</c>).
/// Sets compose as MessagePack composes resolvers: the bus dispatches Alicia's own types and an embedder's
/// side by side (<see cref="Combine"/>).
/// </summary>
public abstract class MessageSet
{
    /// <summary>Alicia's own message types (the topic tree of <c>alicia/...</c>).</summary>
    public static MessageSet Alicia => AliciaMessageSet.Instance;

    /// <summary>Matches the topic to a message type of this set and calls <c>visitor.Visit&lt;T&gt;</c>; false when none matches.</summary>
    public abstract bool TryDispatch<TVisitor>(ReadOnlySpan<byte> topic, ReadOnlySpan<byte> payload, ref TVisitor visitor)
        where TVisitor : IMessageVisitor;

    /// <summary>The message types' names, patterns and MQTT filters.</summary>
    public abstract IReadOnlyList<(string Name, string Pattern, string Filter)> Topics { get; }

    /// <summary>
    /// Alicia's types first, then each given set in order (the first that matches a topic wins, so an
    /// embedder's type cannot take over an Alicia topic). Duplicates are ignored.
    /// </summary>
    public static MessageSet Combine(IEnumerable<MessageSet> sets)
    {
        var all = new List<MessageSet> { Alicia };
        foreach (MessageSet set in sets)
        {
            if (set is CompositeMessageSet composite)
            {
                foreach (MessageSet inner in composite.Sets) if (!all.Contains(inner)) all.Add(inner);
            }
            else if (!all.Contains(set)) all.Add(set);
        }
        return all.Count == 1 ? Alicia : new CompositeMessageSet([.. all]);
    }

    private sealed class CompositeMessageSet(MessageSet[] sets) : MessageSet
    {
        public MessageSet[] Sets { get; } = sets;

        public override IReadOnlyList<(string Name, string Pattern, string Filter)> Topics { get; } = [.. sets.SelectMany(s => s.Topics)];

        public override bool TryDispatch<TVisitor>(ReadOnlySpan<byte> topic, ReadOnlySpan<byte> payload, ref TVisitor visitor)
        {
            foreach (MessageSet set in Sets)
            {
                if (set.TryDispatch(topic, payload, ref visitor)) return true;
            }
            return false;
        }
    }
}
