using System.Text;
using Alicia.Contracts;
using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Engine.Monitoring;
using Alicia.Engine.Security;
using Alicia.Engine.Security.Encryption;
using MQTTnet;

namespace Alicia.Integration.Tests;

/// <summary>
/// End-to-end payload encryption on a sensitive topic: only the recipient reads the payload; the broker,
/// a raw eavesdropper and other bus clients see ciphertext, and the signature still covers it.
/// </summary>
public sealed class EncryptionTests(EmbeddedBrokerFixture fixture) : IClassFixture<EmbeddedBrokerFixture>, IDisposable
{
    private readonly TempDirectory _dir = new("alicia-e2e");

    public void Dispose() => _dir.Dispose();

    private async Task<AliciaBus> Bus(KeyDirectory keys, string name, bool withCipher = true)
    {
        SigningIdentity identity = keys.Create(name);
        var verifier = new EnvelopeVerifier(new TrustStore(keys), metrics: new BusMetrics());
        var options = new BusOptions { EncryptedTopics = ["alicia/voice/stt/+"] };
        AliciaBus bus = await AliciaBus.ConnectAsync(fixture.Endpoint, identity, verifier, options);
        if (withCipher) bus.PayloadCipher = new PayloadCipher(keys.LoadAgreementKey(name), name, keys.TryReadAgreementKey);
        return bus;
    }

    [Fact]
    public async Task Only_the_recipient_reads_a_sealed_payload_and_clear_text_is_refused_on_sensitive_topics()
    {
        var keys = new KeyDirectory(_dir.Keys);
        await using AliciaBus satellite = await Bus(keys, "satellite-1");
        await using AliciaBus stt = await Bus(keys, "stt-service");
        await using AliciaBus nosy = await Bus(keys, "nosy-service");

        var received = new TaskCompletionSource<BusMessage<SttRequest>>(TaskCreationOptions.RunContinuationsAsynchronously);
        await stt.SubscribeAsync<SttRequest>((m, _) => { received.TrySetResult(m); return ValueTask.CompletedTask; });
        int nosyGot = 0;
        await nosy.SubscribeAsync<SttRequest>((_, _) => { Interlocked.Increment(ref nosyGot); return ValueTask.CompletedTask; }, new SubscribeOptions { ReceiveAll = true });
        IMqttClient eavesdropper = await RawMqtt.ConnectAsync(fixture.Endpoint);
        var wire = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        eavesdropper.ApplicationMessageReceivedAsync += e => { wire.TrySetResult(System.Buffers.BuffersExtensions.ToArray(e.ApplicationMessage.Payload)); return Task.CompletedTask; };
        await eavesdropper.SubscribeAsync(SttRequest.Topic);

        await satellite.PublishAsync(new SttRequest { SessionId = "kitchen-secret-session", Language = "en" },
            new PublishOptions { Destination = "stt-service", EncryptFor = "stt-service" });

        BusMessage<SttRequest> message = await received.Within();
        Assert.Equal("kitchen-secret-session", message.Data.SessionId);
        Assert.Equal(PayloadCipher.Algorithm, message.Envelope.Encryption!.Algorithm);
        Assert.Equal("stt-service", message.Envelope.Encryption.Recipient);
        Assert.Equal(Attestation.SourceSigned, message.Envelope.Attestation);

        byte[] onTheWire = await wire.Within();
        Assert.DoesNotContain("kitchen-secret-session", Encoding.UTF8.GetString(onTheWire));
        Assert.Equal(0, Volatile.Read(ref nosyGot));

        // Clear text on a sensitive topic is refused by receivers, and a sender without EncryptFor is stopped.
        await Assert.ThrowsAsync<ArgumentException>(() => satellite.PublishAsync(new SttRequest { SessionId = "oops" }));
        var refused = new TaskCompletionSource<Verdict>(TaskCreationOptions.RunContinuationsAsynchronously);
        stt.Rejected += (_, v) => refused.TrySetResult(v);
        await using AliciaBus careless = await Bus(keys, "careless", withCipher: false);
        var envelope = new Envelope<SttRequest>(EnvelopeHeader.Create("careless", "broadcast", MessageKind.Request), new SttRequest { SessionId = "clear" });
        byte[] clear = Peers.Sign(new SigningIdentity("careless", keys.Load("careless").Key), SttRequest.Topic, envelope);
        await eavesdropper.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(SttRequest.Topic).WithPayload(clear)
            .WithQualityOfServiceLevel(MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce).Build());
        Verdict verdict = await refused.Within();
        Assert.True(verdict.Reason == RejectReason.Unencrypted, verdict.ToString());
        await eavesdropper.CloseAsync();
    }

    [Fact]
    public void A_tampered_ciphertext_or_a_wrong_key_does_not_open()
    {
        var keys = new KeyDirectory(_dir.Keys);
        using var a = keys.LoadAgreementKey("alice");
        using var b = keys.LoadAgreementKey("bob");
        var sender = new PayloadCipher(a, "alice", keys.TryReadAgreementKey);
        var bob = new PayloadCipher(b, "bob", keys.TryReadAgreementKey);
        var eve = new PayloadCipher(keys.LoadAgreementKey("eve"), "bob", keys.TryReadAgreementKey); // claims bob's name, has another key

        var envelope = new Envelope<SttRequest>(EnvelopeHeader.Create("alice", "bob", MessageKind.Request), new SttRequest { SessionId = "s-1" });
        Envelope<SttRequest> sealedEnvelope = sender.Seal(envelope, SttRequest.Topic, "bob");
        Assert.True(bob.TryOpen(sealedEnvelope, SttRequest.Topic, out Envelope<SttRequest> opened, out _));
        Assert.Equal("s-1", opened.Data.SessionId);

        Assert.False(eve.TryOpen(sealedEnvelope, SttRequest.Topic, out _, out string? eveProblem));
        Assert.Contains("does not authenticate", eveProblem);
        Assert.False(bob.TryOpen(sealedEnvelope, "alicia/voice/stt/response", out _, out _)); // bound to its topic
        byte[] tampered = sealedEnvelope.SealedData.ToArray();
        tampered[0] ^= 1;
        Assert.False(bob.TryOpen(sealedEnvelope.Sealed(sealedEnvelope.Encryption!, tampered), SttRequest.Topic, out _, out _));
    }
}
