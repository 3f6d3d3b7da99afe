using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Alicia.Contracts;

namespace Alicia.Engine.Security;

/// <summary>
/// What an Ed25519 signature covers: a domain tag, the topic, and the envelope up to its signature slot.
/// Binding the topic means a valid message cannot be replayed onto another topic.
/// </summary>
internal static class SigningInput
{
    private static ReadOnlySpan<byte> Domain => "alicia-envelope-v1\0"u8;

    public const int MaxTopicBytes = ushort.MaxValue;

    /// <summary>Writes the domain tag and the topic; returns the number of bytes written.</summary>
    public static int WritePrefix(IBufferWriter<byte> output, ReadOnlySpan<char> topic)
    {
        int topicBytes = Encoding.UTF8.GetByteCount(topic);
        if (topicBytes > MaxTopicBytes) throw new ArgumentException("topic too long", nameof(topic));
        int length = Domain.Length + 2 + topicBytes;
        Span<byte> span = output.GetSpan(length);
        Domain.CopyTo(span);
        BinaryPrimitives.WriteUInt16BigEndian(span[Domain.Length..], (ushort)topicBytes);
        Encoding.UTF8.GetBytes(topic, span[(Domain.Length + 2)..]);
        output.Advance(length);
        return length;
    }

    /// <summary>The length of the signed part of an encoded, signed envelope.</summary>
    public static int SignedLength(int envelopeLength) => envelopeLength - EnvelopeCodec.SignatureSlotLength;
}
