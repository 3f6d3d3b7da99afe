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
    public Envelope(EnvelopeHeader header, T data, IReadOnlyDictionary<string, string>? metadata = null, EncryptionInfo? encryption = null, Attestation attestation = Attestation.None, string? attestedBy = null)
    {
        AttestedBy = attestedBy;
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

    public Guid MessageId => Header.MessageId;
    public string Source => Header.Source;
    public string Destination => Header.Destination;
    public MessageKind Kind => Header.Kind;
    public DateTimeOffset Timestamp => Header.Timestamp;

    public Envelope<T> WithAttestation(Attestation attestation) => new(Header, Data, Metadata, Encryption, attestation, AttestedBy);

    public Envelope<T> WithAttestedBy(string? attester) => new(Header, Data, Metadata, Encryption, Attestation, attester);
}
