using System.Buffers;
using Alicia.Contracts;
using Alicia.Contracts.Serialization;
using Alicia.Engine.Buffers;
using NSec.Cryptography;

namespace Alicia.Engine.Security;

/// <summary>
/// Encodes an envelope and signs it with the sender's Ed25519 key, writing the result into the caller's
/// buffer. The scratch buffer is per thread and reused, so steady-state signing allocates nothing.
/// </summary>
public sealed class EnvelopeSigner(SigningIdentity identity)
{
    [ThreadStatic] private static PooledBufferWriter? t_scratch;

    private long _sequence;

    public SigningIdentity Identity { get; } = identity;

    /// <summary>Messages signed so far: the last <c>security.sequence</c> given out.</summary>
    public long Sequence => Interlocked.Read(ref _sequence);

    private Envelope<T> Sequenced<T>(in Envelope<T> envelope) =>
        envelope.Sequence > 0 ? envelope : envelope.WithSequence(Interlocked.Increment(ref _sequence));

    public string Source => Identity.Name;

    /// <summary>Encodes and signs <paramref name="envelope"/> for <paramref name="topic"/> into <paramref name="output"/>.</summary>
    public void Encode<T>(IBufferWriter<byte> output, ReadOnlySpan<char> topic, in Envelope<T> envelope)
        where T : IAliciaSerializable<T>
    {
        if (!string.Equals(envelope.Header.Source, Identity.Name, StringComparison.Ordinal))
            throw new ArgumentException($"envelope source '{envelope.Header.Source}' is not the signer '{Identity.Name}'", nameof(envelope));
        if (envelope.AttestedBy is not null) throw new ArgumentException("a source-signed envelope carries no attested_by", nameof(envelope));
        EncodeSigned(output, topic, Sequenced(envelope));
    }

    /// <summary>
    /// Countersigns a message that arrived unsigned over <paramref name="envelope"/>'s source's own
    /// authenticated connection (a constrained device): the envelope keeps its source and gains
    /// <c>attested_by</c> = this signer, whose key signs it. Receivers see <see cref="Attestation.GatewayAttested"/>.
    /// </summary>
    internal void Attest<T>(IBufferWriter<byte> output, ReadOnlySpan<char> topic, in Envelope<T> envelope)
        where T : IAliciaSerializable<T> =>
        EncodeSigned(output, topic, envelope.WithAttestedBy(Identity.Name));

    private void EncodeSigned<T>(IBufferWriter<byte> output, ReadOnlySpan<char> topic, in Envelope<T> envelope)
        where T : IAliciaSerializable<T>
    {
        PooledBufferWriter scratch = t_scratch ??= new PooledBufferWriter(4096);
        scratch.Reset();
        int prefix = SigningInput.WritePrefix(scratch, topic);
        var writer = new MsgPackWriter(scratch);
        EnvelopeCodec.Write(ref writer, envelope, reserveSignature: true);
        writer.Flush();

        Span<byte> all = scratch.WrittenSpanMutable;
        Span<byte> signature = all[^EnvelopeCodec.SignatureLength..];
        SignatureAlgorithm.Ed25519.Sign(Identity.Key, all[..^EnvelopeCodec.SignatureSlotLength], signature);

        ReadOnlySpan<byte> encoded = all[prefix..];
        encoded.CopyTo(output.GetSpan(encoded.Length));
        output.Advance(encoded.Length);
    }

    /// <summary>
    /// Encodes the JSON form. The signature still covers the canonical MessagePack encoding, so the
    /// receiver verifies JSON and MessagePack messages the same way.
    /// </summary>
    public void EncodeJson<T>(IBufferWriter<byte> output, ReadOnlySpan<char> topic, in Envelope<T> envelope)
        where T : IAliciaSerializable<T>
    {
        var msgpack = new PooledBufferWriter(1024);
        try
        {
            if (!string.Equals(envelope.Header.Source, Identity.Name, StringComparison.Ordinal))
                throw new ArgumentException($"envelope source '{envelope.Header.Source}' is not the signer '{Identity.Name}'", nameof(envelope));
            Envelope<T> sequenced = Sequenced(envelope);
            EncodeSigned(msgpack, topic, sequenced);
            EnvelopeJson.Write(output, sequenced, msgpack.WrittenSpan[^EnvelopeCodec.SignatureLength..]);
        }
        finally
        {
            msgpack.Dispose();
        }
    }

    /// <summary>Convenience for callers off the hot path: a new header from this signer.</summary>
    public Envelope<T> CreateEnvelope<T>(T data, string destination, MessageKind kind, TimeProvider? clock = null, IReadOnlyDictionary<string, string>? metadata = null) =>
        new(EnvelopeHeader.Create(Identity.Name, destination, kind, clock), data, metadata);
}
