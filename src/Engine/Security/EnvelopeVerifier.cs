using Alicia.Contracts;
using Alicia.Contracts.Serialization;
using Alicia.Engine.Buffers;
using Alicia.Engine.Monitoring;
using NSec.Cryptography;

namespace Alicia.Engine.Security;

/// <summary>The outcome of verifying one message.</summary>
public readonly record struct Verdict(RejectReason Reason, string? Detail)
{
    public static Verdict Accept => default;
    public bool Accepted => Reason == RejectReason.None;

    public override string ToString() => Accepted ? "accepted" : $"{Reason.ToName()}: {Detail}";
}

/// <summary>
/// Decodes and verifies incoming envelopes: size, format, signature presence, clock skew, known source,
/// Ed25519 signature over topic + envelope, and replay. Every refusal is counted by reason. The
/// replay filter only learns ids of messages whose signature verified, so forgeries cannot poison it.
/// </summary>
public sealed class EnvelopeVerifier
{
    [ThreadStatic] private static PooledBufferWriter? t_scratch;

    private readonly TrustStore _trust;
    private readonly ReplayFilter _replay;
    private readonly VerifierOptions _options;
    private readonly TimeProvider _clock;
    private readonly BusMetrics _metrics;

    public EnvelopeVerifier(TrustStore trust, VerifierOptions? options = null, BusMetrics? metrics = null, TimeProvider? clock = null, Utf8StringCache? strings = null)
    {
        _trust = trust;
        _options = options ?? new VerifierOptions();
        _clock = clock ?? TimeProvider.System;
        _metrics = metrics ?? new BusMetrics();
        _replay = new ReplayFilter(_options.MaxClockSkew * 2, _options.ReplayCapacity, _clock);
        Strings = strings ?? new Utf8StringCache();
    }

    internal Utf8StringCache Strings { get; }

    /// <summary>Per-source sequence numbers of verified messages (gaps and restarts).</summary>
    internal SequenceTracker Sequences { get; } = new();
    public BusMetrics Metrics => _metrics;
    public TrustStore Trust => _trust;

    /// <summary>Verifies a MessagePack envelope received on <paramref name="topic"/>.</summary>
    public Verdict Verify<T>(ReadOnlySpan<char> topic, ReadOnlySpan<byte> bytes, out Envelope<T> envelope)
        where T : IAliciaSerializable<T>
    {
        envelope = default;
        if (bytes.Length > _options.MaxMessageBytes)
            return Reject(RejectReason.Oversize, $"{bytes.Length} bytes exceeds the {_options.MaxMessageBytes}-byte limit");

        int signatureOffset;
        try
        {
            envelope = EnvelopeCodec.Read<T>(bytes, Strings, out signatureOffset);
        }
        catch (Exception e) when (e is MsgPackException or FormatException or ArgumentException or OverflowException)
        {
            return Reject(RejectReason.Malformed, e.Message);
        }

        if (signatureOffset < 0) return Reject(RejectReason.Unsigned, $"from '{envelope.Source}' carries no signature");
        Verdict verdict = CheckSignature(topic, envelope.Header, envelope.AttestedBy, bytes[..signatureOffset], bytes.Slice(signatureOffset + 2, EnvelopeCodec.SignatureLength));
        if (!verdict.Accepted) return verdict;
        envelope = envelope.WithAttestation(envelope.AttestedBy is null ? Attestation.SourceSigned : Attestation.GatewayAttested);
        Accepted(envelope.Source, envelope.Sequence);
        return Verdict.Accept;
    }

    /// <summary>
    /// Verifies a JSON envelope: the signature covers the canonical MessagePack form, so the same
    /// signature is valid in either representation.
    /// </summary>
    public Verdict VerifyJson<T>(ReadOnlySpan<char> topic, ReadOnlySpan<byte> json, out Envelope<T> envelope)
        where T : IAliciaSerializable<T>
    {
        envelope = default;
        if (json.Length > _options.MaxMessageBytes)
            return Reject(RejectReason.Oversize, $"{json.Length} bytes exceeds the {_options.MaxMessageBytes}-byte limit");
        byte[]? signature;
        try
        {
            envelope = EnvelopeJson.Read<T>(json, out signature);
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or MsgPackException or FormatException or InvalidOperationException)
        {
            return Reject(RejectReason.Malformed, e.Message);
        }
        if (signature is null) return Reject(RejectReason.Unsigned, $"from '{envelope.Source}' carries no signature");
        if (signature.Length != EnvelopeCodec.SignatureLength) return Reject(RejectReason.Malformed, $"signature must be {EnvelopeCodec.SignatureLength} bytes");

        using var canonical = new PooledBufferWriter();
        var writer = new MsgPackWriter(canonical);
        EnvelopeCodec.Write(ref writer, envelope, reserveSignature: true);
        writer.Flush();
        Verdict verdict = CheckSignature(topic, envelope.Header, envelope.AttestedBy, canonical.WrittenSpan[..^EnvelopeCodec.SignatureSlotLength], signature);
        if (!verdict.Accepted) return verdict;
        envelope = envelope.WithAttestation(envelope.AttestedBy is null ? Attestation.SourceSigned : Attestation.GatewayAttested);
        Accepted(envelope.Source, envelope.Sequence);
        return Verdict.Accept;
    }

    private Verdict CheckSignature(ReadOnlySpan<char> topic, in EnvelopeHeader header, string? attestedBy, ReadOnlySpan<byte> signedEnvelope, ReadOnlySpan<byte> signature)
    {
        TimeSpan skew = _clock.GetUtcNow() - header.Timestamp;
        if (skew > _options.MaxClockSkew || skew < -_options.MaxClockSkew)
            return Reject(RejectReason.Stale, $"message {header.MessageId} from '{header.Source}' is {skew.TotalSeconds:0.#} s off the clock (allowed ±{_options.MaxClockSkew.TotalSeconds:0.#} s)");

        string signer = header.Source;
        if (attestedBy is not null)
        {
            if (!_options.TrustedAttesters.Contains(attestedBy))
                return Reject(RejectReason.UnknownSource, $"message from '{header.Source}' is attested by '{attestedBy}', which is not a trusted gateway");
            signer = attestedBy;
        }
        if (!_trust.TryGet(signer, out PublicKey key))
            return Reject(RejectReason.UnknownSource, $"no trusted key for {(attestedBy is null ? "source" : "attester")} '{signer}'");

        PooledBufferWriter scratch = t_scratch ??= new PooledBufferWriter(4096);
        scratch.Reset();
        SigningInput.WritePrefix(scratch, topic);
        signedEnvelope.CopyTo(scratch.GetSpan(signedEnvelope.Length));
        scratch.Advance(signedEnvelope.Length);
        if (!SignatureAlgorithm.Ed25519.Verify(key, scratch.WrittenSpan, signature)
            && !(_trust.TryGetPrevious(signer, out PublicKey previous) && SignatureAlgorithm.Ed25519.Verify(previous, scratch.WrittenSpan, signature)))
            return Reject(RejectReason.BadSignature, $"message {header.MessageId} from '{header.Source}' on '{topic}' does not match the signature of '{signer}'");

        if (!_replay.TryRecord(header.MessageId))
            return Reject(RejectReason.Replayed, $"message {header.MessageId} from '{header.Source}' was already received");
        return Verdict.Accept;
    }

    private void Accepted(string source, long sequence)
    {
        _metrics.Accepted();
        long missing = Sequences.Observe(source, sequence);
        if (missing > 0) _metrics.SequenceGap(missing);
    }

    private Verdict Reject(RejectReason reason, string detail)
    {
        _metrics.Rejected(reason);
        return new Verdict(reason, detail);
    }
}
