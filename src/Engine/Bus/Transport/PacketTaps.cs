using MQTTnet.Packets;

namespace Alicia.Engine.Bus.Transport;

/// <summary>
/// Observers the broker runs inside its transport, with the connection's client id, in place of MQTTnet's
/// intercepting-packet events (which allocate event arguments and an async enumerator for every packet).
/// </summary>
internal sealed class PacketTaps
{
    /// <summary>A packet decoded from a client, before MQTTnet processes it (it may still be changed).</summary>
    public Action<string, MqttPacket>? Received { get; set; }

    /// <summary>A packet about to be encoded for a client (it may still be changed).</summary>
    public Action<string, MqttPacket>? Sending { get; set; }

    /// <summary>A packet written to a client's connection (or to its send buffer, when more are queued behind it).</summary>
    public Action<string, MqttPacket>? Written { get; set; }

    /// <summary>
    /// For a client id, what reads how many messages its MQTTnet queue still holds (<see cref="SubscriberQueues"/>), or
    /// null before it subscribes; without it every packet is flushed at once.
    /// </summary>
    public Func<string, Func<long>?>? QueuedBehind { get; set; }
}
