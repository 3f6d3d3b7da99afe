using System.Buffers;
using System.IO.Pipelines;
using System.Text;

namespace Alicia.Voice.Transport;

/// <summary>
/// Answers a plaintext connection that the TLS policy refuses in the protocol it opened with, so the
/// client can show the reason: a 400 to a WebSocket upgrade, an error frame to the frame protocol.
/// </summary>
internal static class PlaintextRefusal
{
    public static async Task RefuseAsync(VoiceService service, Stream network, bool http, string reason, CancellationToken ct)
    {
        PipeReader reader = PipeReader.Create(network, new StreamPipeReaderOptions(bufferSize: 4096, leaveOpen: true));
        try
        {
            if (http)
            {
                // Read the request first: closing on unread data would reset the connection before the 400 arrives.
                await WebSocketUpgrade.ReadRequestAsync(reader, AudioStreamServer.WebSocketPath, ct).ConfigureAwait(false);
                await WebSocketUpgrade.RefuseAsync(network, reason, ct).ConfigureAwait(false);
                return;
            }
            // A hello sent in the clear exposed its token: burn it (the session fails with the reason on the
            // bus), so whoever overheard it cannot use it over TLS.
            if (await ReadHelloTokenAsync(reader, service.Options.MaxFrameBytes, ct).ConfigureAwait(false) is { } token)
            {
                (VoiceSession? session, _) = service.ClaimToken(token);
                if (session is not null) await service.EndSessionAsync(session, reason).ConfigureAwait(false);
            }
            await network.WriteAsync(AudioFrameCodec.Encode(AudioFrameType.Error, Encoding.UTF8.GetBytes(reason)), ct).ConfigureAwait(false);
            await network.FlushAsync(ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            // The client went away or stayed silent: the refusal is logged all the same.
        }
        finally
        {
            await reader.CompleteAsync().ConfigureAwait(false);
        }
    }

    private static async Task<string?> ReadHelloTokenAsync(PipeReader reader, int maxPayload, CancellationToken ct)
    {
        while (true)
        {
            ReadResult result = await reader.ReadAsync(ct).ConfigureAwait(false);
            ReadOnlySequence<byte> buffer = result.Buffer;
            AudioFrameCodec.DecodeStatus status = AudioFrameCodec.TryDecode(buffer, maxPayload, out AudioFrameType type, out ReadOnlySequence<byte> payload, out SequencePosition next, out _);
            if (status == AudioFrameCodec.DecodeStatus.Frame)
            {
                string? token = type == AudioFrameType.Hello ? Encoding.UTF8.GetString(payload) : null;
                reader.AdvanceTo(next);
                return token;
            }
            reader.AdvanceTo(buffer.Start, buffer.End);
            if (status == AudioFrameCodec.DecodeStatus.Malformed || result.IsCompleted) return null;
        }
    }
}
