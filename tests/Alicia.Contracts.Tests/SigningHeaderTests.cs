using Alicia.Contracts.Messages;
using Alicia.Contracts.Serialization;

namespace Alicia.Contracts.Tests;

/// <summary>
/// Issue 10 A8: <see cref="EnvelopeCodec.ReadSigningHeader"/> gives a verifier what it checks before decoding (id,
/// timestamp, source, attester, signature slot) without decoding the payload, interning or allocating.
/// </summary>
public sealed class SigningHeaderTests
{
    private static readonly EnvelopeHeader Header = new(Guid.Parse("0190f3c2-7d8e-7abc-8def-0123456789ab"), Samples.Instant, "sensor-hall", EnvelopeHeader.Broadcast, MessageKind.Event);

    private static byte[] Encode(in Envelope<SensorTelemetry> envelope, bool reserveSignature)
    {
        Envelope<SensorTelemetry> copy = envelope;
        return Samples.Build((ref MsgPackWriter w) => EnvelopeCodec.Write(ref w, copy, reserveSignature));
    }

    [Fact]
    public void Reads_the_header_fields_and_the_signature_slot()
    {
        var envelope = new Envelope<SensorTelemetry>(Header, new SensorTelemetry { DeviceId = "sensor-hall", Unit = "celsius" }, attestedBy: "alicia-engine");
        byte[] bytes = Encode(envelope, reserveSignature: true);

        EnvelopeSigningHeader header = EnvelopeCodec.ReadSigningHeader(bytes);
        Assert.Equal(Header.MessageId, header.MessageId);
        Assert.Equal(Header.Timestamp, header.Timestamp);
        Assert.True(header.Source.SequenceEqual("sensor-hall"u8));
        Assert.True(header.IsAttested);
        Assert.True(header.AttestedBy.SequenceEqual("alicia-engine"u8));
        Assert.Equal(bytes.Length - EnvelopeCodec.SignatureSlotLength, header.SignatureOffset);

        EnvelopeSigningHeader unsigned = EnvelopeCodec.ReadSigningHeader(Encode(new Envelope<SensorTelemetry>(Header, new SensorTelemetry()), reserveSignature: false));
        Assert.False(unsigned.IsSigned);
        Assert.False(unsigned.IsAttested);
    }

    [Fact]
    public void Steps_over_a_payload_that_would_not_decode_and_allocates_nothing()
    {
        // payload.data is a string where SensorTelemetry expects a map: the full decoder refuses it, the header reader does not look.
        byte[] bytes = Samples.Build((ref MsgPackWriter w) =>
        {
            w.WriteMapHeader(7);
            w.WriteString("message_id"u8); w.Write(Header.MessageId);
            w.WriteString("timestamp"u8); w.Write(Header.Timestamp);
            w.WriteString("source"u8); w.Write("sensor-hall");
            w.WriteString("destination"u8); w.Write("broadcast");
            w.WriteString("message_type"u8); w.WriteString("event"u8);
            w.WriteString("payload"u8); w.WriteMapHeader(1); w.WriteString("data"u8); w.Write("garbage");
            w.WriteString("security"u8); w.WriteMapHeader(1); w.WriteString("signature"u8); w.WriteBinPlaceholder(EnvelopeCodec.SignatureLength).Clear();
        });
        Assert.Throws<MsgPackException>(() => EnvelopeCodec.Read<SensorTelemetry>(bytes, null, out _));

        for (int i = 0; i < 10; i++) EnvelopeCodec.ReadSigningHeader(bytes);
        long before = GC.GetAllocatedBytesForCurrentThread();
        int offsets = 0;
        for (int i = 0; i < 1000; i++) offsets += EnvelopeCodec.ReadSigningHeader(bytes).SignatureOffset;
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(1000 * (bytes.Length - EnvelopeCodec.SignatureSlotLength), offsets);
    }

    [Fact]
    public void A_signature_that_is_not_last_or_a_missing_source_is_malformed()
    {
        byte[] notLast = Samples.Build((ref MsgPackWriter w) =>
        {
            w.WriteMapHeader(4);
            w.WriteString("message_id"u8); w.Write(Header.MessageId);
            w.WriteString("timestamp"u8); w.Write(Header.Timestamp);
            w.WriteString("security"u8); w.WriteMapHeader(1); w.WriteString("signature"u8); w.WriteBinPlaceholder(EnvelopeCodec.SignatureLength).Clear();
            w.WriteString("source"u8); w.Write("sensor-hall");
        });
        Assert.Contains("last value", Assert.Throws<MsgPackException>(() => EnvelopeCodec.ReadSigningHeader(notLast)).Message);

        byte[] noSource = Samples.Build((ref MsgPackWriter w) =>
        {
            w.WriteMapHeader(2);
            w.WriteString("message_id"u8); w.Write(Header.MessageId);
            w.WriteString("timestamp"u8); w.Write(Header.Timestamp);
        });
        Assert.Contains("'source' is missing", Assert.Throws<MsgPackException>(() => EnvelopeCodec.ReadSigningHeader(noSource)).Message);
    }
}
