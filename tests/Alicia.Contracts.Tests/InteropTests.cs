using System.Buffers;
using Alicia.Contracts.Messages;
using Alicia.Contracts.Serialization;
using MessagePack;

namespace Alicia.Contracts.Tests;

/// <summary>Our bytes read by MessagePack-CSharp 2.5 and its bytes read by us.</summary>
public sealed class InteropTests
{
    private static readonly long[] Integers =
        [0, 1, 127, 128, 255, 256, 65535, 65536, uint.MaxValue, uint.MaxValue + 1L, long.MaxValue, -1, -32, -33, -128, -129, -32768, -32769, int.MinValue, int.MinValue - 1L, long.MinValue];

    private static readonly string[] Strings = ["", "a", new string('b', 31), new string('c', 32), new string('d', 255), new string('e', 256), new string('f', 70000), "€😀ü"];

    [Fact]
    public void Our_primitives_are_read_by_MessagePack_CSharp()
    {
        var id = Guid.NewGuid();
        byte[] bytes = Samples.Build((ref MsgPackWriter w) =>
        {
            foreach (long v in Integers) w.Write(v);
            w.Write(ulong.MaxValue);
            foreach (string s in Strings) w.Write(s);
            w.Write(new byte[300]); w.Write(1.5f); w.Write(Math.E); w.Write(true); w.WriteNil();
            w.Write(Samples.Instant); w.Write(id);
        });
        var r = new MessagePackReader(bytes);
        foreach (long v in Integers) Assert.Equal(v, r.ReadInt64());
        Assert.Equal(ulong.MaxValue, r.ReadUInt64());
        foreach (string s in Strings) Assert.Equal(s, r.ReadString());
        Assert.Equal(300, r.ReadBytes()!.Value.Length);
        Assert.Equal(1.5f, r.ReadSingle());
        Assert.Equal(Math.E, r.ReadDouble());
        Assert.True(r.ReadBoolean());
        Assert.True(r.TryReadNil());
        Assert.Equal(Samples.Instant.UtcDateTime, r.ReadDateTime());
        Assert.Equal(id.ToByteArray(bigEndian: true), r.ReadBytes()!.Value.ToArray());
        Assert.True(r.End);
    }

    [Fact]
    public void MessagePack_CSharp_primitives_are_read_by_us()
    {
        var buffer = new ArrayBufferWriter<byte>();
        var w = new MessagePackWriter(buffer);
        foreach (long v in Integers) w.Write(v);
        w.Write(ulong.MaxValue);
        foreach (string s in Strings) w.Write(s);
        w.Write(new byte[300]); w.Write(1.5f); w.Write(Math.E); w.Write(false); w.WriteNil();
        // MessagePack-CSharp picks timestamp32/64/96 by value.
        w.Write(new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        w.Write(new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddTicks(5));
        w.Write(new DateTime(1900, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        w.WriteMapHeader(1); w.Write("k"); w.WriteArrayHeader(2); w.Write(1); w.Write("x");
        w.Flush();

        var r = new MsgPackReader(buffer.WrittenSpan);
        foreach (long v in Integers) Assert.Equal(v, r.ReadInt64());
        Assert.Equal(ulong.MaxValue, r.ReadUInt64());
        foreach (string s in Strings) Assert.Equal(s, r.ReadString());
        Assert.Equal(300, r.ReadBinary()!.Length);
        Assert.Equal(1.5f, r.ReadSingle());
        Assert.Equal(Math.E, r.ReadDouble());
        Assert.False(r.ReadBoolean());
        Assert.True(r.TryReadNil());
        Assert.Equal(new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc), r.ReadDateTime());
        Assert.Equal(new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddTicks(5), r.ReadDateTime());
        Assert.Equal(new DateTime(1900, 1, 1, 0, 0, 0, DateTimeKind.Utc), r.ReadDateTime());
        r.Skip();
        Assert.True(r.End);
    }

    [Fact]
    public void A_contract_is_a_plain_map_to_MessagePack_CSharp()
    {
        var health = new ServiceHealth
        {
            Service = "tts", Status = HealthStatus.Unhealthy, Metrics = new() { ["cpu"] = 0.5 },
            Dependencies = new() { ["stt"] = HealthStatus.Healthy }, LastHeartbeat = Samples.Instant, IntervalMs = 250, Sequence = 1L << 40,
        };
        var map = MessagePackSerializer.Deserialize<Dictionary<object, object>>(Samples.ToMsgPack(health));
        Assert.Equal("tts", map["service"]);
        Assert.Equal("unhealthy", map["status"]);
        Assert.Equal(0.5, ((Dictionary<object, object>)map["metrics"])["cpu"]);
        Assert.Equal("healthy", ((Dictionary<object, object>)map["dependencies"])["stt"]);
        Assert.Equal(Samples.Instant.UtcDateTime, map["last_heartbeat"]);
        Assert.Equal(250, Convert.ToInt32(map["interval_ms"]));
        Assert.Equal(1L << 40, Convert.ToInt64(map["sequence"]));
    }

    [Fact]
    public void A_map_written_by_MessagePack_CSharp_reads_as_a_contract()
    {
        var source = new Dictionary<string, object>
        {
            ["session_id"] = "s1", ["sample_rate"] = 22050, ["audio"] = new byte[] { 9, 8, 7 }, ["duration_ms"] = 12.5, ["extra"] = new object[] { 1, "two" },
        };
        byte[] bytes = MessagePackSerializer.Serialize(source);
        TtsResponse back = Samples.FromMsgPack<TtsResponse>(bytes);
        Assert.Equal("s1", back.SessionId);
        Assert.Equal(22050, back.SampleRate);
        Assert.Equal(new byte[] { 9, 8, 7 }, back.Audio);
        Assert.Equal(12.5, back.DurationMs);
    }
}
