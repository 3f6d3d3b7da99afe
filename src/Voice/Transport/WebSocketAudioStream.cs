using System.Net.WebSockets;
using System.Text;

namespace Alicia.Voice.Transport;

/// <summary>
/// The audio frames' carrier on a server-side WebSocket: reads the bytes of binary messages as one stream
/// (message boundaries do not matter to the frame decoder, so a browser may batch or split frames),
/// refuses text messages with a reason, and writes each answer frame as one binary message.
/// Not <see cref="WebSocketStream"/>: that one reads text messages as bytes, and a canceled read aborts
/// the socket; here a canceled read (the idle timeout) leaves the receive pending, so the error frame
/// and the close still reach the client.
/// </summary>
internal sealed class WebSocketAudioStream(WebSocket socket) : Stream
{
    /// <summary>Longest close reason a close frame can carry (RFC 6455 5.5: 125 bytes less the status code).</summary>
    private const int MaxCloseReasonBytes = 123;

    private readonly byte[] _buffer = new byte[16 * 1024];
    private int _start;
    private int _count;
    private Task<ValueWebSocketReceiveResult>? _receive;
    private bool _closeReceived;

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;

    public override async ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        if (destination.IsEmpty) return 0;
        while (_count == 0)
        {
            if (_closeReceived) return 0;
            ValueWebSocketReceiveResult result = await ReceiveAsync(cancellationToken).ConfigureAwait(false);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                _closeReceived = true;
                return 0;
            }
            if (result.MessageType == WebSocketMessageType.Text)
                throw new InvalidDataException("text message refused: send the audio frames as binary WebSocket messages");
            _start = 0;
            _count = result.Count;
        }
        int n = Math.Min(_count, destination.Length);
        _buffer.AsMemory(_start, n).CopyTo(destination);
        _start += n;
        _count -= n;
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    private async Task<ValueWebSocketReceiveResult> ReceiveAsync(CancellationToken cancellationToken)
    {
        // The socket's own cancellation would abort it: receive without one, and only stop waiting.
        _receive ??= socket.ReceiveAsync(_buffer.AsMemory(), CancellationToken.None).AsTask();
        try
        {
            return await _receive.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (_receive.IsCompleted) _receive = null;
        }
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default) =>
        socket.SendAsync(source, WebSocketMessageType.Binary, endOfMessage: true, cancellationToken);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <summary>
    /// Sends the close (status and reason), then waits, bounded, for the client's close while discarding
    /// what it still sends: closing the TCP connection on unread data would reset it, and the client could
    /// lose the last frame.
    /// </summary>
    public async Task CloseAsync(WebSocketCloseStatus status, string reason, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
                await socket.CloseOutputAsync(status, Truncate(reason), cts.Token).ConfigureAwait(false);
            while (!_closeReceived && socket.State == WebSocketState.CloseSent)
                _closeReceived = (await ReceiveAsync(cts.Token).ConfigureAwait(false)).MessageType == WebSocketMessageType.Close;
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException or IOException or ObjectDisposedException)
        {
            // The client did not close in time or went away: disposing drops the connection.
        }
    }

    private static string Truncate(string reason)
    {
        while (Encoding.UTF8.GetByteCount(reason) > MaxCloseReasonBytes) reason = reason[..^1];
        return reason;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            socket.Dispose();
            // A receive left pending by a timeout now fails; observe it so it is not reported as unobserved.
            _receive?.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        }
        base.Dispose(disposing);
    }

    public override void Flush() { }
    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("the audio WebSocket stream is asynchronous only");
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("the audio WebSocket stream is asynchronous only");
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
