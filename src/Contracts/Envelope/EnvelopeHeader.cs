namespace Alicia.Contracts;

/// <summary>The routing fields of an envelope.</summary>
/// <param name="MessageId">A UUID, unique per message: the replay filter keys on it.</param>
/// <param name="Timestamp">When the sender created the message (UTC).</param>
/// <param name="Source">The sending service or device; its key signs the message.</param>
/// <param name="Destination">A service or device name, or <see cref="Broadcast"/>.</param>
/// <param name="Kind">request, response, event or command.</param>
public readonly record struct EnvelopeHeader(Guid MessageId, DateTimeOffset Timestamp, string Source, string Destination, MessageKind Kind)
{
    public const string Broadcast = "broadcast";

    public static EnvelopeHeader Create(string source, string destination, MessageKind kind, TimeProvider? clock = null) =>
        new(Guid.CreateVersion7(), (clock ?? TimeProvider.System).GetUtcNow(), source, destination, kind);
}
