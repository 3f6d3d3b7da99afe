using System.Buffers;
using System.IO.Pipelines;

namespace Alicia.Engine.Bus.Transport;

/// <summary>
/// Batches a connection's socket writes. MQTTnet writes each packet to its stream as it goes (a PUBLISH in
/// two writes: header, then payload), and with TCP_NODELAY each write is a send system call and a TCP
/// segment. Here writes are copied into a pipe, and a packet is handed to the socket once it is whole
/// (with MQTT framing: the fixed header says how many bytes are still to come), on the writer's
/// own thread when the socket is free (no thread hop); while a send is under way, what follows gathers in the
/// pipe and leaves in one send. The pipe is bounded (<see cref="MaxBufferedBytes"/>): past it writes wait, as
/// they would on a full socket buffer. Reads pass through.
/// </summary>
internal sealed class CoalescingWriteStream : Stream
{
    /// <summary>Bytes buffered before writers wait: about a thousand 256-byte messages.</summary>
    internal const int MaxBufferedBytes = 256 * 1024;

    /// <summary>The largest single send (a batch spanning pipe segments is copied into one buffer of at most this).</summary>
    private const int MaxSendBytes = 64 * 1024;

    private readonly Stream _inner;
    private readonly Pipe _pipe = new(new PipeOptions(
        pauseWriterThreshold: MaxBufferedBytes, resumeWriterThreshold: MaxBufferedBytes / 2,
        readerScheduler: PipeScheduler.Inline, writerScheduler: PipeScheduler.Inline, useSynchronizationContext: false));
    private readonly Task _sending;
    private readonly bool _mqttFraming;
    private Exception? _sendFailure;
    private long _owed; // bytes of the current MQTT packet not written yet

    /// <param name="inner">The socket's stream.</param>
    /// <param name="mqttFraming">Writes are MQTT packets or pieces of one (plain TCP); false below TLS, where they are records.</param>
    public CoalescingWriteStream(Stream inner, bool mqttFraming)
    {
        _inner = inner;
        _mqttFraming = mqttFraming;
        _sending = SendLoopAsync();
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_sendFailure is { } failure) return ValueTask.FromException(new IOException("the connection's socket failed", failure));
        if (buffer.IsEmpty) return ValueTask.CompletedTask;
        _pipe.Writer.Write(buffer.Span);
        if (_mqttFraming && !CompletesPacket(buffer.Span)) return ValueTask.CompletedTask; // the rest of the packet follows
        ValueTask<FlushResult> flush = _pipe.Writer.FlushAsync(cancellationToken);
        if (flush.IsCompletedSuccessfully)
            return flush.Result.IsCompleted ? ValueTask.FromException(Closed()) : ValueTask.CompletedTask;
        return AwaitFlushAsync(flush);
    }

    /// <summary>Whether this write ends the packet it belongs to (MQTTnet starts every packet with a new write).</summary>
    private bool CompletesPacket(ReadOnlySpan<byte> written)
    {
        if (_owed == 0)
        {
            long remaining = 0;
            int multiplier = 1, i = 1;
            for (; i < written.Length && i <= 4; i++)
            {
                remaining += (written[i] & 0x7F) * (long)multiplier;
                if ((written[i] & 0x80) == 0) break;
                multiplier *= 128;
            }
            if (i >= written.Length || i > 4) return true; // not a fixed header we can read: send as is
            _owed = 1 + i + remaining;
        }
        _owed -= written.Length;
        if (_owed > 0) return false;
        _owed = 0;
        return true;
    }

    private async ValueTask AwaitFlushAsync(ValueTask<FlushResult> flush)
    {
        if ((await flush.ConfigureAwait(false)).IsCompleted) throw Closed();
    }

    private IOException Closed() => new("the connection is closed", _sendFailure);

    private async Task SendLoopAsync()
    {
        await Task.Yield(); // the constructor returns at once
        PipeReader reader = _pipe.Reader;
        byte[]? joined = null;
        try
        {
            while (true)
            {
                ReadResult result = await reader.ReadAsync().ConfigureAwait(false);
                ReadOnlySequence<byte> batch = result.Buffer;
                while (!batch.IsEmpty)
                {
                    if (batch.IsSingleSegment)
                    {
                        await _inner.WriteAsync(batch.First).ConfigureAwait(false);
                        break;
                    }
                    // Several pipe segments: one send of up to MaxSendBytes instead of one per segment.
                    int take = (int)Math.Min(batch.Length, MaxSendBytes);
                    joined ??= ArrayPool<byte>.Shared.Rent(MaxSendBytes);
                    batch.Slice(0, take).CopyTo(joined);
                    await _inner.WriteAsync(joined.AsMemory(0, take)).ConfigureAwait(false);
                    batch = batch.Slice(take);
                }
                reader.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted || result.IsCanceled) break;
            }
            await reader.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or System.Net.Sockets.SocketException or InvalidOperationException or OperationCanceledException)
        {
            _sendFailure = e;
            await reader.CompleteAsync(e).ConfigureAwait(false); // the next write sees the failure
        }
        finally
        {
            if (joined is not null) ArrayPool<byte>.Shared.Return(joined);
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    /// <summary>Nothing to do: the send loop sends as soon as it can.</summary>
    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override void Flush() { }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => _inner.ReadAsync(buffer, cancellationToken);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => _inner.ReadAsync(buffer, offset, count, cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _pipe.Writer.Complete();
            _inner.Dispose(); // ends a send that waits on the socket
        }
        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await _pipe.Writer.CompleteAsync().ConfigureAwait(false);
        // What was written before the close (a DISCONNECT with its reason) still goes out, unless the peer does not read.
        await Task.WhenAny(_sending, Task.Delay(TimeSpan.FromSeconds(1))).ConfigureAwait(false);
        await _inner.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }

    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
