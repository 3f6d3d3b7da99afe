using MQTTnet.Protocol;

namespace Alicia.Engine.Bus;

/// <summary>MQTT delivery guarantee of a publish (the values are MQTT's QoS levels 0, 1 and 2).</summary>
public enum QualityOfService
{
    /// <summary>QoS 0: sent once, never acknowledged; may be lost (and is never held back by the broker).</summary>
    AtMostOnce = 0,

    /// <summary>QoS 1: acknowledged by the broker, redelivered until it is; the bus default.</summary>
    AtLeastOnce = 1,

    /// <summary>QoS 2: delivered exactly once, at the cost of a four-packet handshake.</summary>
    ExactlyOnce = 2,
}

internal static class QualityOfServiceExtensions
{
    public static MqttQualityOfServiceLevel ToMqtt(this QualityOfService qos) => qos switch
    {
        QualityOfService.AtMostOnce => MqttQualityOfServiceLevel.AtMostOnce,
        QualityOfService.AtLeastOnce => MqttQualityOfServiceLevel.AtLeastOnce,
        QualityOfService.ExactlyOnce => MqttQualityOfServiceLevel.ExactlyOnce,
        _ => throw new ArgumentOutOfRangeException(nameof(qos), qos, "not an MQTT quality of service"),
    };
}
