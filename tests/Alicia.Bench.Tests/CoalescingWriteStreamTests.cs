using System.Net;
using System.Net.Sockets;
using Alicia.Engine.Bus.Transport;

namespace Alicia.Bench.Tests;

/// <summary>
/// The broker's batched socket writes (the lever broker-compare measures with --compare-batched 1) over a real
/// loopback socket: bytes arrive whole and in order, an MQTT packet written in pieces leaves in one send, and a
/// failed socket fails the next write.
/// </summary>
public sealed class CoalescingWriteStreamTests : IAsyncLifetime
{
    private Socket _listener = null!;
    private Socket _server = null!;
    private Socket _client = null!;

    public async Task InitializeAsync()
    {
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(1);
        _client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        Task<Socket> accept = _listener.AcceptAsync();
        await _client.ConnectAsync(_listener.LocalEndPoint!);
        _server = await accept.WaitAsync(Waits.Long);
    }

    public Task DisposeAsync()
    {
        _client.Dispose();
        _server.Dispose();
        _listener.Dispose();
        return Task.CompletedTask;
    }

    /// <summary>A PUBLISH as MQTTnet writes it: the fixed and variable header, then the payload.</summary>
    private static (byte[] Header, byte[] Payload) Publish(int payloadBytes, byte fill)
    {
        byte[] topic = "bench/flood/0"u8.ToArray();
        int remaining = 2 + topic.Length + payloadBytes;
        var header = new List<byte> { 0x30 };
        do
        {
            byte b = (byte)(remaining % 128);
            remaining /= 128;
            if (remaining > 0) b |= 0x80;
            header.Add(b);
        } while (remaining > 0);
        header.Add(0);
        header.Add((byte)topic.Length);
        header.AddRange(topic);
        return ([.. header], Enumerable.Repeat(fill, payloadBytes).ToArray());
    }

    private async Task<byte[]> ReceiveAsync(int count)
    {
        byte[] buffer = new byte[count];
        int read = 0;
        using var cts = new CancellationTokenSource(Waits.Long);
        while (read < count)
        {
            int n = await _client.ReceiveAsync(buffer.AsMemory(read), SocketFlags.None, cts.Token);
            Assert.True(n > 0, "the connection closed early");
            read += n;
        }
        return buffer;
    }

    [Fact]
    public async Task A_packet_written_in_pieces_leaves_in_one_send_and_bytes_arrive_in_order()
    {
        var probe = new WriteCountingStream(new NetworkStream(_server, ownsSocket: false));
        await using var stream = new CoalescingWriteStream(probe, mqttFraming: true);
        var expected = new List<byte>();
        for (int i = 0; i < 200; i++)
        {
            (byte[] header, byte[] payload) = Publish(256 + i, (byte)i);
            await stream.WriteAsync(header);
            await stream.WriteAsync(payload);
            expected.AddRange(header);
            expected.AddRange(payload);
        }
        byte[] puback = [0x40, 0x02, 0x00, 0x01]; // no payload: one write is the whole packet
        await stream.WriteAsync(puback);
        expected.AddRange(puback);

        Assert.Equal(expected.ToArray(), await ReceiveAsync(expected.Count));
        // 201 packets in 401 writes: at most one send per packet (fewer when sends were batched), never a header alone.
        Assert.InRange(probe.Writes, 1, 201);
    }

    [Fact]
    public async Task Without_MQTT_framing_every_write_is_sent_and_bytes_arrive_in_order()
    {
        var probe = new WriteCountingStream(new NetworkStream(_server, ownsSocket: false));
        await using var stream = new CoalescingWriteStream(probe, mqttFraming: false);
        byte[] data = [.. Enumerable.Range(0, 10_000).Select(i => (byte)(i * 7))];
        for (int at = 0; at < data.Length; at += 1000) await stream.WriteAsync(data.AsMemory(at, 1000));

        Assert.Equal(data, await ReceiveAsync(data.Length));
        Assert.InRange(probe.Writes, 1, 10);
    }

    [Fact]
    public async Task A_socket_that_failed_fails_the_next_write()
    {
        var probe = new WriteCountingStream(new NetworkStream(_server, ownsSocket: false));
        await using var stream = new CoalescingWriteStream(probe, mqttFraming: false);
        _server.Shutdown(SocketShutdown.Send); // sends now fail with a socket error
        await stream.WriteAsync(new byte[100]); // accepted into the pipe; its send fails
        await Assert.ThrowsAsync<IOException>(async () =>
        {
            using var cts = new CancellationTokenSource(Waits.Long);
            while (!cts.IsCancellationRequested) await stream.WriteAsync(new byte[100], cts.Token);
        });
    }

    /// <summary>The real socket stream, counting the writes (sends) that reach it.</summary>
    private sealed class WriteCountingStream(Stream inner) : Stream
    {
        private int _writes;
        public int Writes => Volatile.Read(ref _writes);

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _writes);
            return inner.WriteAsync(buffer, cancellationToken);
        }

        public override void Write(byte[] buffer, int offset, int count)
        {
            Interlocked.Increment(ref _writes);
            inner.Write(buffer, offset, count);
        }

        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
        public override void Flush() => inner.Flush();
        public override bool CanRead => true;
        public override bool CanWrite => true;
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
