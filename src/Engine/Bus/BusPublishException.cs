namespace Alicia.Engine.Bus;

/// <summary>The broker refused a publish (e.g. 0x87 not authorized, 0x97 quota exceeded).</summary>
public sealed class BusPublishException : Exception
{
    internal BusPublishException(string topic, int reasonCode, string reason, string? detail)
        : base($"broker refused publish to '{topic}': 0x{reasonCode:x2} {reason}{(string.IsNullOrEmpty(detail) ? "" : $" ({detail})")}")
    {
        Topic = topic;
        ReasonCode = reasonCode;
    }

    public string Topic { get; }

    /// <summary>The MQTT 5 PUBACK reason code.</summary>
    public int ReasonCode { get; }
}
