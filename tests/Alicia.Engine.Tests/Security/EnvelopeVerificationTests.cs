using System.Buffers;
using Alicia.Contracts;
using Alicia.Contracts.Messages;
using Alicia.Contracts.Serialization;
using Alicia.Engine.Security;

namespace Alicia.Engine.Tests.Security;

public sealed class EnvelopeVerificationTests : IDisposable
{
    private const string Topic = "alicia/devices/sensors/telemetry";
    private readonly SigningRig _rig = new();

    public void Dispose() => _rig.Dispose();

    [Fact]
    public void Signed_message_verifies_and_decodes()
    {
        Envelope<SensorTelemetry> sent = _rig.Envelope(23.25);
        byte[] bytes = _rig.Sign(Topic, sent);

        Verdict verdict = _rig.Verifier.Verify(Topic, bytes, out Envelope<SensorTelemetry> received);

        Assert.True(verdict.Accepted, verdict.ToString());
        Assert.Equal(sent.MessageId, received.MessageId);
        Assert.Equal("sensor-1", received.Source);
        Assert.Equal(23.25, received.Data.Value);
        Assert.Equal("kitchen", received.Data.Location);
        Assert.Equal(Attestation.SourceSigned, received.Attestation);
        Assert.Equal(1, _rig.Verifier.Metrics.AcceptedCount);
    }

    [Fact]
    public void Every_single_flipped_byte_is_refused()
    {
        byte[] bytes = _rig.Sign(Topic, _rig.Envelope());
        for (int i = 0; i < bytes.Length; i++)
        {
            byte[] tampered = (byte[])bytes.Clone();
            tampered[i] ^= 0x01;
            Verdict verdict = _rig.Verifier.Verify(Topic, tampered, out Envelope<SensorTelemetry> _);
            Assert.False(verdict.Accepted, $"flipping byte {i} was accepted");
            Assert.Contains(verdict.Reason, new[] { RejectReason.BadSignature, RejectReason.Malformed, RejectReason.Stale, RejectReason.UnknownSource, RejectReason.Unsigned });
        }
        Assert.True(_rig.Verifier.Metrics.RejectedCount(RejectReason.BadSignature) > bytes.Length / 2);
    }

    [Fact]
    public void Tampered_payload_value_is_refused_as_bad_signature()
    {
        Envelope<SensorTelemetry> original = _rig.Envelope(20.0);
        byte[] bytes = _rig.Sign(Topic, original);
        // Re-encode the same envelope with another value but keep the original signature.
        var forged = new Envelope<SensorTelemetry>(original.Header, SigningRig.Reading(99.0));
        var writer = new ArrayBufferWriter<byte>();
        var mp = new MsgPackWriter(writer);
        EnvelopeCodec.Write(ref mp, forged, reserveSignature: true);
        mp.Flush();
        byte[] forgedBytes = writer.WrittenSpan.ToArray();
        bytes.AsSpan(bytes.Length - 64).CopyTo(forgedBytes.AsSpan(forgedBytes.Length - 64));

        Verdict verdict = _rig.Verifier.Verify(Topic, forgedBytes, out Envelope<SensorTelemetry> _);

        Assert.Equal(RejectReason.BadSignature, verdict.Reason);
        Assert.Contains("sensor-1", verdict.Detail);
    }

    [Fact]
    public void A_message_replayed_onto_another_topic_is_refused()
    {
        byte[] bytes = _rig.Sign("alicia/devices/lamp-1/data", _rig.Envelope());
        Verdict verdict = _rig.Verifier.Verify("alicia/devices/lamp-2/data", bytes, out Envelope<SensorTelemetry> _);
        Assert.Equal(RejectReason.BadSignature, verdict.Reason);
    }

    [Fact]
    public void Replayed_message_is_refused_the_second_time()
    {
        byte[] bytes = _rig.Sign(Topic, _rig.Envelope());
        Assert.True(_rig.Verifier.Verify(Topic, bytes, out Envelope<SensorTelemetry> _).Accepted);

        Verdict again = _rig.Verifier.Verify(Topic, bytes, out Envelope<SensorTelemetry> _);

        Assert.Equal(RejectReason.Replayed, again.Reason);
        Assert.Equal(1, _rig.Verifier.Metrics.RejectedCount(RejectReason.Replayed));
    }

    [Theory]
    [InlineData(-31)]
    [InlineData(31)]
    [InlineData(-3600)]
    public void Message_outside_the_clock_skew_is_refused_as_stale(int secondsOff)
    {
        var header = new EnvelopeHeader(Guid.NewGuid(), _rig.Clock.GetUtcNow().AddSeconds(secondsOff), "sensor-1", "broadcast", MessageKind.Event);
        byte[] bytes = _rig.Sign(Topic, new Envelope<SensorTelemetry>(header, SigningRig.Reading()));

        Verdict verdict = _rig.Verifier.Verify(Topic, bytes, out Envelope<SensorTelemetry> _);

        Assert.Equal(RejectReason.Stale, verdict.Reason);
        Assert.Equal(1, _rig.Verifier.Metrics.RejectedCount(RejectReason.Stale));
    }

    [Fact]
    public void Message_inside_the_skew_is_accepted()
    {
        var header = new EnvelopeHeader(Guid.NewGuid(), _rig.Clock.GetUtcNow().AddSeconds(-29), "sensor-1", "broadcast", MessageKind.Event);
        byte[] bytes = _rig.Sign(Topic, new Envelope<SensorTelemetry>(header, SigningRig.Reading()));
        Assert.True(_rig.Verifier.Verify(Topic, bytes, out Envelope<SensorTelemetry> _).Accepted);
    }

    [Fact]
    public void Unsigned_message_is_refused()
    {
        var writer = new ArrayBufferWriter<byte>();
        var mp = new MsgPackWriter(writer);
        EnvelopeCodec.Write(ref mp, _rig.Envelope(), reserveSignature: false);
        mp.Flush();

        Verdict verdict = _rig.Verifier.Verify(Topic, writer.WrittenSpan, out Envelope<SensorTelemetry> _);

        Assert.Equal(RejectReason.Unsigned, verdict.Reason);
        Assert.Equal(1, _rig.Verifier.Metrics.RejectedCount(RejectReason.Unsigned));
    }

    [Theory]
    [InlineData(new byte[0])]
    [InlineData(new byte[] { 0xc1 })]
    [InlineData(new byte[] { 0x81, 0xa3, (byte)'f', (byte)'o', (byte)'o' })]
    [InlineData(new byte[] { 0xdf, 0xff, 0xff, 0xff, 0xff })]
    public void Garbage_is_refused_as_malformed(byte[] garbage)
    {
        Verdict verdict = _rig.Verifier.Verify(Topic, garbage, out Envelope<SensorTelemetry> _);
        Assert.Equal(RejectReason.Malformed, verdict.Reason);
        Assert.False(string.IsNullOrEmpty(verdict.Detail));
    }

    [Fact]
    public void Every_truncation_of_a_valid_message_is_refused_without_crashing()
    {
        byte[] bytes = _rig.Sign(Topic, _rig.Envelope());
        for (int length = 0; length < bytes.Length; length++)
        {
            Verdict verdict = _rig.Verifier.Verify(Topic, bytes.AsSpan(0, length), out Envelope<SensorTelemetry> _);
            Assert.False(verdict.Accepted, $"a message truncated to {length} bytes was accepted");
        }
    }

    [Fact]
    public void Unknown_source_is_refused()
    {
        using var stranger = new SigningRig("stranger");
        byte[] bytes = stranger.Sign(Topic, stranger.Envelope());
        _rig.Clock.SetUtcNow(stranger.Clock.GetUtcNow());

        Verdict verdict = _rig.Verifier.Verify(Topic, bytes, out Envelope<SensorTelemetry> _);

        Assert.Equal(RejectReason.UnknownSource, verdict.Reason);
        Assert.Contains("stranger", verdict.Detail);
    }

    [Fact]
    public void A_message_signed_with_someone_elses_key_is_refused()
    {
        using var impostor = new SigningRig("impostor");
        // The impostor signs a message claiming to be sensor-1.
        using var fakeIdentity = new SigningIdentity("sensor-1", impostor.Identity.Key);
        var fakeSigner = new EnvelopeSigner(fakeIdentity);
        var output = new ArrayBufferWriter<byte>();
        fakeSigner.Encode(output, Topic, _rig.Envelope());

        Verdict verdict = _rig.Verifier.Verify(Topic, output.WrittenSpan, out Envelope<SensorTelemetry> _);

        Assert.Equal(RejectReason.BadSignature, verdict.Reason);
    }

    [Fact]
    public void Oversize_message_is_refused_before_parsing()
    {
        using var rig = new SigningRig(options: new VerifierOptions { MaxMessageBytes = 1024 });
        Verdict verdict = rig.Verifier.Verify(Topic, new byte[1025], out Envelope<SensorTelemetry> _);
        Assert.Equal(RejectReason.Oversize, verdict.Reason);
        Assert.Equal(1, rig.Verifier.Metrics.RejectedCount(RejectReason.Oversize));
    }

    [Fact]
    public void Signer_refuses_an_envelope_from_another_source()
    {
        var envelope = new Envelope<SensorTelemetry>(EnvelopeHeader.Create("someone-else", "broadcast", MessageKind.Event), SigningRig.Reading());
        Assert.Throws<ArgumentException>(() => _rig.Sign(Topic, envelope));
    }

    [Fact]
    public void Json_message_verifies_with_the_same_signature_rules()
    {
        Envelope<SensorTelemetry> sent = _rig.Envelope(18.5);
        var output = new ArrayBufferWriter<byte>();
        _rig.Signer.EncodeJson(output, Topic, sent);
        string json = System.Text.Encoding.UTF8.GetString(output.WrittenSpan);
        Assert.Contains("\"message_type\":\"event\"", json);

        // Tampered first: once the genuine message is received, its id is refused as a replay before any signature check.
        byte[] tampered = System.Text.Encoding.UTF8.GetBytes(json.Replace("18.5", "81.5", StringComparison.Ordinal));
        Assert.Equal(RejectReason.BadSignature, _rig.Verifier.VerifyJson(Topic, tampered, out Envelope<SensorTelemetry> _).Reason);

        Verdict verdict = _rig.Verifier.VerifyJson(Topic, output.WrittenSpan, out Envelope<SensorTelemetry> received);
        Assert.True(verdict.Accepted, verdict.ToString());
        Assert.Equal(18.5, received.Data.Value);
        Assert.Equal(RejectReason.Replayed, _rig.Verifier.VerifyJson(Topic, tampered, out Envelope<SensorTelemetry> _).Reason);
        Assert.Equal(RejectReason.Malformed, _rig.Verifier.VerifyJson(Topic, "{\"message_id\":"u8, out Envelope<SensorTelemetry> _).Reason);
    }

    [Fact]
    public void Sequence_numbers_are_signed_and_gaps_are_visible()
    {
        byte[][] signed = [.. Enumerable.Range(0, 5).Select(i => _rig.Sign(Topic, _rig.Envelope(i)))];
        foreach (int i in new[] { 0, 1, 3, 4 }) // message 3 (index 2) never arrives
        {
            Assert.True(_rig.Verifier.Verify(Topic, signed[i], out Envelope<SensorTelemetry> received).Accepted);
            Assert.Equal(i + 1, received.Sequence);
        }

        Assert.Equal((5, 1, 0), _rig.Verifier.Sequences.Of("sensor-1"));
        Assert.Equal(1, _rig.Verifier.Metrics.SequenceGapCount);

        // Changing the sequence breaks the signature like any other field.
        byte[] tampered = (byte[])signed[2].Clone();
        int at = tampered.AsSpan().IndexOf("sequence"u8) + "sequence"u8.Length;
        tampered[at] = 0x09;
        Assert.Equal(RejectReason.BadSignature, _rig.Verifier.Verify(Topic, tampered, out Envelope<SensorTelemetry> _).Reason);
    }

    [Fact]
    public void During_a_renewal_overlap_messages_signed_with_the_previous_key_still_verify_then_not()
    {
        using var renewed = SigningIdentity.Create("sensor-1");
        byte[] oldSigned = _rig.Sign(Topic, _rig.Envelope(1));
        _rig.Trust.Trust("sensor-1", renewed.PublicKey, _rig.Identity.PublicKey, _rig.Clock.GetUtcNow().AddHours(1));

        Assert.True(_rig.Verifier.Verify(Topic, oldSigned, out Envelope<SensorTelemetry> _).Accepted);
        var fresh = new EnvelopeSigner(renewed);
        var output = new ArrayBufferWriter<byte>();
        fresh.Encode(output, Topic, new Envelope<SensorTelemetry>(EnvelopeHeader.Create("sensor-1", "broadcast", MessageKind.Event, _rig.Clock), SigningRig.Reading()));
        Assert.True(_rig.Verifier.Verify(Topic, output.WrittenSpan, out Envelope<SensorTelemetry> _).Accepted);

        _rig.Clock.Advance(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(1));
        byte[] lateOld = _rig.Sign(Topic, _rig.Envelope(2));
        Assert.Equal(RejectReason.BadSignature, _rig.Verifier.Verify(Topic, lateOld, out Envelope<SensorTelemetry> _).Reason);
    }

    [Fact]
    public void Encode_sign_and_verify_decode_allocate_nothing_in_steady_state()
    {
        var output = new ArrayBufferWriter<byte>(4096);
        const int count = 200;
        var envelopes = new Envelope<SensorTelemetry>[count];
        for (int i = 0; i < count; i++) envelopes[i] = _rig.Envelope(i);
        var signed = new byte[count][];
        for (int i = 0; i < count; i++) signed[i] = _rig.Sign(Topic, envelopes[i]);

        // Warm up: JIT, the per-thread scratch buffers and the string cache.
        for (int i = 0; i < 50; i++)
        {
            output.ResetWrittenCount();
            _rig.Signer.Encode(output, Topic, envelopes[i]);
            _rig.Verifier.Verify(Topic, signed[i], out Envelope<SensorTelemetry> _);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 50; i < count; i++)
        {
            output.ResetWrittenCount();
            _rig.Signer.Encode(output, Topic, envelopes[i]);
        }
        long afterSign = GC.GetAllocatedBytesForCurrentThread();
        int accepted = 0;
        for (int i = 50; i < count; i++)
        {
            if (_rig.Verifier.Verify(Topic, signed[i], out Envelope<SensorTelemetry> _).Accepted) accepted++;
        }
        long afterVerify = GC.GetAllocatedBytesForCurrentThread();

        Assert.Equal(count - 50, accepted);
        Assert.Equal(0, afterSign - before);
        Assert.Equal(0, afterVerify - afterSign);
    }
}
