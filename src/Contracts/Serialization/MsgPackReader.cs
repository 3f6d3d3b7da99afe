using System.Buffers.Binary;
using System.Text;

namespace Alicia.Contracts.Serialization;

/// <summary>
/// Reads MessagePack from one contiguous span. Every read checks bounds and throws
/// <see cref="MsgPackException"/> naming the offset, so malformed input is an error, never a crash.
/// </summary>
public ref struct MsgPackReader
{
    private readonly ReadOnlySpan<byte> _buffer;
    private int _position;
    private int _depth;

    /// <summary>Nesting deeper than this is refused, so a hostile message cannot exhaust the stack.</summary>
    public const int MaxDepth = 32;

    public MsgPackReader(ReadOnlySpan<byte> buffer, Utf8StringCache? strings = null)
    {
        _buffer = buffer;
        _position = 0;
        _depth = 0;
        Strings = strings;
    }

    /// <summary>Where strings are interned, so repeated names decode without allocating.</summary>
    public Utf8StringCache? Strings { get; }

    public readonly int Position => _position;
    public readonly bool End => _position >= _buffer.Length;
    public readonly ReadOnlySpan<byte> Buffer => _buffer;

    public readonly byte PeekCode()
    {
        if (_position >= _buffer.Length) throw MsgPackException.Truncated(_position);
        return _buffer[_position];
    }

    public readonly bool IsNil => _position < _buffer.Length && _buffer[_position] == MsgPackCode.Nil;

    public bool TryReadNil()
    {
        if (IsNil) { _position++; return true; }
        return false;
    }

    public void EnterNested()
    {
        if (++_depth > MaxDepth) throw new MsgPackException($"nesting deeper than {MaxDepth} at byte {_position}");
    }

    public void ExitNested() => _depth--;

    private ReadOnlySpan<byte> Take(int count)
    {
        if (count < 0 || _buffer.Length - _position < count) throw MsgPackException.Truncated(_position);
        ReadOnlySpan<byte> s = _buffer.Slice(_position, count);
        _position += count;
        return s;
    }

    private byte TakeCode() => Take(1)[0];

    public bool ReadBoolean()
    {
        byte c = TakeCode();
        return c switch
        {
            MsgPackCode.True => true,
            MsgPackCode.False => false,
            _ => throw MsgPackException.Unexpected(c, "bool", _position - 1),
        };
    }

    public int ReadMapHeader()
    {
        byte c = TakeCode();
        int count;
        if (c is >= MsgPackCode.MinFixMap and <= MsgPackCode.MaxFixMap) count = c & 0x0f;
        else if (c == MsgPackCode.Map16) count = BinaryPrimitives.ReadUInt16BigEndian(Take(2));
        else if (c == MsgPackCode.Map32) count = CheckedCount(BinaryPrimitives.ReadUInt32BigEndian(Take(4)));
        else throw MsgPackException.Unexpected(c, "map", _position - 1);
        // Each entry needs at least two bytes: a cheap guard against absurd counts.
        if (count > (_buffer.Length - _position) / 2) throw new MsgPackException($"map of {count} entries exceeds the input at byte {_position}");
        return count;
    }

    public int ReadArrayHeader()
    {
        byte c = TakeCode();
        int count;
        if (c is >= MsgPackCode.MinFixArray and <= MsgPackCode.MaxFixArray) count = c & 0x0f;
        else if (c == MsgPackCode.Array16) count = BinaryPrimitives.ReadUInt16BigEndian(Take(2));
        else if (c == MsgPackCode.Array32) count = CheckedCount(BinaryPrimitives.ReadUInt32BigEndian(Take(4)));
        else throw MsgPackException.Unexpected(c, "array", _position - 1);
        if (count > _buffer.Length - _position) throw new MsgPackException($"array of {count} items exceeds the input at byte {_position}");
        return count;
    }

    private int CheckedCount(uint count) =>
        count > int.MaxValue ? throw new MsgPackException($"length {count} too large at byte {_position}") : (int)count;

    public long ReadInt64()
    {
        int start = _position;
        byte c = TakeCode();
        if (c <= MsgPackCode.MaxFixInt) return c;
        if (c >= MsgPackCode.MinNegativeFixInt) return unchecked((sbyte)c);
        switch (c)
        {
            case MsgPackCode.UInt8: return Take(1)[0];
            case MsgPackCode.UInt16: return BinaryPrimitives.ReadUInt16BigEndian(Take(2));
            case MsgPackCode.UInt32: return BinaryPrimitives.ReadUInt32BigEndian(Take(4));
            case MsgPackCode.UInt64:
                ulong u = BinaryPrimitives.ReadUInt64BigEndian(Take(8));
                return u > long.MaxValue ? throw new MsgPackException($"integer overflow at byte {start}") : (long)u;
            case MsgPackCode.Int8: return unchecked((sbyte)Take(1)[0]);
            case MsgPackCode.Int16: return BinaryPrimitives.ReadInt16BigEndian(Take(2));
            case MsgPackCode.Int32: return BinaryPrimitives.ReadInt32BigEndian(Take(4));
            case MsgPackCode.Int64: return BinaryPrimitives.ReadInt64BigEndian(Take(8));
            default: throw MsgPackException.Unexpected(c, "integer", start);
        }
    }

    public ulong ReadUInt64()
    {
        int start = _position;
        if (PeekCode() == MsgPackCode.UInt64)
        {
            _position++;
            return BinaryPrimitives.ReadUInt64BigEndian(Take(8));
        }
        long v = ReadInt64();
        return v < 0 ? throw new MsgPackException($"negative value for an unsigned integer at byte {start}") : (ulong)v;
    }

    public int ReadInt32() => checked((int)Narrow(ReadInt64(), int.MinValue, int.MaxValue));
    public uint ReadUInt32() => (uint)Narrow(ReadInt64(), 0, uint.MaxValue);
    public short ReadInt16() => (short)Narrow(ReadInt64(), short.MinValue, short.MaxValue);
    public ushort ReadUInt16() => (ushort)Narrow(ReadInt64(), 0, ushort.MaxValue);
    public byte ReadByte() => (byte)Narrow(ReadInt64(), 0, byte.MaxValue);
    public sbyte ReadSByte() => (sbyte)Narrow(ReadInt64(), sbyte.MinValue, sbyte.MaxValue);

    private readonly long Narrow(long value, long min, long max) =>
        value < min || value > max ? throw new MsgPackException($"integer {value} out of range at byte {_position}") : value;

    public double ReadDouble()
    {
        byte c = PeekCode();
        if (c == MsgPackCode.Float64) { _position++; return BinaryPrimitives.ReadDoubleBigEndian(Take(8)); }
        if (c == MsgPackCode.Float32) { _position++; return BinaryPrimitives.ReadSingleBigEndian(Take(4)); }
        if (c == MsgPackCode.UInt64) return ReadUInt64();
        return ReadInt64();
    }

    public float ReadSingle() => (float)ReadDouble();

    /// <summary>The UTF-8 bytes of a string, without decoding or copying them.</summary>
    public ReadOnlySpan<byte> ReadStringSpan()
    {
        int start = _position;
        byte c = TakeCode();
        int length;
        if (c is >= MsgPackCode.MinFixStr and <= MsgPackCode.MaxFixStr) length = c & 0x1f;
        else if (c == MsgPackCode.Str8) length = Take(1)[0];
        else if (c == MsgPackCode.Str16) length = BinaryPrimitives.ReadUInt16BigEndian(Take(2));
        else if (c == MsgPackCode.Str32) length = CheckedCount(BinaryPrimitives.ReadUInt32BigEndian(Take(4)));
        else throw MsgPackException.Unexpected(c, "string", start);
        return Take(length);
    }

    /// <summary>A string, or null for nil. Interned through <see cref="Strings"/> when one is set.</summary>
    public string? ReadString()
    {
        if (TryReadNil()) return null;
        ReadOnlySpan<byte> utf8 = ReadStringSpan();
        try
        {
            return Strings is { } cache ? cache.GetOrAdd(utf8) : Utf8StringCache.Strict.GetString(utf8);
        }
        catch (DecoderFallbackException)
        {
            throw new MsgPackException($"invalid UTF-8 in string ending at byte {_position}");
        }
    }

    public ReadOnlySpan<byte> ReadBinarySpan()
    {
        int start = _position;
        byte c = TakeCode();
        int length = c switch
        {
            MsgPackCode.Bin8 => Take(1)[0],
            MsgPackCode.Bin16 => BinaryPrimitives.ReadUInt16BigEndian(Take(2)),
            MsgPackCode.Bin32 => CheckedCount(BinaryPrimitives.ReadUInt32BigEndian(Take(4))),
            _ => throw MsgPackException.Unexpected(c, "binary", start),
        };
        return Take(length);
    }

    public byte[]? ReadBinary() => TryReadNil() ? null : ReadBinarySpan().ToArray();

    public Guid ReadGuid()
    {
        int start = _position;
        ReadOnlySpan<byte> bytes = ReadBinarySpan();
        if (bytes.Length != 16) throw new MsgPackException($"a UUID must be 16 bytes, found {bytes.Length} at byte {start}");
        return new Guid(bytes, bigEndian: true);
    }

    public DateTimeOffset ReadDateTimeOffset()
    {
        int start = _position;
        byte c = TakeCode();
        int length;
        switch (c)
        {
            case MsgPackCode.FixExt4: length = 4; break;
            case MsgPackCode.FixExt8: length = 8; break;
            case MsgPackCode.Ext8: length = Take(1)[0]; break;
            default: throw MsgPackException.Unexpected(c, "timestamp", start);
        }
        sbyte type = unchecked((sbyte)Take(1)[0]);
        if (type != MsgPackCode.TimestampExtType) throw new MsgPackException($"extension type {type} is not a timestamp at byte {start}");
        ReadOnlySpan<byte> data = Take(length);
        long seconds;
        uint nanos;
        switch (length)
        {
            case 4: seconds = BinaryPrimitives.ReadUInt32BigEndian(data); nanos = 0; break;
            case 8:
                ulong v = BinaryPrimitives.ReadUInt64BigEndian(data);
                nanos = (uint)(v >> 34);
                seconds = (long)(v & 0x3_ffff_ffffUL);
                break;
            case 12:
                nanos = BinaryPrimitives.ReadUInt32BigEndian(data);
                seconds = BinaryPrimitives.ReadInt64BigEndian(data[4..]);
                break;
            default: throw new MsgPackException($"timestamp of {length} bytes at byte {start}");
        }
        if (nanos >= 1_000_000_000) throw new MsgPackException($"timestamp nanoseconds out of range at byte {start}");
        const long maxSeconds = 253402300799; // 9999-12-31T23:59:59Z
        const long minSeconds = -62135596800; // 0001-01-01T00:00:00Z
        if (seconds is > maxSeconds or < minSeconds) throw new MsgPackException($"timestamp out of range at byte {start}");
        return new DateTimeOffset(DateTime.UnixEpoch.Ticks + seconds * TimeSpan.TicksPerSecond + nanos / 100, TimeSpan.Zero);
    }

    public DateTime ReadDateTime() => ReadDateTimeOffset().UtcDateTime;

    public TimeSpan ReadTimeSpan() => new(ReadInt64());

    /// <summary>Skips one value of any type (used for unknown map keys, so newer senders stay readable).</summary>
    public void Skip()
    {
        int start = _position;
        byte c = TakeCode();
        if (c <= MsgPackCode.MaxFixInt || c >= MsgPackCode.MinNegativeFixInt) return;
        if (c is >= MsgPackCode.MinFixMap and <= MsgPackCode.MaxFixMap) { _position = start; SkipMap(); return; }
        if (c is >= MsgPackCode.MinFixArray and <= MsgPackCode.MaxFixArray) { _position = start; SkipArray(); return; }
        if (c is >= MsgPackCode.MinFixStr and <= MsgPackCode.MaxFixStr) { Take(c & 0x1f); return; }
        switch (c)
        {
            case MsgPackCode.Nil: case MsgPackCode.True: case MsgPackCode.False: return;
            case MsgPackCode.UInt8: case MsgPackCode.Int8: Take(1); return;
            case MsgPackCode.UInt16: case MsgPackCode.Int16: Take(2); return;
            case MsgPackCode.UInt32: case MsgPackCode.Int32: case MsgPackCode.Float32: Take(4); return;
            case MsgPackCode.UInt64: case MsgPackCode.Int64: case MsgPackCode.Float64: Take(8); return;
            case MsgPackCode.Str8: case MsgPackCode.Bin8: Take(Take(1)[0]); return;
            case MsgPackCode.Str16: case MsgPackCode.Bin16: Take(BinaryPrimitives.ReadUInt16BigEndian(Take(2))); return;
            case MsgPackCode.Str32: case MsgPackCode.Bin32: Take(CheckedCount(BinaryPrimitives.ReadUInt32BigEndian(Take(4)))); return;
            case MsgPackCode.FixExt1: Take(2); return;
            case MsgPackCode.FixExt2: Take(3); return;
            case MsgPackCode.FixExt4: Take(5); return;
            case MsgPackCode.FixExt8: Take(9); return;
            case MsgPackCode.FixExt16: Take(17); return;
            case MsgPackCode.Ext8: Take(Take(1)[0] + 1); return;
            case MsgPackCode.Ext16: Take(BinaryPrimitives.ReadUInt16BigEndian(Take(2)) + 1); return;
            case MsgPackCode.Ext32: Take(CheckedCount(BinaryPrimitives.ReadUInt32BigEndian(Take(4))) + 1); return;
            case MsgPackCode.Array16: case MsgPackCode.Array32: _position = start; SkipArray(); return;
            case MsgPackCode.Map16: case MsgPackCode.Map32: _position = start; SkipMap(); return;
            default: throw MsgPackException.Unexpected(c, "a value", start);
        }
    }

    private void SkipMap()
    {
        int n = ReadMapHeader();
        EnterNested();
        for (int i = 0; i < n; i++) { Skip(); Skip(); }
        ExitNested();
    }

    private void SkipArray()
    {
        int n = ReadArrayHeader();
        EnterNested();
        for (int i = 0; i < n; i++) Skip();
        ExitNested();
    }

    /// <summary>Reads one whole value and returns its raw MessagePack bytes.</summary>
    public ReadOnlySpan<byte> ReadRaw()
    {
        int start = _position;
        Skip();
        return _buffer[start.._position];
    }
}
