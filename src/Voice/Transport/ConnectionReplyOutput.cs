using System.Buffers.Binary;
using System.Text;
using Alicia.Voice.Speech;
using Alicia.Voice.Speech.Output;

namespace Alicia.Voice.Transport;

/// <summary>
/// Reply audio on the satellite's own audio connection (TCP or WebSocket), interleaved with its frames: full duplex,
/// so a satellite needs one connection. Frames: <c>reply-start</c> with the format, <c>reply-audio</c> chunks, <c>reply-end</c>.
/// </summary>
internal sealed class ConnectionReplyOutput(AudioStreamConnection connection, string deviceId, TimeSpan lead) : IReplyOutput
{
    public string Description => $"audio connection of {(deviceId.Length > 0 ? deviceId : "a satellite")}";

    public bool IsAvailable => connection.IsOpen;

    public TimeSpan Lead => lead;

    public ValueTask BeginAsync(string replyId, SpeechFormat format, CancellationToken cancellationToken)
    {
        connection.ReplyStarted();
        byte[] id = Encoding.UTF8.GetBytes(replyId);
        var payload = new byte[6 + id.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(payload, (uint)format.SampleRate);
        payload[4] = (byte)format.Channels;
        payload[5] = 16;
        id.CopyTo(payload, 6);
        return connection.SendFrameAsync(AudioFrameType.ReplyStart, payload, cancellationToken);
    }

    public ValueTask WriteAsync(ReadOnlyMemory<byte> pcm, CancellationToken cancellationToken) =>
        connection.SendFrameAsync(AudioFrameType.ReplyAudio, pcm, cancellationToken);

    public async ValueTask EndAsync(ReplyEndStatus status, string text, CancellationToken cancellationToken)
    {
        try
        {
            byte[] payload = new byte[1 + Encoding.UTF8.GetByteCount(text)];
            payload[0] = (byte)status;
            Encoding.UTF8.GetBytes(text, payload.AsSpan(1));
            await connection.SendFrameAsync(AudioFrameType.ReplyEnd, payload, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            connection.ReplyEnded();
        }
    }
}
