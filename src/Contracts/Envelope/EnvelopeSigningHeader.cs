namespace Alicia.Contracts;

/// <summary>
/// What a verifier checks before it decodes anything (<see cref="EnvelopeCodec.ReadSigningHeader"/>): the message id,
/// timestamp, source, countersigner and where the signature sits. The payload is only stepped over; the strings stay
/// UTF-8 views into the message, so reading this allocates nothing and interns nothing.
/// </summary>
public readonly ref struct EnvelopeSigningHeader
{
    public EnvelopeSigningHeader(Guid messageId, DateTimeOffset timestamp, ReadOnlySpan<byte> source, bool isAttested, ReadOnlySpan<byte> attestedBy, int signatureOffset)
    {
        MessageId = messageId;
        Timestamp = timestamp;
        Source = source;
        IsAttested = isAttested;
        AttestedBy = attestedBy;
        SignatureOffset = signatureOffset;
    }

    public Guid MessageId { get; }
    public DateTimeOffset Timestamp { get; }

    /// <summary>The source's name, UTF-8 as sent (not validated).</summary>
    public ReadOnlySpan<byte> Source { get; }

    /// <summary>True when <c>security.attested_by</c> is set: the signature is then the attester's.</summary>
    public bool IsAttested { get; }

    /// <summary>The attester's name, UTF-8 as sent, when <see cref="IsAttested"/>.</summary>
    public ReadOnlySpan<byte> AttestedBy { get; }

    /// <summary>The offset of the signature slot (its bin header; the signed bytes are everything before it), or -1 when unsigned.</summary>
    public int SignatureOffset { get; }

    public bool IsSigned => SignatureOffset >= 0;
}
