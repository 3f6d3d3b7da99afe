using System.Buffers;
using Alicia.Contracts;
using Alicia.Contracts.Messages;
using Alicia.Engine.Security;

namespace Alicia.Benchmarks;

/// <summary>
/// A clock for benchmarking the verifier. <see cref="GetUtcNow"/> is fixed, so a message stamped with
/// <see cref="Now"/> is always inside the allowed clock skew. <see cref="GetTimestamp"/> jumps forward by
/// more than the replay window on every call, so when the replay filter records a message id, the id it
/// recorded on the previous call has already expired: it evicts it, finds the id absent and inserts it
/// again. The same signed message can therefore be verified millions of times, every verification is
/// accepted, and the filter still does its full per-message work (evict + lookup + insert), as it does
/// with live traffic whose ids are all new.
/// </summary>
public sealed class ReplayDefeatingClock(DateTimeOffset now, TimeSpan replayWindow) : TimeProvider
{
    private readonly long _step = (long)((replayWindow.TotalSeconds + 1) * global::System.Diagnostics.Stopwatch.Frequency);
    private long _timestamp;

    public DateTimeOffset Now { get; } = now;

    public override DateTimeOffset GetUtcNow() => Now;

    public override long GetTimestamp() => _timestamp += _step;
}

/// <summary>Identities, messages and signed bytes shared by the benchmark classes.</summary>
public static class Fixtures
{
    public const string DeviceName = "kitchen-sensor-01";
    public const string TelemetryTopic = SensorTelemetry.Topic;

    public static readonly DateTimeOffset FixedNow = new(2026, 11, 27, 12, 0, 0, TimeSpan.Zero);

    public static SensorTelemetry Telemetry() => new()
    {
        DeviceId = DeviceName,
        Sensor = "temperature",
        Value = 21.5,
        Unit = "celsius",
        Location = "kitchen",
    };

    public static Envelope<SensorTelemetry> TelemetryEnvelope(string source = DeviceName) =>
        new(new EnvelopeHeader(Guid.CreateVersion7(FixedNow), FixedNow, source, EnvelopeHeader.Broadcast, MessageKind.Event), Telemetry());

    /// <summary>A verifier that trusts <paramref name="identity"/> and accepts the same message forever (see <see cref="ReplayDefeatingClock"/>).</summary>
    public static EnvelopeVerifier Verifier(SigningIdentity identity)
    {
        var options = new VerifierOptions();
        var trust = new TrustStore();
        trust.Trust(identity.Name, identity.PublicKey);
        // ReplayFilter's window is MaxClockSkew * 2 (see EnvelopeVerifier's constructor).
        return new EnvelopeVerifier(trust, options, clock: new ReplayDefeatingClock(FixedNow, options.MaxClockSkew * 2));
    }

    public static byte[] Sign<T>(SigningIdentity identity, string topic, in Envelope<T> envelope) where T : IAliciaSerializable<T>
    {
        var buffer = new ArrayBufferWriter<byte>();
        new EnvelopeSigner(identity).Encode(buffer, topic, envelope);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>How many bytes Ed25519 signs for an encoded envelope on <paramref name="topic"/>: signing prefix + envelope - signature slot.</summary>
    public static int SignedLength(string topic, int encodedLength)
    {
        var prefix = new ArrayBufferWriter<byte>();
        int prefixLength = SigningInput.WritePrefix(prefix, topic);
        return prefixLength + SigningInput.SignedLength(encodedLength);
    }

    public static void Require(bool condition, string message)
    {
        if (!condition) throw new InvalidOperationException(message);
    }
}
