using System.Text.Json;
using Alicia.Contracts.Serialization;

namespace Alicia.Contracts;

/// <summary>Implemented by the source generator for every <see cref="AliciaContractAttribute"/> type.</summary>
public interface IAliciaSerializable<TSelf> where TSelf : IAliciaSerializable<TSelf>
{
    static abstract void Write(ref MsgPackWriter writer, TSelf value);

    static abstract TSelf Read(ref MsgPackReader reader);

    static abstract void WriteJson(Utf8JsonWriter writer, TSelf value);

    static abstract TSelf ReadJson(ref Utf8JsonReader reader);
}

/// <summary>Implemented by the source generator for every <see cref="AliciaMessageAttribute"/> type.</summary>
public interface IAliciaMessage<TSelf> : IAliciaSerializable<TSelf> where TSelf : IAliciaMessage<TSelf>
{
    /// <summary>The topic pattern, with <c>{name}</c> placeholders.</summary>
    static abstract string TopicPattern { get; }

    /// <summary>The MQTT subscription filter matching every topic of the pattern (placeholders become <c>+</c>).</summary>
    static abstract string TopicFilter { get; }

    static abstract MessageKind DefaultKind { get; }
}
