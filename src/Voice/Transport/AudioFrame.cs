using System.Buffers;
using System.Buffers.Binary;

namespace Alicia.Voice.Transport;

/// <summary>Frame types of the audio stream.</summary>
internal enum AudioFrameType : byte
{
    /// <summary>Client → engine, first frame: the one-time session token (UTF-8).</summary>
    Hello = 0x01,

    /// <summary>Client → engine: s16le PCM at the rate and channel count the session negotiated.</summary>
    Audio = 0x02,

    /// <summary>Client → engine: no more audio; the engine finishes the open utterance and answers <see cref="Done"/>.</summary>
    End = 0x03,

    /// <summary>Client → engine, after hello: send the reply audio on this connection (full duplex); the engine then keeps it open after <see cref="Done"/> while replies come.</summary>
    Listen = 0x04,

    /// <summary>Engine → client: the token was accepted (payload: the session id).</summary>
    Ready = 0x10,

    /// <summary>Engine → client: the session ended in error (payload: the reason, UTF-8).</summary>
    Error = 0x11,

    /// <summary>Engine → client: every utterance has been transcribed and published (payload: their count, u32 LE).</summary>
    Done = 0x12,

    /// <summary>Engine → client: a spoken reply starts. Payload: sample rate (u32 LE), channels (u8), bits per sample (u8, 16: s16le), then the reply id (UTF-8).</summary>
    ReplyStart = 0x20,

    /// <summary>Engine → client: reply audio in the format of its <see cref="ReplyStart"/>, in chunks as they are made.</summary>
    ReplyAudio = 0x21,

    /// <summary>Engine → client: the reply ended. Payload: status (u8: 0 spoken, 1 stopped, 2 failed: no voice could say it), then its text (UTF-8).</summary>
    ReplyEnd = 0x22,
}

/// <summary>
/// The audio stream's framing: <c>type (u8) | payload length (u32 LE) | payload</c>. Decoding works on a
/// <see cref="ReadOnlySequence{T}"/> straight from a <see cref="System.IO.Pipelines.PipeReader"/> (as
/// MQTTnet's AspNetCore adapter decodes packets): it either takes one whole frame, or consumes nothing and
/// reports how much it needs; a header that can never be valid is an error at once (no waiting for a
/// payload that should not be read).
/// </summary>
internal static class AudioFrameCodec
{
    public const int HeaderSize = 5;

    /// <summary>Default cap of one frame's payload: 64 KiB = 2 s of 16 kHz mono.</summary>
    public const int DefaultMaxPayload = 64 * 1024;

    public enum DecodeStatus
    {
        Frame,
        NeedMore,
        Malformed,
    }

    public static DecodeStatus TryDecode(in ReadOnlySequence<byte> buffer, int maxPayload, out AudioFrameType type, out ReadOnlySequence<byte> payload, out SequencePosition next, out string? error)
    {
        type = default;
        payload = default;
        next = buffer.Start;
        error = null;
        if (buffer.Length < HeaderSize) return DecodeStatus.NeedMore;

        Span<byte> header = stackalloc byte[HeaderSize];
        buffer.Slice(0, HeaderSize).CopyTo(header);
        type = (AudioFrameType)header[0];
        uint length = BinaryPrimitives.ReadUInt32LittleEndian(header[1..]);
        if (type is not (AudioFrameType.Hello or AudioFrameType.Audio or AudioFrameType.End or AudioFrameType.Listen))
        {
            error = $"unknown frame type 0x{header[0]:x2}";
            return DecodeStatus.Malformed;
        }
        if (length > (uint)maxPayload)
        {
            error = $"frame of {length} bytes exceeds the {maxPayload}-byte limit";
            return DecodeStatus.Malformed;
        }
        if (type is AudioFrameType.End or AudioFrameType.Listen && length != 0)
        {
            error = $"{type.ToString().ToLowerInvariant()} frame with a payload";
            return DecodeStatus.Malformed;
        }
        if (buffer.Length < HeaderSize + length) return DecodeStatus.NeedMore;

        payload = buffer.Slice(HeaderSize, length);
        next = payload.End;
        return DecodeStatus.Frame;
    }

    /// <summary>Writes one frame into <paramref name="output"/>.</summary>
    public static void Write(IBufferWriter<byte> output, AudioFrameType type, ReadOnlySpan<byte> payload)
    {
        Span<byte> span = output.GetSpan(HeaderSize + payload.Length);
        span[0] = (byte)type;
        BinaryPrimitives.WriteUInt32LittleEndian(span[1..], (uint)payload.Length);
        payload.CopyTo(span[HeaderSize..]);
        output.Advance(HeaderSize + payload.Length);
    }

    public static byte[] Encode(AudioFrameType type, ReadOnlySpan<byte> payload)
    {
        var frame = new byte[HeaderSize + payload.Length];
        frame[0] = (byte)type;
        BinaryPrimitives.WriteUInt32LittleEndian(frame.AsSpan(1), (uint)payload.Length);
        payload.CopyTo(frame.AsSpan(HeaderSize));
        return frame;
    }
}
