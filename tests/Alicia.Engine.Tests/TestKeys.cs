using Alicia.Contracts;
using Alicia.Contracts.Messages;
using Alicia.Engine.Security;
using Microsoft.Extensions.Time.Testing;

namespace Alicia.Engine.Tests;

/// <summary>A signer and a verifier that trusts it, on a controllable clock.</summary>
internal sealed class SigningRig : IDisposable
{
    public SigningRig(string name = "sensor-1", VerifierOptions? options = null)
    {
        Clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 27, 12, 0, 0, TimeSpan.Zero));
        Identity = SigningIdentity.Create(name);
        Trust = new TrustStore(clock: Clock);
        Trust.Trust(name, Identity.PublicKey);
        Signer = new EnvelopeSigner(Identity);
        Verifier = new EnvelopeVerifier(Trust, options, clock: Clock);
    }

    public FakeTimeProvider Clock { get; }
    public SigningIdentity Identity { get; }
    public TrustStore Trust { get; }
    public EnvelopeSigner Signer { get; }
    public EnvelopeVerifier Verifier { get; }

    public static SensorTelemetry Reading(double value = 21.5) =>
        new() { DeviceId = "sensor-1", Sensor = "temperature", Value = value, Unit = "C", Location = "kitchen" };

    public Envelope<SensorTelemetry> Envelope(double value = 21.5) =>
        new(EnvelopeHeader.Create(Identity.Name, EnvelopeHeader.Broadcast, MessageKind.Event, Clock), Reading(value));

    public byte[] Sign<T>(string topic, in Envelope<T> envelope) where T : IAliciaSerializable<T>
    {
        var output = new System.Buffers.ArrayBufferWriter<byte>();
        Signer.Encode(output, topic, envelope);
        return output.WrittenSpan.ToArray();
    }

    public void Dispose() => Identity.Dispose();
}
