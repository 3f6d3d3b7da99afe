namespace Alicia.Contracts;

/// <summary>How the receiver knows who wrote a message.</summary>
public enum Attestation : byte
{
    /// <summary>No signature was checked (a message the bus built itself, before signing).</summary>
    None,

    /// <summary>Signed by the source's own Ed25519 key and verified.</summary>
    SourceSigned,

    /// <summary>Countersigned by the gateway on behalf of a constrained device.</summary>
    GatewayAttested,
}

/// <summary>A decoded message: routing header, typed payload data and metadata, and security facts.</summary>
public readonly struct Envelope<T>
{
    public Envelope(EnvelopeHeader header, T data, IReadOnlyDictionary<string, string>? metadata = null, EncryptionInfo? encryption = null, Attestation attestation = Attestation.None, string? attestedBy = null, long sequence = 0, ReadOnlyMemory<byte> sealedData = default)
    {
        AttestedBy = attestedBy;
        Sequence = sequence;
        SealedData = sealedData;
        Header = header;
        Data = data;
        Metadata = metadata;
        Encryption = encryption;
        Attestation = attestation;
    }

    public EnvelopeHeader Header { get; }
    public T Data { get; }
    public IReadOnlyDictionary<string, string>? Metadata { get; }
    public EncryptionInfo? Encryption { get; }
    public Attestation Attestation { get; }

    /// <summary>
    /// When set, the signature is not the source's but this gateway's: it checked that the message came
    /// over the source's own authenticated connection and countersigned it (for devices that cannot sign).
    /// </summary>
    public string? AttestedBy { get; }

    /// <summary>
    /// <c>security.sequence</c>: the sender's message counter (1, 2, 3 ... per signer run; 0 = none).
    /// Covered by the signature, so receivers can see gaps (lost or withheld messages).
    /// </summary>
    public long Sequence { get; }

    /// <summary>
    /// With <see cref="Encryption"/> set: the encrypted payload data (AEAD ciphertext of the data's
    /// MessagePack form), carried as <c>payload.data</c> = bin. <see cref="Data"/> is then default until
    /// the recipient opens it. Brokers and gateways verify and route it without reading it.
    /// </summary>
    public ReadOnlyMemory<byte> SealedData { get; }

    public bool IsSealed => Encryption is not null;

    public Guid MessageId => Header.MessageId;
    public string Source => Header.Source;
    public string Destination => Header.Destination;
    public MessageKind Kind => Header.Kind;
    public DateTimeOffset Timestamp => Header.Timestamp;

    public Envelope<T> WithAttestation(Attestation attestation) => new(Header, Data, Metadata, Encryption, attestation, AttestedBy, Sequence, SealedData);

    public Envelope<T> WithAttestedBy(string? attester) => new(Header, Data, Metadata, Encryption, Attestation, attester, Sequence, SealedData);

    public Envelope<T> WithSequence(long sequence) => new(Header, Data, Metadata, Encryption, Attestation, AttestedBy, sequence, SealedData);

    /// <summary>This envelope with its data sealed: <paramref name="encryption"/> describes how.</summary>
    public Envelope<T> Sealed(EncryptionInfo encryption, ReadOnlyMemory<byte> ciphertext) => new(Header, default!, Metadata, encryption, Attestation, AttestedBy, Sequence, ciphertext);

    /// <summary>This envelope with its data opened by the recipient.</summary>
    public Envelope<T> Opened(T data) => new(Header, data, Metadata, Encryption, Attestation, AttestedBy, Sequence, SealedData);
}
