using System.Buffers;
using System.Text;
using Alicia.Contracts;
using Alicia.Engine.Buffers;

namespace Alicia.Engine.Security.Gateway;

/// <summary>
/// Verifies a message at the broker's door, before any subscriber sees it: a signed envelope must carry
/// a valid signature from the connection's own identity; an unsigned JSON envelope from a constrained
/// device is accepted only when its source is the connection's identity, and is then countersigned by
/// the gateway (<c>attested_by</c>) and re-encoded as MessagePack.
/// </summary>
internal sealed class IngressVerifier(EnvelopeVerifier verifier, EnvelopeSigner gatewaySigner, TimeProvider clock, TimeSpan maxSkew, MessageSet messages)
{
    public readonly record struct Outcome(Verdict Verdict, byte[]? Replacement);

    public EnvelopeVerifier Verifier => verifier;

    // Unsigned JSON never reaches the verifier's replay filter (it has no signature to verify): the gateway keeps its own,
    // over the same window, so the same message id is countersigned and delivered once.
    private readonly ReplayFilter _unsignedReplay = new(maxSkew * 2, 1 << 16, clock);

    public Outcome Check(string topic, ReadOnlySpan<byte> payload, bool json, string identity)
    {
        Span<byte> topicUtf8 = stackalloc byte[512];
        int n = Encoding.UTF8.GetByteCount(topic);
        if (n > topicUtf8.Length) return new(new Verdict(RejectReason.Malformed, "topic too long"), null);
        Encoding.UTF8.GetBytes(topic, topicUtf8);
        var visitor = new Visitor(this, topic, json, identity);
        if (!messages.TryDispatch(topicUtf8[..n], payload, ref visitor))
            return new(new Verdict(RejectReason.UnknownTopic, $"'{topic}' is not a topic of the Alicia tree"), null);
        return visitor.Result;
    }

    private struct Visitor(IngressVerifier owner, string topic, bool json, string identity) : IMessageVisitor
    {
        public Outcome Result;

        public void Visit<T>(ReadOnlySpan<byte> topicUtf8, ReadOnlySpan<byte> payload) where T : IAliciaMessage<T> =>
            Result = json ? owner.CheckJson<T>(topic, payload, identity) : owner.CheckMessagePack<T>(topic, payload, identity);
    }

    private Outcome CheckMessagePack<T>(string topic, ReadOnlySpan<byte> payload, string identity) where T : IAliciaMessage<T>
    {
        Verdict verdict = verifier.Verify(topic, payload, out Envelope<T> envelope);
        if (!verdict.Accepted) return new(verdict, null);
        return new(SourceMatches(envelope, identity), null);
    }

    private Outcome CheckJson<T>(string topic, ReadOnlySpan<byte> payload, string identity) where T : IAliciaMessage<T>
    {
        // The header first: a signed envelope goes to the verifier (which checks skew, trust and replay before decoding
        // the payload); an unsigned one is decoded only once its source, clock and id pass.
        JsonSigningHeader header;
        try
        {
            header = JsonSigningHeader.Read(payload);
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or FormatException or InvalidOperationException)
        {
            return new(new Verdict(RejectReason.Malformed, e.Message), null);
        }
        if (header.IsSigned)
        {
            Verdict verdict = verifier.VerifyJson(topic, payload, out Envelope<T> verified);
            return new(verdict.Accepted ? SourceMatches(verified, identity) : verdict, null);
        }

        // A constrained device: its authenticated connection vouches for the source.
        Verdict owner = SourceMatches(header.Source, header.AttestedBy, identity);
        if (!owner.Accepted) return new(owner, null);
        TimeSpan skew = clock.GetUtcNow() - header.Timestamp;
        if (skew > maxSkew || skew < -maxSkew)
            return new(new Verdict(RejectReason.Stale, $"message {header.MessageId} from '{identity}' is {skew.TotalSeconds:0.#} s off the clock"), null);
        if (_unsignedReplay.Contains(header.MessageId))
            return new(new Verdict(RejectReason.Replayed, $"message {header.MessageId} from '{identity}' was already received"), null);
        Envelope<T> envelope;
        try
        {
            envelope = EnvelopeJson.Read<T>(payload, out byte[]? signature);
            if (signature is not null) return new(new Verdict(RejectReason.Malformed, "the envelope's signature is given twice"), null);
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or FormatException or InvalidOperationException or Alicia.Contracts.Serialization.MsgPackException)
        {
            return new(new Verdict(RejectReason.Malformed, e.Message), null);
        }
        if (envelope.MessageId != header.MessageId || !SourceMatches(envelope, identity).Accepted)
            return new(new Verdict(RejectReason.Malformed, "the envelope's header fields are ambiguous (given twice)"), null);
        if (!_unsignedReplay.TryRecord(envelope.MessageId))
            return new(new Verdict(RejectReason.Replayed, $"message {envelope.MessageId} from '{identity}' was already received"), null);
        using var output = new PooledBufferWriter(512);
        gatewaySigner.Attest(output, topic, envelope);
        return new(Verdict.Accept, output.WrittenSpan.ToArray());
    }

    private static Verdict SourceMatches<T>(in Envelope<T> envelope, string identity) => SourceMatches(envelope.Source, envelope.AttestedBy, identity);

    private static Verdict SourceMatches(string source, string? attestedBy, string identity)
    {
        if (attestedBy is not null)
            return new Verdict(RejectReason.BadSignature, $"'{identity}' may not send gateway-attested messages");
        return string.Equals(source, identity, StringComparison.Ordinal)
            ? Verdict.Accept
            : new Verdict(RejectReason.BadSignature, $"connection '{identity}' sent a message claiming source '{source}'");
    }
}
