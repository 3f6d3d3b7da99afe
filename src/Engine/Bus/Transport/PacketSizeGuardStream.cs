using System.Buffers;
using System.Buffers.Binary;

namespace Alicia.Engine.Bus.Transport;

/// <summary>
/// Sits between a client's socket (after TLS decryption) and MQTTnet's packet reader and refuses any
/// packet whose fixed header announces more than the connection's current limit, before MQTTnet sees
/// the last length byte (MQTTnet allocates the whole body from the fixed header: a 250 MB CONNECT would
/// cost 250 MB). The limit is <see cref="PacketLimits.BeforeConnect"/> until this stream has written a
/// successful CONNACK, then <see cref="PacketLimits.AfterConnect"/>. It also announces the latter as
/// Maximum Packet Size (property 0x27) in an MQTT 5 CONNACK, which MQTTnet always leaves out.
/// A small state machine over the bytes read: no allocation per packet.
/// </summary>
internal sealed class PacketSizeGuardStream(Stream inner, PacketLimits limits, Action<long, long>? refused = null) : Stream
{
    private enum State : byte { FixedHeader, RemainingLength, Body }

    private State _state;
    private long _remaining;      // Body: bytes of the current packet still to come; RemainingLength: the value so far
    private int _multiplier;
    private int _lengthBytes;
    private bool _connAckSeen;
    private bool _authenticated;
    private bool _refused;

    /// <summary>True once a packet was refused: every read returns end-of-stream.</summary>
    public bool Refused => _refused;

    /// <summary>The limit that applies now (total packet size: fixed header included).</summary>
    public long CurrentLimit => _authenticated ? limits.AfterConnect : limits.BeforeConnect;

    // Pooled builder: a read that waits on the socket does not allocate its state machine.
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_refused) return 0;
        int read = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        return read > 0 && !Inspect(buffer.Span[..read]) ? Refuse() : read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count)
    {
        if (_refused) return 0;
        int read = inner.Read(buffer, offset, count);
        return read > 0 && !Inspect(buffer.AsSpan(offset, read)) ? Refuse() : read;
    }

    private int Refuse()
    {
        _refused = true;
        return 0; // MQTTnet sees the peer close: it ends the connection and disposes this stream (and the socket)
    }

    /// <summary>Runs the fixed-header state machine over <paramref name="bytes"/>; false when a packet must be refused.</summary>
    internal bool Inspect(ReadOnlySpan<byte> bytes)
    {
        int i = 0;
        while (i < bytes.Length)
        {
            switch (_state)
            {
                case State.FixedHeader:
                    i++;
                    _state = State.RemainingLength;
                    _remaining = 0;
                    _multiplier = 1;
                    _lengthBytes = 0;
                    break;
                case State.RemainingLength:
                    byte b = bytes[i++];
                    _lengthBytes++;
                    _remaining += (b & 0x7F) * (long)_multiplier;
                    long limit = CurrentLimit;
                    if (1 + _lengthBytes + _remaining > limit)
                    {
                        refused?.Invoke(1 + _lengthBytes + _remaining, limit);
                        return false;
                    }
                    if ((b & 0x80) == 0) _state = _remaining == 0 ? State.FixedHeader : State.Body;
                    else if (_lengthBytes == 4) return false; // malformed: a remaining length has at most 4 bytes
                    else _multiplier *= 128;
                    break;
                default:
                    int n = (int)Math.Min(_remaining, bytes.Length - i);
                    i += n;
                    _remaining -= n;
                    if (_remaining == 0) _state = State.FixedHeader;
                    break;
            }
        }
        return true;
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_connAckSeen || buffer.IsEmpty) return inner.WriteAsync(buffer, cancellationToken);
        _connAckSeen = true;
        return WriteFirstPacketAsync(buffer, cancellationToken);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    /// <summary>
    /// The server's first packet is the CONNACK (MQTTnet writes it in one piece). A success code lifts
    /// the limit; an MQTT 5 CONNACK (remaining length above 2: it has properties) gets Maximum Packet Size.
    /// </summary>
    private async ValueTask WriteFirstPacketAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
    {
        if (!TryParseConnAck(buffer.Span, out int headerLength, out int remainingLength, out byte reasonCode))
        {
            await inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
            return;
        }
        if (remainingLength < 3)
        {
            // MQTT 3.1.1: no properties to carry the limit; the limit still applies.
            await inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
            _authenticated = reasonCode == 0;
            return;
        }
        byte[] rewritten = ArrayPool<byte>.Shared.Rent(buffer.Length + 16);
        try
        {
            int length = AddMaximumPacketSize(buffer.Span, headerLength, remainingLength, rewritten);
            await inner.WriteAsync(rewritten.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
        }
        finally { ArrayPool<byte>.Shared.Return(rewritten); }
        _authenticated = reasonCode == 0;
    }

    private static bool TryParseConnAck(ReadOnlySpan<byte> packet, out int headerLength, out int remainingLength, out byte reasonCode)
    {
        headerLength = remainingLength = reasonCode = 0;
        if (packet.Length < 4 || packet[0] != 0x20) return false;
        if (!TryReadVarInt(packet[1..], out remainingLength, out int lengthBytes)) return false;
        headerLength = 1 + lengthBytes;
        if (packet.Length != headerLength + remainingLength || remainingLength < 2) return false;
        reasonCode = packet[headerLength + 1];
        return true;
    }

    /// <summary>Copies the CONNACK into <paramref name="destination"/> with property 0x27 first in its properties.</summary>
    private int AddMaximumPacketSize(ReadOnlySpan<byte> packet, int headerLength, int remainingLength, Span<byte> destination)
    {
        ReadOnlySpan<byte> body = packet[headerLength..];
        if (!TryReadVarInt(body[2..], out int propertiesLength, out int propertiesLengthBytes))
        {
            packet.CopyTo(destination);
            return packet.Length;
        }
        const int Added = 5; // identifier 0x27 + four-byte integer
        int newPropertiesLength = propertiesLength + Added;
        int newRemaining = remainingLength - propertiesLengthBytes + VarIntSize(newPropertiesLength) + Added;
        int at = 0;
        destination[at++] = 0x20;
        at += WriteVarInt(destination[at..], newRemaining);
        destination[at++] = body[0];
        destination[at++] = body[1];
        at += WriteVarInt(destination[at..], newPropertiesLength);
        destination[at++] = 0x27;
        BinaryPrimitives.WriteUInt32BigEndian(destination[at..], (uint)Math.Min(limits.AfterConnect, uint.MaxValue));
        at += 4;
        ReadOnlySpan<byte> rest = body[(2 + propertiesLengthBytes)..];
        rest.CopyTo(destination[at..]);
        AnnounceSharedSubscriptions(destination.Slice(at, propertiesLength));
        return at + rest.Length;
    }

    /// <summary>
    /// MQTTnet's server says Shared Subscription Available = 0 (property 0x2A) because it refuses <c>$share</c>
    /// itself; the embedded broker implements shared subscriptions around it (<see cref="SharedSubscriptions"/>),
    /// so the CONNACK says they are available. Walks the CONNACK's properties and sets that byte in place.
    /// </summary>
    private static void AnnounceSharedSubscriptions(Span<byte> properties)
    {
        int i = 0;
        while (i < properties.Length)
        {
            byte id = properties[i++];
            int size = id switch
            {
                0x24 or 0x25 or 0x28 or 0x29 or 0x2A => 1,                 // byte
                0x21 or 0x22 or 0x13 => 2,                                  // two-byte integer
                0x11 or 0x27 => 4,                                          // four-byte integer
                0x12 or 0x1F or 0x1A or 0x1C or 0x15 or 0x16 => StringSize(properties, i),
                0x26 => PairSize(properties, i),                            // user property: a string pair
                _ => -1,
            };
            if (size < 0 || i + size > properties.Length) return; // not a CONNACK property we know: leave the packet as it is
            if (id == 0x2A) properties[i] = 1;
            i += size;
        }
    }

    private static int StringSize(ReadOnlySpan<byte> properties, int at) =>
        at + 2 <= properties.Length ? 2 + BinaryPrimitives.ReadUInt16BigEndian(properties[at..]) : -1;

    private static int PairSize(ReadOnlySpan<byte> properties, int at)
    {
        int name = StringSize(properties, at);
        int value = name < 0 ? -1 : StringSize(properties, at + name);
        return value < 0 ? -1 : name + value;
    }

    private static bool TryReadVarInt(ReadOnlySpan<byte> bytes, out int value, out int length)
    {
        value = 0;
        int multiplier = 1;
        for (length = 1; length <= 4 && length <= bytes.Length; length++)
        {
            byte b = bytes[length - 1];
            value += (b & 0x7F) * multiplier;
            if ((b & 0x80) == 0) return true;
            multiplier *= 128;
        }
        return false;
    }

    private static int VarIntSize(int value) => value < 128 ? 1 : value < 16_384 ? 2 : value < 2_097_152 ? 3 : 4;

    private static int WriteVarInt(Span<byte> destination, int value)
    {
        int i = 0;
        do
        {
            byte b = (byte)(value % 128);
            value /= 128;
            if (value > 0) b |= 0x80;
            destination[i++] = b;
        } while (value > 0);
        return i;
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);
    public override void Flush() => inner.Flush();
    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;

    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await inner.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }

    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}

/// <summary>Largest MQTT packets (total size, fixed header included) a network client may send.</summary>
internal sealed record PacketLimits(long BeforeConnect, long AfterConnect);
