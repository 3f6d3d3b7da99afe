using System.Buffers;
using Alicia.Contracts;
using Alicia.Contracts.Messages;
using Alicia.Contracts.Serialization;
using Alicia.Engine.Bus;
using Alicia.Engine.Monitoring;
using Alicia.Engine.Security;
using Alicia.Engine.Security.Audit;
using Alicia.Engine.Security.Gateway;
using MQTTnet;
using MQTTnet.Protocol;
using NSec.Cryptography;

namespace Alicia.Security.Tests;

/// <summary>
/// Issue 10 A8: the verifier decoded the whole payload (interning its strings, first come and never evicted) before the
/// skew, trust and signature checks. Now only the header is read before the signature is verified, and only verified
/// messages are decoded and interned; the string cache itself has a fixed capacity with eviction.
/// </summary>
public sealed class VerifyBeforeDecodeTests : IDisposable
{
    private const string Topic = "alicia/devices/sensor-1/data";
    private readonly TempDirectory _dir = new("alicia-a8");
    private readonly KeyDirectory _keys;
    private readonly SigningIdentity _sensor;

    public VerifyBeforeDecodeTests()
    {
        _keys = new KeyDirectory(_dir.Keys);
        _sensor = _keys.Create("sensor-1");
    }

    public void Dispose()
    {
        _sensor.Dispose();
        _dir.Dispose();
    }

    private EnvelopeVerifier Verifier(Utf8StringCache? strings = null) => new(new TrustStore(_keys), metrics: new BusMetrics(), strings: strings);

    private delegate void DataWriter(ref MsgPackWriter writer);

    /// <summary>An envelope written field by field, with a signature slot of zeros; <paramref name="data"/> writes payload.data as it likes.</summary>
    private static byte[] Raw(string source, DataWriter data)
    {
        var output = new ArrayBufferWriter<byte>();
        var w = new MsgPackWriter(output);
        w.WriteMapHeader(7);
        w.WriteString("message_id"u8); w.Write(Guid.NewGuid());
        w.WriteString("timestamp"u8); w.Write(DateTimeOffset.UtcNow);
        w.WriteString("source"u8); w.Write(source);
        w.WriteString("destination"u8); w.Write("broadcast");
        w.WriteString("message_type"u8); w.WriteString(MessageKindNames.ToUtf8(MessageKind.Event));
        w.WriteString("payload"u8); w.WriteMapHeader(1);
        w.WriteString("data"u8); data(ref w);
        w.WriteString("security"u8); w.WriteMapHeader(2);
        w.WriteString("encryption"u8); w.WriteNil();
        w.WriteString("signature"u8); w.WriteBinPlaceholder(EnvelopeCodec.SignatureLength).Clear();
        w.Flush();
        return output.WrittenSpan.ToArray();
    }

    /// <summary>Signs <paramref name="envelope"/> in place for <paramref name="topic"/> as a sender would.</summary>
    private static void SignInPlace(byte[] envelope, string topic, Key key)
    {
        var input = new ArrayBufferWriter<byte>();
        SigningInput.WritePrefix(input, topic);
        input.Write(envelope.AsSpan(0, envelope.Length - EnvelopeCodec.SignatureSlotLength));
        SignatureAlgorithm.Ed25519.Sign(key, input.WrittenSpan, envelope.AsSpan(envelope.Length - EnvelopeCodec.SignatureLength));
    }

    /// <summary>payload.data that is well-formed MessagePack but no <see cref="DeviceData"/>: decoding it must fail.</summary>
    private static void Garbage(ref MsgPackWriter w) => w.Write("this is not a map of values");

    [Fact]
    public void A_garbage_payload_under_a_wrong_signature_is_refused_for_its_signature_not_its_payload()
    {
        byte[] forged = Raw("sensor-1", Garbage);
        System.Security.Cryptography.RandomNumberGenerator.Fill(forged.AsSpan(forged.Length - EnvelopeCodec.SignatureLength));
        Verdict verdict = Verifier().Verify(Topic, forged, out Envelope<DeviceData> _);
        Assert.Equal(RejectReason.BadSignature, verdict.Reason);

        // The control: the same payload correctly signed is refused as malformed, so the payload really does not decode,
        // and the refusal above came before any attempt to decode it.
        byte[] genuine = Raw("sensor-1", Garbage);
        SignInPlace(genuine, Topic, _sensor.Key);
        Verdict decoded = Verifier().Verify(Topic, genuine, out Envelope<DeviceData> _);
        Assert.Equal(RejectReason.Malformed, decoded.Reason);
        Assert.Contains("map", decoded.Detail);
    }

    [Fact]
    public void A_garbage_payload_from_an_unknown_source_or_off_the_clock_is_refused_before_decoding()
    {
        byte[] unknown = Raw("nobody-knows-me", Garbage);
        Assert.Equal(RejectReason.UnknownSource, Verifier().Verify(Topic, unknown, out Envelope<DeviceData> _).Reason);

        var verifier = new EnvelopeVerifier(new TrustStore(_keys), metrics: new BusMetrics(), clock: new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow.AddHours(1)));
        byte[] stale = Raw("sensor-1", Garbage);
        SignInPlace(stale, Topic, _sensor.Key);
        Assert.Equal(RejectReason.Stale, verifier.Verify(Topic, stale, out Envelope<DeviceData> _).Reason);
    }

    [Fact]
    public void A_json_envelope_is_checked_on_its_header_before_its_payload_is_decoded()
    {
        // JSON signatures cover the canonical MessagePack re-encoding, so the payload must be decoded before the signature
        // check; the header checks (trust, clock) still come first.
        static byte[] Json(string source, DateTimeOffset at) => System.Text.Encoding.UTF8.GetBytes(
            $$$"""{"message_id":"{{{Guid.NewGuid()}}}","timestamp":"{{{at:O}}}","source":"{{{source}}}","destination":"broadcast","message_type":"event","payload":{"data":"garbage"},"security":{"encryption":null,"signature":"{{{Convert.ToBase64String(new byte[64])}}}"}}""");

        Assert.Equal(RejectReason.UnknownSource, Verifier().VerifyJson(Topic, Json("nobody-knows-me", DateTimeOffset.UtcNow), out Envelope<DeviceData> _).Reason);
        Assert.Equal(RejectReason.Stale, Verifier().VerifyJson(Topic, Json("sensor-1", DateTimeOffset.UtcNow.AddHours(-1)), out Envelope<DeviceData> _).Reason);
        // The control: from a trusted source on time, the same payload is decoded, and refused for it.
        Assert.Equal(RejectReason.Malformed, Verifier().VerifyJson(Topic, Json("sensor-1", DateTimeOffset.UtcNow), out Envelope<DeviceData> _).Reason);
    }

    [Fact]
    public void A_replayed_message_is_refused_before_its_signature_is_checked_again()
    {
        byte[] genuine = Raw("sensor-1", (ref MsgPackWriter w) => DeviceData.Write(ref w, new DeviceData { Values = { ["t"] = 21.5 } }));
        SignInPlace(genuine, Topic, _sensor.Key);
        EnvelopeVerifier verifier = Verifier();
        Assert.True(verifier.Verify(Topic, genuine, out Envelope<DeviceData> first).Accepted);
        Assert.Equal(21.5, first.Data.Values["t"]);
        // The same id with a broken signature: refused as a replay by the pre-check, no signature check needed.
        genuine[^1] ^= 0xff;
        Assert.Equal(RejectReason.Replayed, verifier.Verify(Topic, genuine, out Envelope<DeviceData> _).Reason);
    }

    [Fact]
    public void A_flood_of_forged_envelopes_with_unique_strings_interns_nothing()
    {
        var strings = new Utf8StringCache();
        EnvelopeVerifier verifier = Verifier(strings);
        using SigningIdentity intruder = SigningIdentity.Create("intruder");
        for (int i = 0; i < 5000; i++)
        {
            string unique = "forged-" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            // Half claim the trusted sensor with a wrong signature, half an unknown source; all carry unique names.
            byte[] forged = Raw(i % 2 == 0 ? "sensor-1" : unique, (ref MsgPackWriter w) => DeviceData.Write(ref w, new DeviceData { Values = { [unique] = i } }));
            SignInPlace(forged, Topic, i % 2 == 0 ? intruder.Key : _sensor.Key);
            Verdict verdict = verifier.Verify(Topic, forged, out Envelope<DeviceData> _);
            Assert.False(verdict.Accepted);
        }
        Assert.Equal(0, strings.Count);

        // A verified message is decoded and interned.
        byte[] genuine = Raw("sensor-1", (ref MsgPackWriter w) => DeviceData.Write(ref w, new DeviceData { Values = { ["temperature"] = 20 } }));
        SignInPlace(genuine, Topic, _sensor.Key);
        Assert.True(verifier.Verify(Topic, genuine, out Envelope<DeviceData> _).Accepted);
        Assert.True(strings.Count > 0);
    }

    [Fact]
    public void The_string_cache_stays_within_its_capacity_and_keeps_interning_what_it_hears_after_a_flood()
    {
        var cache = new Utf8StringCache(capacity: 64);
        for (int i = 0; i < 100_000; i++) cache.GetOrAdd(System.Text.Encoding.UTF8.GetBytes("unique-" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        Assert.True(cache.Count <= cache.Capacity, $"{cache.Count} strings in a cache of {cache.Capacity}");
        Assert.Equal(64, cache.Capacity);

        // First come no longer means forever: a name heard after the flood is interned.
        string first = cache.GetOrAdd("kitchen"u8);
        Assert.Same(first, cache.GetOrAdd("kitchen"u8));
    }

    [Fact]
    public async Task Over_a_real_socket_a_forged_flood_does_not_grow_the_gateways_or_the_engines_string_cache()
    {
        var directory = new PasswordDirectory();
        directory.Add(new IdentityRecord("sensor-1", IdentityKind.Sensor), "pw-sensor-1");
        // Limits high enough that every forgery reaches the verifier (the rate limit and the ban are tested elsewhere).
        var gateway = new SecurityGateway(new GatewayOptions { DefaultRateLimit = "100000/second", Burst = 100_000, DeniedPublishLimit = 100_000 }, directory);
        await using TestEngine test = await TestEngine.StartAsync(services: e => e.AddService(gateway), directory: _dir);
        EnvelopeVerifier ingress = gateway.IngressVerifier!;
        int engineStringsBefore = test.Engine.Verifier.Strings.Count;
        int ingressStringsBefore = ingress.Strings.Count;

        IMqttClient client = await RawMqtt.ConnectAsync(test.Endpoint, "sensor-1", o => o.WithCredentials("sensor-1", "pw-sensor-1"));
        try
        {
            int refused = 0;
            for (int i = 0; i < 300; i++)
            {
                string unique = "forged-" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
                byte[] forged = Raw("sensor-1", (ref MsgPackWriter w) => DeviceData.Write(ref w, new DeviceData { Values = { [unique] = i } }));
                System.Security.Cryptography.RandomNumberGenerator.Fill(forged.AsSpan(forged.Length - EnvelopeCodec.SignatureLength));
                MqttClientPublishResult result = await client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(Topic).WithPayload(forged)
                    .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).WithContentType(AliciaBus.MessagePackContentType).Build());
                if (result.ReasonCode == MqttClientPublishReasonCode.NotAuthorized) refused++;
            }
            Assert.Equal(300, refused);
            Assert.Equal(ingressStringsBefore, ingress.Strings.Count);
            Assert.Equal(engineStringsBefore, test.Engine.Verifier.Strings.Count);

            // The control: a genuine message is verified, decoded and interned at the gateway.
            byte[] genuine = Raw("sensor-1", (ref MsgPackWriter w) => DeviceData.Write(ref w, new DeviceData { Values = { ["temperature"] = 20 } }));
            SignInPlace(genuine, Topic, _sensor.Key);
            MqttClientPublishResult ok = await client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(Topic).WithPayload(genuine)
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).WithContentType(AliciaBus.MessagePackContentType).Build());
            Assert.True(ok.IsSuccess || ok.ReasonCode == MqttClientPublishReasonCode.NoMatchingSubscribers, $"{ok.ReasonCode}: {ok.ReasonString}");
            Assert.True(ingress.Strings.Count > ingressStringsBefore);
        }
        finally
        {
            await client.CloseAsync();
        }
    }
}
