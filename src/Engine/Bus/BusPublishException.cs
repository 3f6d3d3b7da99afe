namespace Alicia.Engine.Bus;

/// <summary>The broker refused a publish (e.g. 0x87 not authorized, 0x96 rate too high).</summary>
public sealed class BusPublishException(string topic, int reasonCode, string reason, string? detail)
    : Exception($"broker refused publish to '{topic}': 0x{reasonCode:x2} {reason}{(string.IsNullOrEmpty(detail) ? "" : $" ({detail})")}")
{
    public string Topic { get; } = topic;
    public int ReasonCode { get; } = reasonCode;
}
