using System.Text;
using Alicia.Contracts.Serialization;

namespace Alicia.Contracts.Tests;

public sealed class MsgPackPrimitiveTests
{
    public static TheoryData<long, byte, int> SignedCases => new()
    {
        { 0, 0x00, 1 }, { 1, 0x01, 1 }, { 127, 0x7f, 1 }, { 128, 0xcc, 2 }, { 255, 0xcc, 2 }, { 256, 0xcd, 3 },
        { 65535, 0xcd, 3 }, { 65536, 0xce, 5 }, { uint.MaxValue, 0xce, 5 }, { uint.MaxValue + 1L, 0xcf, 9 }, { long.MaxValue, 0xcf, 9 },
        { -1, 0xff, 1 }, { -32, 0xe0, 1 }, { -33, 0xd0, 2 }, { -128, 0xd0, 2 }, { -129, 0xd1, 3 }, { -32768, 0xd1, 3 },
        { -32769, 0xd2, 5 }, { int.MinValue, 0xd2, 5 }, { int.MinValue - 1L, 0xd3, 9 }, { long.MinValue, 0xd3, 9 },
    };

    [Theory]
    [MemberData(nameof(SignedCases))]
    public void Integers_use_the_smallest_encoding_and_round_trip(long value, byte code, int length)
    {
        byte[] bytes = Samples.Build((ref MsgPackWriter w) => w.Write(value));
        Assert.Equal(code, bytes[0]);
        Assert.Equal(length, bytes.Length);
        var r = new MsgPackReader(bytes);
        Assert.Equal(value, r.ReadInt64());
        Assert.True(r.End);
        var d = new MsgPackReader(bytes);
        Assert.Equal((double)value, d.ReadDouble());
    }

    [Fact]
    public void Narrow_reads_check_their_range()
    {
        byte[] Int(long v) => Samples.Build((ref MsgPackWriter w) => w.Write(v));
        Assert.Equal(255, new MsgPackReader(Int(255)).ReadByte());
        Assert.Equal(-128, new MsgPackReader(Int(-128)).ReadSByte());
        Assert.Equal(short.MinValue, new MsgPackReader(Int(short.MinValue)).ReadInt16());
        Assert.Equal(ushort.MaxValue, new MsgPackReader(Int(ushort.MaxValue)).ReadUInt16());
        Assert.Equal(int.MinValue, new MsgPackReader(Int(int.MinValue)).ReadInt32());
        Assert.Equal(uint.MaxValue, new MsgPackReader(Int(uint.MaxValue)).ReadUInt32());
        Assert.Throws<MsgPackException>(() => new MsgPackReader(Int(256)).ReadByte());
        Assert.Throws<MsgPackException>(() => new MsgPackReader(Int(-129)).ReadSByte());
        Assert.Throws<MsgPackException>(() => new MsgPackReader(Int(32768)).ReadInt16());
        Assert.Throws<MsgPackException>(() => new MsgPackReader(Int(-1)).ReadUInt16());
        Assert.Throws<MsgPackException>(() => new MsgPackReader(Int(int.MaxValue + 1L)).ReadInt32());
        Assert.Throws<MsgPackException>(() => new MsgPackReader(Int(-1)).ReadUInt32());
        Assert.Throws<MsgPackException>(() => new MsgPackReader(Int(-1)).ReadUInt64());
        byte[] max = Samples.Build((ref MsgPackWriter w) => w.Write(ulong.MaxValue));
        Assert.Equal(ulong.MaxValue, new MsgPackReader(max).ReadUInt64());
        Assert.Throws<MsgPackException>(() => new MsgPackReader(max).ReadInt64());
        Assert.Throws<MsgPackException>(() => new MsgPackReader("\xa1x"u8.ToArray()).ReadInt64());
    }

    [Fact]
    public void Floats_keep_their_width()
    {
        byte[] f = Samples.Build((ref MsgPackWriter w) => w.Write(1.25f));
        Assert.Equal(new byte[] { 0xca, 0x3f, 0xa0, 0, 0 }, f);
        Assert.Equal(1.25f, new MsgPackReader(f).ReadSingle());
        byte[] d = Samples.Build((ref MsgPackWriter w) => w.Write(Math.PI));
        Assert.Equal(0xcb, d[0]);
        Assert.Equal(Math.PI, new MsgPackReader(d).ReadDouble());
    }

    [Theory]
    [InlineData(0, 0xa0, 1)]
    [InlineData(31, 0xbf, 1)]
    [InlineData(32, 0xd9, 2)]
    [InlineData(255, 0xd9, 2)]
    [InlineData(256, 0xda, 3)]
    [InlineData(65535, 0xda, 3)]
    [InlineData(65536, 0xdb, 5)]
    public void Strings_use_fixstr_str8_str16_str32(int length, byte code, int header)
    {
        string s = new('x', length);
        byte[] bytes = Samples.Build((ref MsgPackWriter w) => w.Write(s));
        Assert.Equal(code, bytes[0]);
        Assert.Equal(header + length, bytes.Length);
        Assert.Equal(s, new MsgPackReader(bytes).ReadString());
        Assert.Equal(s, new MsgPackReader(bytes, new Utf8StringCache()).ReadString());
        byte[] viaUtf8 = Samples.Build((ref MsgPackWriter w) => w.WriteString(Encoding.UTF8.GetBytes(s)));
        Assert.Equal(bytes, viaUtf8);
    }

    [Theory]
    [InlineData("€€€€€€€€€€")] // 10 chars, 30 bytes: the short in-place path at its limit
    [InlineData("😀😀😀😀😀")] // surrogate pairs
    [InlineData("ünïcödé-ünïcödé")]
    [InlineData("")]
    public void Multibyte_strings_round_trip(string s)
    {
        byte[] bytes = Samples.Build((ref MsgPackWriter w) => { w.Write(s); w.Write(s); });
        int n = Encoding.UTF8.GetByteCount(s);
        Assert.Equal(2 * (n + (n <= 31 ? 1 : 2)), bytes.Length);
        var r = new MsgPackReader(bytes);
        Assert.Equal(s, r.ReadString());
        Assert.Equal(s, r.ReadString());
        Assert.True(r.End);
    }

    [Fact]
    public void Invalid_utf8_is_a_MsgPackException()
    {
        byte[] bytes = [0xa2, 0xc3, 0x28];
        Assert.Throws<MsgPackException>(() => new MsgPackReader(bytes).ReadString());
        Assert.Throws<MsgPackException>(() => new MsgPackReader(bytes, new Utf8StringCache()).ReadString());
    }

    [Fact]
    public void String_cache_interns_repeated_values()
    {
        var cache = new Utf8StringCache();
        byte[] bytes = Samples.Build((ref MsgPackWriter w) => { w.Write("kitchen"); w.Write("kitchen"); });
        var r = new MsgPackReader(bytes, cache);
        Assert.Same(r.ReadString(), r.ReadString());
        Assert.Equal(1, cache.Count);
    }

    [Theory]
    [InlineData(0, 0xc4, 2)]
    [InlineData(255, 0xc4, 2)]
    [InlineData(256, 0xc5, 3)]
    [InlineData(65535, 0xc5, 3)]
    [InlineData(65536, 0xc6, 5)]
    public void Binary_uses_bin8_bin16_bin32(int length, byte code, int header)
    {
        byte[] data = Enumerable.Range(0, length).Select(i => (byte)i).ToArray();
        byte[] bytes = Samples.Build((ref MsgPackWriter w) => w.Write(data));
        Assert.Equal(code, bytes[0]);
        Assert.Equal(header + length, bytes.Length);
        Assert.Equal(data, new MsgPackReader(bytes).ReadBinary());
    }

    [Fact]
    public void Guid_is_16_bytes_big_endian()
    {
        var id = Guid.Parse("00112233-4455-6677-8899-aabbccddeeff");
        byte[] bytes = Samples.Build((ref MsgPackWriter w) => w.Write(id));
        Assert.Equal(new byte[] { 0xc4, 16, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff }, bytes);
        Assert.Equal(id, new MsgPackReader(bytes).ReadGuid());
        byte[] shortBin = Samples.Build((ref MsgPackWriter w) => w.Write(new byte[15]));
        Assert.Contains("16 bytes", Assert.Throws<MsgPackException>(() => new MsgPackReader(shortBin).ReadGuid()).Message);
    }

    public static TheoryData<DateTimeOffset> Instants => new()
    {
        DateTimeOffset.UnixEpoch, Samples.Instant, DateTimeOffset.MinValue, DateTimeOffset.MaxValue,
        new DateTimeOffset(1969, 12, 31, 23, 59, 59, TimeSpan.Zero).AddTicks(1), new DateTimeOffset(2030, 1, 1, 12, 0, 0, TimeSpan.FromHours(5)),
    };

    [Theory]
    [MemberData(nameof(Instants))]
    public void Timestamps_round_trip_to_the_tick(DateTimeOffset value)
    {
        byte[] bytes = Samples.Build((ref MsgPackWriter w) => w.Write(value));
        Assert.Equal(new byte[] { 0xc7, 12, 0xff }, bytes[..3]);
        DateTimeOffset back = new MsgPackReader(bytes).ReadDateTimeOffset();
        Assert.Equal(value.UtcTicks, back.UtcTicks);
        Assert.Equal(TimeSpan.Zero, back.Offset);
    }

    [Fact]
    public void Timestamp32_and_timestamp64_are_read()
    {
        byte[] ts32 = [0xd6, 0xff, 0x00, 0x00, 0x00, 0x3c];
        Assert.Equal(DateTimeOffset.UnixEpoch.AddSeconds(60), new MsgPackReader(ts32).ReadDateTimeOffset());
        ulong packed = (500_000_000UL << 34) | 61;
        byte[] ts64 = new byte[10];
        ts64[0] = 0xd7; ts64[1] = 0xff;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(ts64.AsSpan(2), packed);
        Assert.Equal(DateTimeOffset.UnixEpoch.AddSeconds(61.5), new MsgPackReader(ts64).ReadDateTimeOffset());
        byte[] wrongType = [0xd6, 0x05, 0, 0, 0, 0];
        Assert.Throws<MsgPackException>(() => new MsgPackReader(wrongType).ReadDateTimeOffset());
    }

    [Fact]
    public void DateTime_and_TimeSpan_round_trip()
    {
        var when = new DateTime(2001, 2, 3, 4, 5, 6, DateTimeKind.Utc).AddTicks(7);
        byte[] bytes = Samples.Build((ref MsgPackWriter w) => { w.Write(when); w.Write(TimeSpan.FromTicks(-123456789)); });
        var r = new MsgPackReader(bytes);
        Assert.Equal(when, r.ReadDateTime());
        Assert.Equal(TimeSpan.FromTicks(-123456789), r.ReadTimeSpan());
    }

    private static byte[] NestedArrays(int depth)
    {
        byte[] bytes = new byte[depth + 1];
        for (int i = 0; i < depth; i++) bytes[i] = 0x91; // fixarray of one item
        bytes[depth] = 0x01;
        return bytes;
    }

    [Fact]
    public void Nesting_is_limited_to_MaxDepth()
    {
        var ok = new MsgPackReader(NestedArrays(MsgPackReader.MaxDepth));
        ok.Skip();
        Assert.True(ok.End);
        byte[] deep = NestedArrays(MsgPackReader.MaxDepth + 1);
        Assert.Contains("nesting deeper", Assert.Throws<MsgPackException>(() => { var r = new MsgPackReader(deep); r.Skip(); }).Message);

        // Through a contract: the unknown value is skipped inside the contract's own nesting level.
        byte[] payload = Samples.Build((ref MsgPackWriter w) => { w.WriteMapHeader(1); w.WriteString("unknown"u8); w.WriteRaw(NestedArrays(MsgPackReader.MaxDepth)); });
        Assert.Throws<MsgPackException>(() => Samples.FromMsgPack<Messages.DeviceUnregistration>(payload));
    }

    [Fact]
    public void Absurd_counts_are_refused_before_allocating()
    {
        Assert.Throws<MsgPackException>(() => new MsgPackReader([0xdf, 0x7f, 0xff, 0xff, 0xff]).ReadMapHeader());
        Assert.Throws<MsgPackException>(() => new MsgPackReader([0xdd, 0x7f, 0xff, 0xff, 0xff]).ReadArrayHeader());
        Assert.Throws<MsgPackException>(() => new MsgPackReader([0xdb, 0xff, 0xff, 0xff, 0xff]).ReadStringSpan());
    }

    [Fact]
    public void Every_value_kind_can_be_skipped_and_raw_copied()
    {
        byte[] bytes = Samples.Build((ref MsgPackWriter w) =>
        {
            w.WriteArrayHeader(12);
            w.WriteNil(); w.Write(true); w.Write(-5); w.Write(70000); w.Write(1.5f); w.Write(2.5);
            w.Write("str"); w.Write(new byte[300]); w.Write(Guid.NewGuid()); w.Write(DateTimeOffset.UtcNow);
            w.WriteMapHeader(1); w.Write("k"); w.Write(ulong.MaxValue);
            w.WriteRaw([0xd4, 0x01, 0x02]); // fixext1
        });
        var r = new MsgPackReader(bytes);
        ReadOnlySpan<byte> raw = r.ReadRaw();
        Assert.True(r.End);
        Assert.Equal(bytes, raw.ToArray());
    }

    [Fact]
    public void Truncated_primitives_throw_MsgPackException_at_every_cut()
    {
        byte[] bytes = Samples.Build((ref MsgPackWriter w) =>
        {
            w.Write(long.MinValue); w.Write(ulong.MaxValue); w.Write(3.0); w.Write(new string('a', 40)); w.Write(new byte[20]);
            w.Write(Guid.NewGuid()); w.Write(DateTimeOffset.UtcNow); w.WriteMapHeader(1); w.Write("k"); w.WriteArrayHeader(1); w.Write(true);
        });
        for (int cut = 0; cut < bytes.Length; cut++)
        {
            byte[] prefix = bytes[..cut];
            Exception? e = Record.Exception(() =>
            {
                var r = new MsgPackReader(prefix);
                r.ReadInt64(); r.ReadUInt64(); r.ReadDouble(); r.ReadString(); r.ReadBinary(); r.ReadGuid(); r.ReadDateTimeOffset();
                r.ReadMapHeader(); r.ReadString(); r.ReadArrayHeader(); r.ReadBoolean();
            });
            Assert.True(e is MsgPackException, $"cut {cut}: {e?.GetType().Name ?? "none"}");
            Exception? skip = Record.Exception((Action)(() => { var r = new MsgPackReader(prefix); while (true) r.Skip(); }));
            Assert.IsType<MsgPackException>(skip);
        }
    }

    [Fact]
    public void Writer_commits_in_bulk_and_tracks_position()
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        var w = new MsgPackWriter(buffer);
        for (int i = 0; i < 1000; i++) w.Write(i);
        Assert.True(buffer.WrittenCount < w.Position, "the tail is still buffered before Flush");
        Assert.True(w.Position >= 1000);
        w.Flush();
        Assert.Equal(w.Position, buffer.WrittenCount);
        var r = new MsgPackReader(buffer.WrittenSpan);
        for (int i = 0; i < 1000; i++) Assert.Equal(i, r.ReadInt32());
    }
}
