using Alicia.Contracts;

namespace Alicia.Engine.Bus;

/// <summary>A verified message as a handler sees it.</summary>
public readonly record struct BusMessage<T>(string Topic, Envelope<T> Envelope, string? ResponseTopic, byte[]? CorrelationData)
{
    public T Data => Envelope.Data;
    public string Source => Envelope.Source;
    public Guid MessageId => Envelope.MessageId;

    /// <summary>It came as JSON (signed, or countersigned by the gateway): replies to it go back as JSON.</summary>
    internal bool ArrivedAsJson { get; init; }

    /// <summary>The embedded broker's gateway verified it at the door (its mark), so this client did not verify it again.</summary>
    internal bool VerifiedAtGateway { get; init; }
}

/// <summary>How a message is published.</summary>
public sealed record PublishOptions
{
    public static readonly PublishOptions Default = new();

    /// <summary>The topic; defaults to the message type's topic when its pattern has no placeholders.</summary>
    public string? Topic { get; init; }

    public string Destination { get; init; } = EnvelopeHeader.Broadcast;

    /// <summary>Defaults to the message type's kind.</summary>
    public MessageKind? Kind { get; init; }

    public bool Retain { get; init; }

    /// <summary>QoS 1 by default: the bus does not lose acknowledged messages.</summary>
    public QualityOfService QualityOfService { get; init; } = QualityOfService.AtLeastOnce;

    /// <summary>JSON (<c>application/json</c>) instead of MessagePack, for debugging and constrained peers.</summary>
    public bool Json { get; init; }

    public IReadOnlyDictionary<string, string>? Metadata { get; init; }

    /// <summary>Seal the payload end to end for this recipient (its X25519 key must be known).</summary>
    public string? EncryptFor { get; init; }
}

/// <summary>How a subscription receives.</summary>
public sealed record SubscribeOptions
{
    public static readonly SubscribeOptions Default = new();

    /// <summary>The MQTT filter; defaults to the message type's filter.</summary>
    public string? Filter { get; init; }

    /// <summary>Share the subscription's messages with the other members of this group (one gets each message).</summary>
    public string? ShareGroup { get; init; }

    /// <summary>Also receive messages addressed to others (monitors, bridges); by default only broadcasts and messages to this client.</summary>
    public bool ReceiveAll { get; init; }
}
