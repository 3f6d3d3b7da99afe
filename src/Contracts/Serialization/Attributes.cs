namespace Alicia.Contracts;

/// <summary>
/// A wire type: the Alicia source generator emits its MessagePack and JSON reader and writer
/// (<see cref="IAliciaSerializable{TSelf}"/>). The type must be partial, have a parameterless
/// constructor, and expose its fields as public properties with a setter or init accessor.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Struct, Inherited = false)]
public sealed class AliciaContractAttribute : Attribute;

/// <summary>
/// A message bound to a topic pattern of the Alicia topic tree, e.g. <c>alicia/devices/{device_id}/status</c>.
/// Implies <see cref="AliciaContractAttribute"/>; the generator also emits the topic builder and parser,
/// adds the type to the topic table and to the dispatcher.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Struct, Inherited = false)]
public sealed class AliciaMessageAttribute(string topicPattern) : Attribute
{
    public string TopicPattern { get; } = topicPattern;

    /// <summary>The message_type a sender uses unless it says otherwise.</summary>
    public MessageKind Kind { get; set; } = MessageKind.Event;
}

/// <summary>Overrides the wire name of a member (default: the property name in snake_case).</summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false)]
public sealed class WireNameAttribute(string name) : Attribute
{
    public string Name { get; } = name;
}

/// <summary>Leaves a property out of the wire format.</summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false)]
public sealed class WireIgnoreAttribute : Attribute;
