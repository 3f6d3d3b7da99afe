using System.Buffers;
using System.Runtime.InteropServices;
using MQTTnet.Channel;

namespace Alicia.Engine.Bus.Transport;

/// <summary>
/// An MQTTnet client channel (TCP, TLS or a stream provider, connected by MQTTnet) as a stream, so pipes can
/// read it in large chunks. Pipe memory is array-backed, which the channel's read needs.
/// </summary>
internal sealed class MqttChannelStream(IMqttChannel channel) : Stream
{
    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (!MemoryMarshal.TryGetArray(buffer, out ArraySegment<byte> segment)) throw new NotSupportedException("reads need array-backed memory");
        return new ValueTask<int>(channel.ReadAsync(segment.Array!, segment.Offset, segment.Count, cancellationToken));
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        channel.ReadAsync(buffer, offset, count, cancellationToken);

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        new(channel.WriteAsync(new ReadOnlySequence<byte>(buffer), true, cancellationToken));

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        channel.WriteAsync(new ReadOnlySequence<byte>(buffer, offset, count), true, cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();
    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();
    public override void Flush() { }
    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    protected override void Dispose(bool disposing)
    {
        if (disposing) channel.Dispose();
        base.Dispose(disposing);
    }

    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
