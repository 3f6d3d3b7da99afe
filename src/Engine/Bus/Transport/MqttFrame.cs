using System.Buffers;

namespace Alicia.Engine.Bus.Transport;

/// <summary>An MQTT fixed header: the packet's first byte and its remaining length (1 to 4 varint bytes).</summary>
internal static class MqttFrame
{
    /// <summary>The outcome of reading a fixed header from what has arrived so far.</summary>
    public enum Header : byte { Incomplete, Complete, Malformed }

    /// <summary>
    /// Reads the fixed header at the start of <paramref name="buffer"/> without copying; a remaining length
    /// with a fifth continuation byte is malformed (MQTT 5, 1.5.5).
    /// </summary>
    public static Header TryRead(in ReadOnlySequence<byte> buffer, out byte first, out int headerLength, out int bodyLength)
    {
        first = 0;
        headerLength = bodyLength = 0;
        if (buffer.Length < 2) return Header.Incomplete;
        Span<byte> head = stackalloc byte[5];
        int available = (int)Math.Min(5, buffer.Length);
        if (buffer.FirstSpan.Length >= available) buffer.FirstSpan[..available].CopyTo(head);
        else buffer.Slice(0, available).CopyTo(head);
        first = head[0];
        int value = 0;
        for (int i = 1; i < available; i++)
        {
            byte b = head[i];
            value |= (b & 0x7F) << (7 * (i - 1));
            if ((b & 0x80) == 0)
            {
                headerLength = i + 1;
                bodyLength = value;
                return Header.Complete;
            }
            if (i == 4) return Header.Malformed;
        }
        return Header.Incomplete;
    }
}
