using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Alicia.Contracts.Messages;
using Microsoft.Extensions.Logging;

namespace Alicia.Engine.Voice.Transport;

/// <summary>
/// The audio stream listener: TCP connections that open with a one-time session token and then carry
/// length-prefixed PCM frames, read with a <see cref="PipeReader"/>. A malformed or truncated frame, a
/// bad token or an idle stream ends that connection's session with an <see cref="AudioFrameType.Error"/>
/// frame and a <see cref="VoiceSessionState.Failed"/> status naming the reason; other sessions go on.
/// </summary>
public sealed class AudioStreamServer : IAsyncDisposable
{
    private readonly VoiceService _service;
    private readonly ILogger _logger;
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Task> _connections = [];
    private Task? _accept;

    public AudioStreamServer(VoiceService service, IPAddress address, int port, ILogger logger)
    {
        _service = service;
        _logger = logger;
        _listener = new TcpListener(address, port);
    }

    public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndpoint;

    public void Start()
    {
        _listener.Start(backlog: 64);
        _accept = Task.Run(AcceptLoopAsync);
    }

    private async Task AcceptLoopAsync()
    {
        CancellationToken ct = _stopping.Token;
        while (!ct.IsCancellationRequested)
        {
            Socket socket;
            try { socket = await _listener.AcceptSocketAsync(ct).ConfigureAwait(false); }
            catch (OperationCanceledException) { return; }
            catch (ObjectDisposedException) { return; }
            catch (SocketException e)
            {
                _logger.LogWarning(e, "Audio listener accept failed");
                continue;
            }
            socket.NoDelay = true;
            Task connection = Task.Run(() => ServeAsync(socket, ct));
            lock (_connections)
            {
                _connections.RemoveAll(t => t.IsCompleted);
                _connections.Add(connection);
            }
        }
    }

    private async Task ServeAsync(Socket socket, CancellationToken stopping)
    {
        await using var stream = new NetworkStream(socket, ownsSocket: true);
        PipeReader reader = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 16 * 1024, leaveOpen: true));
        VoiceSession? session = null;
        string? error = null;
        int utterances = 0;
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        try
        {
            idle.CancelAfter(_service.Options.TokenLifetime);
            (session, error) = await ReadLoopAsync(reader, stream, idle, stopping).ConfigureAwait(false);
            if (error is null && session is not null) utterances = await session.CompleteAsync().ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            error = "the engine is stopping";
        }
        catch (OperationCanceledException)
        {
            error = session is null
                ? $"no valid session token within {_service.Options.TokenLifetime.TotalSeconds:0.#} s"
                : $"no audio for {_service.Options.IdleTimeout.TotalSeconds:0.#} s";
        }
        catch (IOException e)
        {
            error = $"connection lost: {e.Message}";
        }
        finally
        {
            await reader.CompleteAsync().ConfigureAwait(false);
        }

        try
        {
            if (error is not null)
            {
                _logger.LogInformation("Audio session {Session} from {Remote} failed: {Error}", session?.Id ?? "(none)", socket.RemoteEndPoint, error);
                if (session is not null) await session.DrainAsync().ConfigureAwait(false);
                await SendAsync(stream, AudioFrameType.Error, Encoding.UTF8.GetBytes(error)).ConfigureAwait(false);
            }
            else
            {
                var count = new byte[4];
                BinaryPrimitives.WriteUInt32LittleEndian(count, (uint)utterances);
                await SendAsync(stream, AudioFrameType.Done, count).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            // The client went away; its session's status still goes on the bus.
        }
        finally
        {
            if (session is not null) await _service.EndSessionAsync(session, error).ConfigureAwait(false);
        }
    }

    private async Task<(VoiceSession? Session, string? Error)> ReadLoopAsync(PipeReader reader, Stream stream, CancellationTokenSource idle, CancellationToken stopping)
    {
        VoiceSession? session = null;
        int maxPayload = _service.Options.MaxFrameBytes;
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
                    if (status == AudioFrameCodec.DecodeStatus.Malformed) return (session, "malformed frame: " + error);
                    if (status == AudioFrameCodec.DecodeStatus.NeedMore) break;

                    if (session is null)
                    {
                        if (type != AudioFrameType.Hello) return (null, $"the first frame must be hello with the session token, not {type.ToString().ToLowerInvariant()}");
                        (session, string? refused) = _service.ClaimToken(Encoding.UTF8.GetString(payload));
                        if (session is null) return (null, refused);
                        idle.CancelAfter(_service.Options.IdleTimeout);
                        await SendAsync(stream, AudioFrameType.Ready, Encoding.UTF8.GetBytes(session.Id)).ConfigureAwait(false);
                        await session.PublishStatusAsync(VoiceSessionState.Streaming).ConfigureAwait(false);
                    }
                    else if (type == AudioFrameType.Audio)
                    {
                        if (payload.Length % session.Converter.BytesPerFrame != 0)
                            return (session, $"malformed frame: {payload.Length} bytes of audio is not a whole number of {session.Converter.BytesPerFrame}-byte samples");
                        session.Pipeline.Write(payload);
                        idle.CancelAfter(_service.Options.IdleTimeout);
                    }
                    else if (type == AudioFrameType.End)
                    {
                        consumed = next;
                        return (session, null);
                    }
                    else return (session, $"unexpected {type.ToString().ToLowerInvariant()} frame after the session started");

                    buffer = buffer.Slice(next);
                    consumed = next;
                }

                if (result.IsCompleted)
                {
                    if (!buffer.IsEmpty) return (session, $"truncated frame: the connection closed with {buffer.Length} bytes of an incomplete frame");
                    return (session, session is null ? "the connection closed before the session token" : "the connection closed without an end frame");
                }
                if (stopping.IsCancellationRequested) return (session, "the engine is stopping");
            }
            finally
            {
                reader.AdvanceTo(consumed, examined);
            }
        }
    }

    private static async Task SendAsync(Stream stream, AudioFrameType type, byte[] payload)
    {
        await stream.WriteAsync(AudioFrameCodec.Encode(type, payload)).ConfigureAwait(false);
        await stream.FlushAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (_stopping.IsCancellationRequested) return;
        await _stopping.CancelAsync().ConfigureAwait(false);
        _listener.Stop();
        if (_accept is not null) await _accept.ConfigureAwait(false);
        Task[] connections;
        lock (_connections) connections = [.. _connections];
        try { await Task.WhenAll(connections).ConfigureAwait(false); } catch (Exception e) when (e is not OutOfMemoryException) { }
        _stopping.Dispose();
    }
}
