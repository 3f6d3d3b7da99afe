using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Alicia.Contracts.Serialization;

/// <summary>
/// Writes MessagePack straight into an <see cref="IBufferWriter{T}"/>. It keeps the span it was last
/// handed and commits in bulk, so a message costs a handful of GetSpan/Advance calls, not one per value.
/// Call <see cref="Flush"/> when done.
/// </summary>
public ref struct MsgPackWriter
{
    private readonly IBufferWriter<byte> _output;
    private Span<byte> _span;
    private int _buffered;
    private long _committed;

    public MsgPackWriter(IBufferWriter<byte> output)
    {
        _output = output;
        _span = default;
        _buffered = 0;
        _committed = 0;
    }

    /// <summary>Bytes written through this writer so far (committed or buffered).</summary>
    public readonly long Position => _committed + _buffered;

    public void Flush()
    {
        if (_buffered > 0)
        {
            _output.Advance(_buffered);
            _committed += _buffered;
            _buffered = 0;
        }
        _span = default;
    }

    private Span<byte> Reserve(int count)
    {
        if (_span.Length - _buffered < count)
        {
            Flush();
            _span = _output.GetSpan(Math.Max(count, 256));
        }
        Span<byte> slice = _span.Slice(_buffered, count);
        _buffered += count;
        return slice;
    }

    public void WriteNil() => Reserve(1)[0] = MsgPackCode.Nil;

    public void Write(bool value) => Reserve(1)[0] = value ? MsgPackCode.True : MsgPackCode.False;

    public void WriteMapHeader(int count)
    {
        if (count <= 15) Reserve(1)[0] = (byte)(MsgPackCode.MinFixMap | count);
        else if (count <= ushort.MaxValue) WriteCode16(MsgPackCode.Map16, (ushort)count);
        else WriteCode32(MsgPackCode.Map32, (uint)count);
    }

    public void WriteArrayHeader(int count)
    {
        if (count <= 15) Reserve(1)[0] = (byte)(MsgPackCode.MinFixArray | count);
        else if (count <= ushort.MaxValue) WriteCode16(MsgPackCode.Array16, (ushort)count);
        else WriteCode32(MsgPackCode.Array32, (uint)count);
    }

    public void Write(long value)
    {
        if (value >= 0) { Write((ulong)value); return; }
        if (value >= -32) { Reserve(1)[0] = unchecked((byte)(sbyte)value); return; }
        if (value >= sbyte.MinValue) { Span<byte> s = Reserve(2); s[0] = MsgPackCode.Int8; s[1] = unchecked((byte)(sbyte)value); return; }
        if (value >= short.MinValue) { Span<byte> s = Reserve(3); s[0] = MsgPackCode.Int16; BinaryPrimitives.WriteInt16BigEndian(s[1..], (short)value); return; }
        if (value >= int.MinValue) { Span<byte> s = Reserve(5); s[0] = MsgPackCode.Int32; BinaryPrimitives.WriteInt32BigEndian(s[1..], (int)value); return; }
        Span<byte> l = Reserve(9); l[0] = MsgPackCode.Int64; BinaryPrimitives.WriteInt64BigEndian(l[1..], value);
    }

    public void Write(ulong value)
    {
        if (value <= MsgPackCode.MaxFixInt) { Reserve(1)[0] = (byte)value; return; }
        if (value <= byte.MaxValue) { Span<byte> s = Reserve(2); s[0] = MsgPackCode.UInt8; s[1] = (byte)value; return; }
        if (value <= ushort.MaxValue) { WriteCode16(MsgPackCode.UInt16, (ushort)value); return; }
        if (value <= uint.MaxValue) { WriteCode32(MsgPackCode.UInt32, (uint)value); return; }
        Span<byte> l = Reserve(9); l[0] = MsgPackCode.UInt64; BinaryPrimitives.WriteUInt64BigEndian(l[1..], value);
    }

    public void Write(int value) => Write((long)value);
    public void Write(uint value) => Write((ulong)value);
    public void Write(short value) => Write((long)value);
    public void Write(ushort value) => Write((ulong)value);
    public void Write(byte value) => Write((ulong)value);
    public void Write(sbyte value) => Write((long)value);

    public void Write(float value)
    {
        Span<byte> s = Reserve(5);
        s[0] = MsgPackCode.Float32;
        BinaryPrimitives.WriteSingleBigEndian(s[1..], value);
    }

    public void Write(double value)
    {
        Span<byte> s = Reserve(9);
        s[0] = MsgPackCode.Float64;
        BinaryPrimitives.WriteDoubleBigEndian(s[1..], value);
    }

    public void Write(string? value)
    {
        if (value is null) { WriteNil(); return; }
        Write(value.AsSpan());
    }

    public void Write(ReadOnlySpan<char> value)
    {
        if (value.Length <= 10)
        {
            // Short strings (10 UTF-16 units encode to at most 30 bytes): encode in place behind a
            // fixstr header and hand back what was not used.
            Span<byte> s = Reserve(31);
            int n = Encoding.UTF8.GetBytes(value, s[1..]);
            s[0] = (byte)(MsgPackCode.MinFixStr | n);
            _buffered -= 30 - n;
            return;
        }
        int byteCount = Encoding.UTF8.GetByteCount(value);
        WriteStringHeader(byteCount);
        Encoding.UTF8.GetBytes(value, Reserve(byteCount));
    }

    /// <summary>Writes an already UTF-8 encoded string.</summary>
    public void WriteString(ReadOnlySpan<byte> utf8)
    {
        WriteStringHeader(utf8.Length);
        utf8.CopyTo(Reserve(utf8.Length));
    }

    public void WriteStringHeader(int byteCount)
    {
        if (byteCount <= 31) Reserve(1)[0] = (byte)(MsgPackCode.MinFixStr | byteCount);
        else if (byteCount <= byte.MaxValue) { Span<byte> s = Reserve(2); s[0] = MsgPackCode.Str8; s[1] = (byte)byteCount; }
        else if (byteCount <= ushort.MaxValue) WriteCode16(MsgPackCode.Str16, (ushort)byteCount);
        else WriteCode32(MsgPackCode.Str32, (uint)byteCount);
    }

    public void Write(ReadOnlySpan<byte> binary)
    {
        WriteBinHeader(binary.Length);
        binary.CopyTo(Reserve(binary.Length));
    }

    public void Write(byte[]? binary)
    {
        if (binary is null) { WriteNil(); return; }
        Write(binary.AsSpan());
    }

    public void WriteBinHeader(int length)
    {
        if (length <= byte.MaxValue) { Span<byte> s = Reserve(2); s[0] = MsgPackCode.Bin8; s[1] = (byte)length; }
        else if (length <= ushort.MaxValue) WriteCode16(MsgPackCode.Bin16, (ushort)length);
        else WriteCode32(MsgPackCode.Bin32, (uint)length);
    }

    /// <summary>Reserves room for a bin8 value of <paramref name="length"/> bytes and returns it to be filled in.</summary>
    public Span<byte> WriteBinPlaceholder(int length)
    {
        WriteBinHeader(length);
        return Reserve(length);
    }

    /// <summary>A UUID as 16 bytes of bin8, in RFC 4122 (big-endian) byte order.</summary>
    public void Write(Guid value)
    {
        Span<byte> s = Reserve(18);
        s[0] = MsgPackCode.Bin8;
        s[1] = 16;
        value.TryWriteBytes(s[2..], bigEndian: true, out _);
    }

    /// <summary>A UTC instant as the msgpack timestamp extension (timestamp 96: seconds + nanoseconds).</summary>
    public void Write(DateTimeOffset value)
    {
        long ticks = value.UtcTicks - DateTime.UnixEpoch.Ticks;
        long seconds = Math.DivRem(ticks, TimeSpan.TicksPerSecond, out long rem);
        if (rem < 0) { seconds--; rem += TimeSpan.TicksPerSecond; }
        uint nanos = (uint)(rem * 100);
        Span<byte> s = Reserve(15);
        s[0] = MsgPackCode.Ext8;
        s[1] = 12;
        s[2] = unchecked((byte)MsgPackCode.TimestampExtType);
        BinaryPrimitives.WriteUInt32BigEndian(s[3..], nanos);
        BinaryPrimitives.WriteInt64BigEndian(s[7..], seconds);
    }

    public void Write(DateTime value) => Write(new DateTimeOffset(value.Kind == DateTimeKind.Unspecified ? DateTime.SpecifyKind(value, DateTimeKind.Utc) : value.ToUniversalTime()));

    public void Write(TimeSpan value) => Write(value.Ticks);

    /// <summary>Copies bytes that are already valid MessagePack.</summary>
    public void WriteRaw(ReadOnlySpan<byte> msgpack) => msgpack.CopyTo(Reserve(msgpack.Length));

    private void WriteCode16(byte code, ushort value)
    {
        Span<byte> s = Reserve(3);
        s[0] = code;
        BinaryPrimitives.WriteUInt16BigEndian(s[1..], value);
    }

    private void WriteCode32(byte code, uint value)
    {
        Span<byte> s = Reserve(5);
        s[0] = code;
        BinaryPrimitives.WriteUInt32BigEndian(s[1..], value);
    }
}
