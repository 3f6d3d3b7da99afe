using System.Buffers;
using Alicia.Contracts.Messages;
using Alicia.Contracts.Serialization;

namespace Alicia.Contracts.Tests;

public sealed class EnvelopeCodecTests
{
    private static readonly EnvelopeHeader Header = new(Guid.Parse("0190f3c2-7d8e-7abc-8def-0123456789ab"), Samples.Instant, "sensor-hall", EnvelopeHeader.Broadcast, MessageKind.Event);

    private static readonly SensorTelemetry Telemetry = new() { DeviceId = "sensor-hall", Sensor = "temperature", Value = 21.25, Unit = "celsius", Location = "hall" };

    private static byte[] Encode<T>(in Envelope<T> envelope, bool reserveSignature) where T : IAliciaSerializable<T>
    {
        Envelope<T> copy = envelope;
        return Samples.Build((ref MsgPackWriter w) => EnvelopeCodec.Write(ref w, copy, reserveSignature));
    }

    [Fact]
    public void Round_trips_header_payload_metadata_and_encryption()
    {
        var encryption = new EncryptionInfo { Algorithm = "chacha20-poly1305", KeyAgreement = "x25519", EphemeralKey = new byte[32], Nonce = new byte[12], Recipient = "hub" };
        var metadata = new Dictionary<string, string> { ["trace_id"] = "abc", ["room"] = "hall" };
        var clear = new Envelope<SensorTelemetry>(Header, Telemetry, metadata);
        byte[] clearBytes = Encode(clear, reserveSignature: false);
        Envelope<SensorTelemetry> clearBack = EnvelopeCodec.Read<SensorTelemetry>(clearBytes, new Utf8StringCache(), out int clearOffset);
        Assert.Equal(-1, clearOffset);
        Assert.Equal(Header, clearBack.Header);
        Assert.Equal(Telemetry, clearBack.Data);
        Assert.Equal(metadata, clearBack.Metadata);
        Assert.False(clearBack.IsSealed);

        // With encryption described, payload.data is the ciphertext (binary) and round-trips as such.
        byte[] ciphertext = [1, 2, 3, 4, 5, 6, 7, 8];
        Envelope<SensorTelemetry> sealedEnvelope = clear.Sealed(encryption, ciphertext);
        byte[] bytes = Encode(sealedEnvelope, reserveSignature: false);
        Envelope<SensorTelemetry> back = EnvelopeCodec.Read<SensorTelemetry>(bytes, new Utf8StringCache(), out int signatureOffset);
        Assert.Equal(-1, signatureOffset);
        Assert.Equal(Header, back.Header);
        Assert.Equal(ciphertext, back.SealedData.ToArray());
        Assert.Equal(metadata, back.Metadata);
        Assert.Null(Samples.Difference(encryption, back.Encryption));
        Assert.Equal(Attestation.None, back.Attestation);
    }

    [Fact]
    public void Reserved_signature_is_the_last_66_bytes()
    {
        byte[] bytes = Encode(new Envelope<SensorTelemetry>(Header, Telemetry), reserveSignature: true);
        EnvelopeCodec.Read<SensorTelemetry>(bytes, null, out int offset);
        Assert.Equal(bytes.Length - EnvelopeCodec.SignatureSlotLength, offset);
        Assert.Equal(new byte[] { 0xc4, 64 }, bytes[offset..(offset + 2)]);
        Assert.All(bytes[(offset + 2)..], b => Assert.Equal(0, b));

        // The signer fills the slot in place: still valid, same offset.
        Random.Shared.NextBytes(bytes.AsSpan(offset + 2));
        EnvelopeCodec.Read<SensorTelemetry>(bytes, null, out int again);
        Assert.Equal(offset, again);
    }

    private static byte[] Handmade(string? skip = null, int signatureLength = 64, bool securityFirst = false, bool trailing = false) => Samples.Build((ref MsgPackWriter w) =>
    {
        string[] fields = ["message_id", "timestamp", "source", "destination", "message_type", "payload", "security"];
        if (securityFirst) fields = ["security", .. fields[..^1]];
        fields = fields.Where(f => f != skip).ToArray();
        w.WriteMapHeader(fields.Length);
        foreach (string f in fields)
        {
            w.Write(f);
            switch (f)
            {
                case "message_id": w.Write(Header.MessageId); break;
                case "timestamp": w.Write(Header.Timestamp); break;
                case "source": w.Write(Header.Source); break;
                case "destination": w.Write(Header.Destination); break;
                case "message_type": w.Write("event"); break;
                case "payload":
                    w.WriteMapHeader(skip == "payload.data" ? 0 : 1);
                    if (skip != "payload.data") { w.Write("data"); SensorTelemetry.Write(ref w, Telemetry); }
                    break;
                case "security":
                    w.WriteMapHeader(2);
                    w.Write("encryption"); w.WriteNil();
                    w.Write("signature"); w.Write(new byte[signatureLength]);
                    break;
            }
        }
        if (trailing) w.WriteNil();
    });

    [Fact]
    public void Handmade_envelope_is_valid() =>
        Assert.Equal(Telemetry, EnvelopeCodec.Read<SensorTelemetry>(Handmade(), null, out _).Data);

    [Fact]
    public void Signature_that_is_not_the_last_value_is_malformed()
    {
        var e = Assert.Throws<MsgPackException>(() => EnvelopeCodec.Read<SensorTelemetry>(Handmade(securityFirst: true), null, out _));
        Assert.Contains("signature must be the last value", e.Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(63)]
    [InlineData(65)]
    public void Signature_of_the_wrong_length_is_malformed(int length)
    {
        var e = Assert.Throws<MsgPackException>(() => EnvelopeCodec.Read<SensorTelemetry>(Handmade(signatureLength: length), null, out _));
        Assert.Contains($"found {length}", e.Message);
    }

    [Theory]
    [InlineData("message_id")]
    [InlineData("timestamp")]
    [InlineData("source")]
    [InlineData("destination")]
    [InlineData("message_type")]
    [InlineData("payload.data")]
    public void Missing_field_is_named(string field)
    {
        var e = Assert.Throws<MsgPackException>(() => EnvelopeCodec.Read<SensorTelemetry>(Handmade(skip: field == "payload.data" ? "payload.data" : field), null, out _));
        Assert.Equal($"envelope field '{field}' is missing", e.Message);
    }

    [Fact]
    public void Trailing_bytes_are_malformed() =>
        Assert.Contains("trailing", Assert.Throws<MsgPackException>(() => EnvelopeCodec.Read<SensorTelemetry>(Handmade(trailing: true), null, out _)).Message);

    [Fact]
    public void Unknown_message_type_is_named()
    {
        // Latin-1 maps bytes to chars one to one, so the text replace patches the encoded fixstr in place.
        string text = System.Text.Encoding.Latin1.GetString(Handmade());
        byte[] patched = System.Text.Encoding.Latin1.GetBytes(text.Replace("\u00a5event", "\u00a5eveXt", StringComparison.Ordinal));
        Assert.Contains("'eveXt'", Assert.Throws<MsgPackException>(() => EnvelopeCodec.Read<SensorTelemetry>(patched, null, out _)).Message);
    }

    [Fact]
    public void Truncated_envelope_throws_MsgPackException_at_every_cut()
    {
        var envelope = new Envelope<ServiceHealth>(Header, (ServiceHealth)Samples.Populate(typeof(ServiceHealth)), new Dictionary<string, string> { ["k"] = "v" },
            new EncryptionInfo { Algorithm = "a", EphemeralKey = [1], Nonce = [2] });
        byte[] bytes = Encode(envelope, reserveSignature: true);
        for (int cut = 0; cut < bytes.Length; cut++)
        {
            byte[] prefix = bytes[..cut];
            Exception? e = Record.Exception(() => EnvelopeCodec.Read<ServiceHealth>(prefix, null, out _));
            Assert.True(e is MsgPackException, $"cut {cut}: {e?.GetType().Name ?? "none"}");
        }
    }

    [Fact]
    public void Header_can_be_read_without_the_payload()
    {
        byte[] bytes = Encode(new Envelope<SensorTelemetry>(Header, Telemetry), reserveSignature: true);
        Assert.True(EnvelopeCodec.TryReadHeader(bytes, out string? source, out Guid id));
        Assert.Equal("sensor-hall", source);
        Assert.Equal(Header.MessageId, id);
        Assert.False(EnvelopeCodec.TryReadHeader([0x81, 0xa1], out _, out _));
    }

    [Fact]
    public void Writing_and_reading_a_telemetry_envelope_allocates_nothing()
    {
        var envelope = new Envelope<SensorTelemetry>(Header, Telemetry);
        var buffer = new ArrayBufferWriter<byte>(1024);
        var strings = new Utf8StringCache();
        long checksum = 0;
        for (int i = 0; i < 100; i++) checksum += WriteOnce(buffer, envelope) + ReadOnce(buffer, strings);

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++) checksum += WriteOnce(buffer, envelope);
        long afterWrite = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++) checksum += ReadOnce(buffer, strings);
        long afterRead = GC.GetAllocatedBytesForCurrentThread();

        Assert.Equal(0, afterWrite - before);
        Assert.Equal(0, afterRead - afterWrite);
        Assert.NotEqual(0, checksum);
    }

    [Fact]
    public void Writing_an_envelope_with_metadata_allocates_nothing()
    {
        var envelope = new Envelope<SensorTelemetry>(Header, Telemetry, new Dictionary<string, string> { ["trace_id"] = "t-1", ["room"] = "hall" });
        var buffer = new ArrayBufferWriter<byte>(1024);
        long size = 0;
        for (int i = 0; i < 100; i++) size += WriteOnce(buffer, envelope);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++) size += WriteOnce(buffer, envelope);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal("t-1", EnvelopeCodec.Read<SensorTelemetry>(buffer.WrittenSpan, null, out _).Metadata!["trace_id"]);
        Assert.True(size > 0);
    }

    [Fact]
    public void Allocation_measurement_sees_uncached_strings()
    {
        // Control for the zero-allocation test: without a string cache, decoding allocates the strings.
        var buffer = new ArrayBufferWriter<byte>(1024);
        WriteOnce(buffer, new Envelope<SensorTelemetry>(Header, Telemetry));
        ReadOnce(buffer, null);
        long before = GC.GetAllocatedBytesForCurrentThread();
        ReadOnce(buffer, null);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before > 0);
    }

    private static int WriteOnce(ArrayBufferWriter<byte> buffer, in Envelope<SensorTelemetry> envelope)
    {
        buffer.ResetWrittenCount();
        var writer = new MsgPackWriter(buffer);
        EnvelopeCodec.Write(ref writer, envelope, reserveSignature: true);
        writer.Flush();
        return buffer.WrittenCount;
    }

    private static int ReadOnce(ArrayBufferWriter<byte> buffer, Utf8StringCache? strings)
    {
        Envelope<SensorTelemetry> back = EnvelopeCodec.Read<SensorTelemetry>(buffer.WrittenSpan, strings, out int offset);
        return offset + back.Data.Unit.Length;
    }
}
