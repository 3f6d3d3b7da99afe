using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using Alicia.Contracts.Messages;
using Microsoft.Extensions.Logging;
using Alicia.Engine.Security.Gateway;

namespace Alicia.Voice.Transport;

/// <summary>
/// One audio stream's frame protocol, whatever carries it (a TCP connection, or binary WebSocket
/// messages): hello with the token, audio, end; answered with ready, then done or error. Reads with a
/// <see cref="PipeReader"/>, writes each answer frame with one write on <paramref name="output"/>.
/// </summary>
internal sealed class AudioStreamConnection(VoiceService service, ILogger logger, PipeReader reader, Stream output, string remote)
{
    // A field, not a local: a timeout or a lost connection mid-stream must still end the claimed session.
    private VoiceSession? _session;
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private IDisposable? _replyRegistration;
    private CancellationTokenSource? _linger;
    private int _activeReplies;
    private volatile bool _open = true;

    /// <summary>
    /// Serves the stream to its end; returns the error it ended with (null when done well). The caller
    /// has already started <paramref name="deadline"/> with the token lifetime.
    /// </summary>
    public async Task<string?> ServeAsync(CancellationTokenSource deadline, CancellationToken stopping)
    {
        string? error = null;
        int utterances = 0;
        try
        {
            error = await ReadLoopAsync(deadline, stopping).ConfigureAwait(false);
            if (error is null && _session is not null) utterances = await _session.CompleteAsync().ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            error = "the engine is stopping";
        }
        catch (OperationCanceledException)
        {
            error = _session is null
                ? $"no valid session token within {service.Options.TokenLifetime.TotalSeconds:0.#} s"
                : $"no audio for {service.Options.IdleTimeout.TotalSeconds:0.#} s";
        }
        catch (Exception e) when (e is IOException or WebSocketException)
        {
            error = $"connection lost: {e.Message}";
        }
        catch (InvalidDataException e)
        {
            // The carrier broke its own rules (e.g. a text WebSocket message): the reason says which.
            error = e.Message;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Anything else (a bus publish during a reconnect, the VAD, a disposed pool) still ends the
            // session properly below: it must not stay counted against the session limit.
            logger.LogWarning(e, "Audio session {Session} from {Remote}: unexpected error", _session?.Id ?? "(none)", remote);
            error = $"internal error: {e.Message}";
        }

        VoiceSession? session = _session;
        try
        {
            if (error is not null)
            {
                logger.LogInformation("Audio session {Session} from {Remote} failed: {Error}", session?.Id ?? "(none)", remote, Untrusted.Escape(error));
                if (session is not null) await session.DrainAsync().ConfigureAwait(false);
                await SendAsync(AudioFrameType.Error, Encoding.UTF8.GetBytes(error)).ConfigureAwait(false);
            }
            else
            {
                var count = new byte[4];
                BinaryPrimitives.WriteUInt32LittleEndian(count, (uint)utterances);
                await SendAsync(AudioFrameType.Done, count).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or WebSocketException)
        {
            // The client went away; its session's status still goes on the bus.
        }
        finally
        {
            if (session is not null) await service.EndSessionAsync(session, error).ConfigureAwait(false);
        }
        // Full duplex: a satellite that asked for reply audio keeps its connection while replies come.
        if (error is null && _replyRegistration is not null) await LingerForRepliesAsync(stopping).ConfigureAwait(false);
        _open = false;
        _replyRegistration?.Dispose();
        await reader.CompleteAsync().ConfigureAwait(false);
        return error;
    }

    /// <summary>Reads frames until end (null) or the first error (its reason).</summary>
    private async Task<string?> ReadLoopAsync(CancellationTokenSource idle, CancellationToken stopping)
    {
        int maxPayload = service.Options.MaxFrameBytes;
        while (true)
        {
            ReadResult result = await reader.ReadAsync(idle.Token).ConfigureAwait(false);
            ReadOnlySequence<byte> buffer = result.Buffer;
            SequencePosition consumed = buffer.Start;
            SequencePosition examined = buffer.End;
            try
            {
                while (true)
                {
                    AudioFrameCodec.DecodeStatus status = AudioFrameCodec.TryDecode(buffer, maxPayload, out AudioFrameType type, out ReadOnlySequence<byte> payload, out SequencePosition next, out string? error);
                    if (status == AudioFrameCodec.DecodeStatus.Malformed) return "malformed frame: " + error;
                    if (status == AudioFrameCodec.DecodeStatus.NeedMore) break;

                    if (_session is not { } session)
                    {
                        if (type != AudioFrameType.Hello) return $"the first frame must be hello with the session token, not {type.ToString().ToLowerInvariant()}";
                        (_session, string? refused) = service.ClaimToken(Encoding.UTF8.GetString(payload));
                        if (_session is null) return refused;
                        idle.CancelAfter(service.Options.IdleTimeout);
                        await SendAsync(AudioFrameType.Ready, Encoding.UTF8.GetBytes(_session.Id)).ConfigureAwait(false);
                        await _session.PublishStatusAsync(VoiceSessionState.Streaming).ConfigureAwait(false);
                    }
                    else if (type == AudioFrameType.Audio)
                    {
                        if (payload.Length % session.Converter.BytesPerFrame != 0)
                            return $"malformed frame: {payload.Length} bytes of audio is not a whole number of {session.Converter.BytesPerFrame}-byte samples";
                        session.Pipeline.Write(payload);
                        idle.CancelAfter(service.Options.IdleTimeout);
                    }
                    else if (type == AudioFrameType.Listen)
                    {
                        _replyRegistration ??= service.Satellites.Register(session.Id, session.DeviceId, new ConnectionReplyOutput(this, session.DeviceId, service.Options.Speech.ReplyLead));
                    }
                    else if (type == AudioFrameType.End)
                    {
                        consumed = next;
                        return null;
                    }
                    else return $"unexpected {type.ToString().ToLowerInvariant()} frame after the session started";

                    buffer = buffer.Slice(next);
                    consumed = next;
                }

                if (result.IsCompleted)
                {
                    if (!buffer.IsEmpty) return $"truncated frame: the connection closed with {buffer.Length} bytes of an incomplete frame";
                    return _session is null ? "the connection closed before the session token" : "the connection closed without an end frame";
                }
                if (stopping.IsCancellationRequested) return "the engine is stopping";
            }
            finally
            {
                reader.AdvanceTo(consumed, examined);
            }
        }
    }

    private Task SendAsync(AudioFrameType type, byte[] payload) => SendFrameAsync(type, payload, CancellationToken.None).AsTask();

    /// <summary>Whether the connection still takes frames (reply audio included).</summary>
    internal bool IsOpen => _open;

    /// <summary>One frame, whole: answers and reply audio from other threads take turns.</summary>
    internal async ValueTask SendFrameAsync(AudioFrameType type, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        byte[] frame = AudioFrameCodec.Encode(type, payload.Span);
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await output.WriteAsync(frame, cancellationToken).ConfigureAwait(false);
            await output.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or WebSocketException)
        {
            _open = false;
            throw;
        }
        finally
        {
            _writeGate.Release();
        }
    }

    internal void ReplyStarted()
    {
        Interlocked.Increment(ref _activeReplies);
        Touch();
    }

    internal void ReplyEnded()
    {
        Interlocked.Decrement(ref _activeReplies);
        Touch();
    }

    /// <summary>While a reply is under way the connection stays; after it, the wait for another starts again.</summary>
    private void Touch()
    {
        try { _linger?.CancelAfter(Volatile.Read(ref _activeReplies) > 0 ? Timeout.InfiniteTimeSpan : service.Options.Speech.ReplyWait); }
        catch (ObjectDisposedException) { }
    }

    /// <summary>
    /// After done: waits for the client to close, or for <see cref="Speech.SpeechOptions.ReplyWait"/> without a reply under way
    /// (no router answered), or for the engine to stop. Anything the client sends now is ignored.
    /// </summary>
    private async Task LingerForRepliesAsync(CancellationToken stopping)
    {
        using var linger = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        _linger = linger;
        Touch();
        try
        {
            while (true)
            {
                ReadResult result = await reader.ReadAsync(linger.Token).ConfigureAwait(false);
                reader.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted) return;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or WebSocketException or InvalidDataException)
        {
            // The wait ended (or the client went away): the connection closes.
        }
        finally
        {
            _linger = null;
        }
    }
}
