using System.Text;
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
/// Verifies incoming envelopes, and decodes only what verified: size, then the header alone (message id, timestamp,
/// source, countersigner, the signature's place, read without decoding the payload), clock skew, known source, a
/// replay pre-check, the Ed25519 signature over topic + envelope, and only then the payload, whose strings are
/// interned (<see cref="Strings"/>). Unauthenticated traffic therefore costs a header read and at most one signature
/// check, and never reaches the decoders or the string cache. Every refusal is counted by reason. The replay filter
/// only learns ids of messages whose signature verified, so forgeries cannot poison it.
/// </summary>
public sealed class EnvelopeVerifier
{
    [ThreadStatic] private static PooledBufferWriter? t_scratch;

    /// <summary>Longer names are refused unread: no identity name (64 characters at most) comes close.</summary>
    private const int MaxNameBytes = 256;

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
        // Striped: the gateway verifies on every client's loop at once, and no core should wait on another's replay lookup.
        _replay = new ReplayFilter(_options.MaxClockSkew * 2, _options.ReplayCapacity, _clock, ReplayFilter.StripesFor(Environment.ProcessorCount));
        Strings = strings ?? new Utf8StringCache();
    }

    /// <summary>Strings of verified messages only (payloads are decoded after their signature checks out).</summary>
    internal Utf8StringCache Strings { get; }

    /// <summary>Per-source sequence numbers of verified messages (gaps and restarts).</summary>
    internal SequenceTracker Sequences { get; } = new();
    public BusMetrics Metrics => _metrics;
    public TrustStore Trust => _trust;

    /// <summary>
    /// Set by the embedded broker's security gateway: messages carrying its valid mark were verified at the door and are
    /// taken by <c>VerifyUnlessMarked</c> without a second signature check. Null (an external broker, or the
    /// gateway off): every message is verified.
    /// </summary>
    internal VerifiedMark? Mark { get; set; }

    private long _signatureChecks;
    private long _markedAccepted;

    /// <summary>Ed25519 checks this verifier ran (messages that reached the signature), for tests and load reports.</summary>
    internal long SignatureChecks => Interlocked.Read(ref _signatureChecks);

    /// <summary>Messages taken on the gateway's mark, without a signature check.</summary>
    internal long MarkedAccepted => Interlocked.Read(ref _markedAccepted);

    /// <summary>
    /// A message from the broker: when it carries the gateway's valid <paramref name="mark"/> (see <see cref="Mark"/>),
    /// it was verified once at the door (signature, trust, source = connection, replay), so it is only decoded and its
    /// age checked (a retained message may be old); otherwise it is verified in full. Either way only what verified is decoded.
    /// </summary>
    internal Verdict VerifyUnlessMarked<T>(string topic, ReadOnlySpan<byte> bytes, bool json, ReadOnlySpan<byte> mark, out Envelope<T> envelope)
        where T : IAliciaSerializable<T> => VerifyUnlessMarked(topic, bytes, json, mark, out envelope, out _);

    /// <inheritdoc cref="VerifyUnlessMarked{T}(string, ReadOnlySpan{byte}, bool, ReadOnlySpan{byte}, out Envelope{T})"/>
    /// <param name="marked">True when the message was taken on the gateway's mark (not verified here).</param>
    internal Verdict VerifyUnlessMarked<T>(string topic, ReadOnlySpan<byte> bytes, bool json, ReadOnlySpan<byte> mark, out Envelope<T> envelope, out bool marked)
        where T : IAliciaSerializable<T>
    {
        marked = false;
        if (mark.IsEmpty || Mark is not { } key || bytes.Length > _options.MaxMessageBytes || !key.IsValid(topic, bytes, mark))
            return json ? VerifyJson(topic, bytes, out envelope) : Verify(topic, bytes, out envelope);
        try
        {
            envelope = json ? EnvelopeJson.Read<T>(bytes, out _) : EnvelopeCodec.Read<T>(bytes, Strings, out _);
        }
        catch (Exception e) when (e is MsgPackException or FormatException or ArgumentException or OverflowException or System.Text.Json.JsonException or InvalidOperationException)
        {
            envelope = default;
            return Reject(RejectReason.Malformed, e.Message);
        }
        TimeSpan skew = _clock.GetUtcNow() - envelope.Timestamp;
        if (skew > _options.MaxClockSkew || skew < -_options.MaxClockSkew)
        {
            Guid id = envelope.MessageId;
            string source = envelope.Source;
            envelope = default;
            return Reject(RejectReason.Stale, $"message {id} from '{source}' is {skew.TotalSeconds:0.#} s off the clock (allowed ±{_options.MaxClockSkew.TotalSeconds:0.#} s)");
        }
        envelope = envelope.WithAttestation(envelope.AttestedBy is null ? Attestation.SourceSigned : Attestation.GatewayAttested);
        Interlocked.Increment(ref _markedAccepted);
        marked = true;
        // Counted, and its sequence observed, once: by the gateway's verifier when it verified the message. Several of
        // the engine's subscribers may take the same marked message, in any order.
        return Verdict.Accept;
    }

    /// <summary>Verifies a MessagePack envelope received on <paramref name="topic"/>, then decodes it.</summary>
    public Verdict Verify<T>(ReadOnlySpan<char> topic, ReadOnlySpan<byte> bytes, out Envelope<T> envelope)
        where T : IAliciaSerializable<T>
    {
        envelope = default;
        if (bytes.Length > _options.MaxMessageBytes)
            return Reject(RejectReason.Oversize, $"{bytes.Length} bytes exceeds the {_options.MaxMessageBytes}-byte limit");

        EnvelopeSigningHeader header;
        try
        {
            header = EnvelopeCodec.ReadSigningHeader(bytes);
        }
        catch (Exception e) when (e is MsgPackException or FormatException or ArgumentException or OverflowException)
        {
            return Reject(RejectReason.Malformed, e.Message);
        }
        if (!header.IsSigned) return Reject(RejectReason.Unsigned, $"from '{Text(header.Source)}' carries no signature");
        if (header.Source.Length > MaxNameBytes || header.AttestedBy.Length > MaxNameBytes)
            return Reject(RejectReason.UnknownSource, $"message {header.MessageId} names a {Math.Max(header.Source.Length, header.AttestedBy.Length)}-byte source or attester: no identity has such a name");

        Span<char> sourceChars = stackalloc char[MaxNameBytes];
        Span<char> attesterChars = stackalloc char[MaxNameBytes];
        ReadOnlySpan<char> source = sourceChars[..Encoding.UTF8.GetChars(header.Source, sourceChars)];
        ReadOnlySpan<char> attester = attesterChars[..Encoding.UTF8.GetChars(header.AttestedBy, attesterChars)];
        Verdict verdict = Precheck(header.MessageId, header.Timestamp, source, header.IsAttested, attester, out PublicKey key);
        if (!verdict.Accepted) return verdict;
        int slot = header.SignatureOffset;
        verdict = CheckSignature(topic, header.MessageId, source, header.IsAttested ? attester : source, key, bytes[..slot], bytes.Slice(slot + 2, EnvelopeCodec.SignatureLength));
        if (!verdict.Accepted) return verdict;

        // Verified: only now is the payload decoded and are its strings interned.
        try
        {
            envelope = EnvelopeCodec.Read<T>(bytes, Strings, out _);
        }
        catch (Exception e) when (e is MsgPackException or FormatException or ArgumentException or OverflowException)
        {
            envelope = default;
            return Reject(RejectReason.Malformed, e.Message);
        }
        envelope = envelope.WithAttestation(envelope.AttestedBy is null ? Attestation.SourceSigned : Attestation.GatewayAttested);
        Accepted(envelope.Source, envelope.Sequence);
        return Verdict.Accept;
    }

    /// <summary>
    /// Verifies a JSON envelope: the signature covers the canonical MessagePack form, so the same signature is valid in
    /// either representation. The header is checked first (skew, trust, replay); the payload is decoded only then,
    /// since the signed bytes are its canonical re-encoding.
    /// </summary>
    public Verdict VerifyJson<T>(ReadOnlySpan<char> topic, ReadOnlySpan<byte> json, out Envelope<T> envelope)
        where T : IAliciaSerializable<T>
    {
        envelope = default;
        if (json.Length > _options.MaxMessageBytes)
            return Reject(RejectReason.Oversize, $"{json.Length} bytes exceeds the {_options.MaxMessageBytes}-byte limit");
        JsonSigningHeader header;
        try
        {
            header = JsonSigningHeader.Read(json);
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or FormatException or InvalidOperationException)
        {
            return Reject(RejectReason.Malformed, e.Message);
        }
        if (!header.IsSigned) return Reject(RejectReason.Unsigned, $"from '{header.Source}' carries no signature");
        Verdict verdict = Precheck(header.MessageId, header.Timestamp, header.Source, header.AttestedBy is not null, header.AttestedBy, out PublicKey key);
        if (!verdict.Accepted) return verdict;

        byte[]? signature;
        try
        {
            envelope = EnvelopeJson.Read<T>(json, out signature);
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or MsgPackException or FormatException or InvalidOperationException)
        {
            envelope = default;
            return Reject(RejectReason.Malformed, e.Message);
        }
        if (signature is null) return Reject(RejectReason.Unsigned, $"from '{envelope.Source}' carries no signature");
        if (signature.Length != EnvelopeCodec.SignatureLength) return Reject(RejectReason.Malformed, $"signature must be {EnvelopeCodec.SignatureLength} bytes");
        if (envelope.MessageId != header.MessageId || envelope.Source != header.Source || envelope.AttestedBy != header.AttestedBy)
            return Reject(RejectReason.Malformed, "the envelope's header fields are ambiguous (given twice)");

        using var canonical = new PooledBufferWriter();
        var writer = new MsgPackWriter(canonical);
        EnvelopeCodec.Write(ref writer, envelope, reserveSignature: true);
        writer.Flush();
        verdict = CheckSignature(topic, header.MessageId, header.Source, header.AttestedBy ?? header.Source, key, canonical.WrittenSpan[..^EnvelopeCodec.SignatureSlotLength], signature);
        if (!verdict.Accepted) return verdict;
        envelope = envelope.WithAttestation(envelope.AttestedBy is null ? Attestation.SourceSigned : Attestation.GatewayAttested);
        Accepted(envelope.Source, envelope.Sequence);
        return Verdict.Accept;
    }

    /// <summary>The checks that need only the header: clock skew, a trusted signer (source or attester), and not a replay.</summary>
    private Verdict Precheck(Guid messageId, DateTimeOffset timestamp, ReadOnlySpan<char> source, bool attested, ReadOnlySpan<char> attester, out PublicKey key)
    {
        key = null!;
        TimeSpan skew = _clock.GetUtcNow() - timestamp;
        if (skew > _options.MaxClockSkew || skew < -_options.MaxClockSkew)
            return Reject(RejectReason.Stale, $"message {messageId} from '{source}' is {skew.TotalSeconds:0.#} s off the clock (allowed ±{_options.MaxClockSkew.TotalSeconds:0.#} s)");

        ReadOnlySpan<char> signer = source;
        if (attested)
        {
            if (!IsTrustedAttester(attester))
                return Reject(RejectReason.UnknownSource, $"message from '{source}' is attested by '{attester}', which is not a trusted gateway");
            signer = attester;
        }
        if (!_trust.TryGet(signer, out key))
            return Reject(RejectReason.UnknownSource, $"no trusted key for {(attested ? "attester" : "source")} '{signer}'");
        if (_replay.Contains(messageId))
            return Reject(RejectReason.Replayed, $"message {messageId} from '{source}' was already received");
        return Verdict.Accept;
    }

    private bool IsTrustedAttester(ReadOnlySpan<char> attester)
    {
        foreach (string trusted in _options.TrustedAttesters)
        {
            if (attester.SequenceEqual(trusted)) return true;
        }
        return false;
    }

    private Verdict CheckSignature(ReadOnlySpan<char> topic, Guid messageId, ReadOnlySpan<char> source, ReadOnlySpan<char> signer, PublicKey key,
        ReadOnlySpan<byte> signedEnvelope, ReadOnlySpan<byte> signature)
    {
        Interlocked.Increment(ref _signatureChecks);
        PooledBufferWriter scratch = t_scratch ??= new PooledBufferWriter(4096);
        scratch.Reset();
        SigningInput.WritePrefix(scratch, topic);
        signedEnvelope.CopyTo(scratch.GetSpan(signedEnvelope.Length));
        scratch.Advance(signedEnvelope.Length);
        if (!SignatureAlgorithm.Ed25519.Verify(key, scratch.WrittenSpan, signature)
            && !(_trust.TryGetPrevious(signer.ToString(), out PublicKey previous) && SignatureAlgorithm.Ed25519.Verify(previous, scratch.WrittenSpan, signature)))
            return Reject(RejectReason.BadSignature, $"message {messageId} from '{source}' on '{topic}' does not match the signature of '{signer}'");

        if (!_replay.TryRecord(messageId))
            return Reject(RejectReason.Replayed, $"message {messageId} from '{source}' was already received");
        return Verdict.Accept;
    }

    /// <summary>A name from a refused message, for its refusal's detail (the caller escapes it where it is logged).</summary>
    private static string Text(ReadOnlySpan<byte> utf8) => Encoding.UTF8.GetString(utf8[..Math.Min(utf8.Length, MaxNameBytes)]);

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
