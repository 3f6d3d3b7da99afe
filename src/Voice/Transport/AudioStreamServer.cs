using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Net.WebSockets;
using Alicia.Contracts.Messages;
using Microsoft.Extensions.Logging;
using Alicia.Engine.Security.Gateway;

namespace Alicia.Voice.Transport;

/// <summary>
/// The audio stream listener: TCP connections that open with a one-time session token and then carry
/// length-prefixed PCM frames, read with a <see cref="PipeReader"/>; on the same port, WebSocket
/// connections (browsers) carrying the same frames in binary messages. A malformed or truncated frame, a
/// bad token or an idle stream ends that connection's session with an <see cref="AudioFrameType.Error"/>
/// frame and a <see cref="VoiceSessionState.Failed"/> status naming the reason; other sessions go on.
/// With a certificate (<see cref="AudioTls"/>), a connection opening with a TLS record is served over TLS
/// and the same sniffing goes on inside; plaintext is refused or allowed by the policy.
/// </summary>
internal sealed class AudioStreamServer : IAsyncDisposable
{
    private readonly VoiceService _service;
    private readonly ILogger _logger;
    private readonly TcpListener _listener;
    private readonly AudioTls _tls;
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Task> _connections = [];
    private Task? _accept;

    /// <summary>The WebSocket upgrade's path on the audio port (browsers cannot open raw TCP).</summary>
    public const string WebSocketPath = "/voice";

    // Pongs through NATs and proxies during pauses in speech; the idle timeout still ends silent streams.
    private static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(20);

    // How long a finished WebSocket stream waits for the client's close before dropping the connection.
    private static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(2);

    internal AudioStreamServer(VoiceService service, IPAddress address, int port, ILogger logger, AudioTls tls)
    {
        _service = service;
        _logger = logger;
        _tls = tls;
        _listener = new TcpListener(address, port);
    }

    public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndpoint;

    /// <summary>Sessions are offered over TLS (tls://, wss://).</summary>
    public bool Tls => _tls.Enabled;

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
            Task connection = Task.Run(() => ServeGuardedAsync(socket, ct));
            lock (_connections)
            {
                _connections.RemoveAll(t => t.IsCompleted);
                _connections.Add(connection);
            }
        }
    }

    private async Task ServeGuardedAsync(Socket socket, CancellationToken stopping)
    {
        try
        {
            await ServeAsync(socket, stopping).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A bug in one connection must not go unseen, nor touch the others.
            _logger.LogWarning(e, "Audio connection failed unexpectedly");
        }
    }

    private async Task ServeAsync(Socket socket, CancellationToken stopping)
    {
        string remote = socket.RemoteEndPoint?.ToString() ?? "?";
        await using var network = new NetworkStream(socket, ownsSocket: true);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        deadline.CancelAfter(_service.Options.TokenLifetime);
        int first = await PeekFirstByteAsync(socket, deadline.Token).ConfigureAwait(false);
        Stream transport = network;
        SslStream? secured = null;
        if (first == AudioTls.HandshakeRecord && _tls.Enabled)
        {
            (secured, string? failure) = await _tls.AuthenticateAsync(network, deadline.Token).ConfigureAwait(false);
            if (secured is null)
            {
                Refused(remote, failure!);
                return;
            }
            (transport, remote) = (secured, "tls " + remote);
        }
        else if (_tls.RefusePlaintext(socket.RemoteEndPoint) is { } refusal)
        {
            Refused(remote, first < 0 ? "sent nothing; " + refusal : refusal);
            if (first >= 0) await PlaintextRefusal.RefuseAsync(_service, network, first == 'G', refusal, deadline.Token).ConfigureAwait(false);
            return;
        }

        await using (secured)
        {
            await ServeFramesOrWebSocketAsync(transport, remote, deadline, stopping).ConfigureAwait(false);
        }
    }

    private void Refused(string remote, string reason)
    {
        // The reason may quote what the client sent (a path, a header): logged with control characters escaped.
        reason = Untrusted.Escape(reason);
        _logger.LogInformation("Audio connection from {Remote} refused: {Reason}", remote, reason);
        _service.OnConnectionRefused(remote, reason);
    }

    /// <summary>The first byte, left unread (a socket peek: the TLS handshake must still see it); -1 when the client closed or stayed silent.</summary>
    private static async Task<int> PeekFirstByteAsync(Socket socket, CancellationToken ct)
    {
        var first = new byte[1];
        try
        {
            return await socket.ReceiveAsync(first, SocketFlags.Peek, ct).ConfigureAwait(false) == 1 ? first[0] : -1;
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException)
        {
            return -1;
        }
    }

    /// <summary>Plaintext or inside TLS alike: the frame protocol, or a WebSocket upgrade carrying it.</summary>
    private async Task ServeFramesOrWebSocketAsync(Stream network, string remote, CancellationTokenSource deadline, CancellationToken stopping)
    {
        PipeReader reader = PipeReader.Create(network, new StreamPipeReaderOptions(bufferSize: 16 * 1024, leaveOpen: true));
        if (!await OpensWithHttpAsync(reader, deadline.Token).ConfigureAwait(false))
        {
            await new AudioStreamConnection(_service, _logger, reader, network, remote).ServeAsync(deadline, stopping).ConfigureAwait(false);
            return;
        }

        WebSocket? socketOverHttp = await UpgradeAsync(reader, network, remote, deadline.Token).ConfigureAwait(false);
        if (socketOverHttp is null) return;
        await using var frames = new WebSocketAudioStream(socketOverHttp);
        PipeReader frameReader = PipeReader.Create(frames, new StreamPipeReaderOptions(bufferSize: 16 * 1024, leaveOpen: true));
        string? error = await new AudioStreamConnection(_service, _logger, frameReader, frames, "ws " + remote).ServeAsync(deadline, stopping).ConfigureAwait(false);
        await frames.CloseAsync(error is null ? WebSocketCloseStatus.NormalClosure : WebSocketCloseStatus.PolicyViolation, error ?? "done", CloseTimeout).ConfigureAwait(false);
    }

    /// <summary>
    /// Sniffs the first byte without consuming it: an HTTP request starts with <c>G</c>(ET), which is no
    /// frame type, so one listener serves both. A connection that sends nothing goes the TCP way, which
    /// names the timeout in an error frame as before.
    /// </summary>
    private static async Task<bool> OpensWithHttpAsync(PipeReader reader, CancellationToken ct)
    {
        try
        {
            ReadResult result = await reader.ReadAsync(ct).ConfigureAwait(false);
            bool http = !result.Buffer.IsEmpty && result.Buffer.FirstSpan[0] == (byte)'G';
            reader.AdvanceTo(result.Buffer.Start); // nothing consumed or examined: the next read sees the same bytes
            return http;
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            return false;
        }
    }

    /// <summary>Does the WebSocket handshake: the server-side socket, or null after a 400 naming the reason.</summary>
    private async Task<WebSocket?> UpgradeAsync(PipeReader reader, Stream network, string remote, CancellationToken ct)
    {
        string? key, refusal;
        try
        {
            (key, refusal) = await WebSocketUpgrade.ReadRequestAsync(reader, WebSocketPath, ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            (key, refusal) = (null, $"no complete request header within {_service.Options.TokenLifetime.TotalSeconds:0.#} s");
        }
        catch (IOException)
        {
            return null;
        }
        finally
        {
            await reader.CompleteAsync().ConfigureAwait(false);
        }

        try
        {
            if (key is null)
            {
                _logger.LogInformation("Audio WebSocket upgrade from {Remote} refused: {Reason}", remote, Untrusted.Escape(refusal));
                await WebSocketUpgrade.RefuseAsync(network, refusal!, CancellationToken.None).ConfigureAwait(false);
                return null;
            }
            await WebSocketUpgrade.AcceptAsync(network, key, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException)
        {
            return null;
        }
        return WebSocket.CreateFromStream(network, new WebSocketCreationOptions { IsServer = true, KeepAliveInterval = KeepAlive });
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
