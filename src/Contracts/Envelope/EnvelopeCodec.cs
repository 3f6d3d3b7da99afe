using Alicia.Contracts.Serialization;

namespace Alicia.Contracts;

/// <summary>
/// The MessagePack form of the envelope:
/// <code>
/// { message_id: bin(16), timestamp: ext(-1), source: str, destination: str, message_type: str,
///   payload: { data: T, metadata?: map&lt;str,str&gt; },
///   security: { encryption: map|nil, attested_by?: str, sequence?: uint, signature: bin(64)|nil } }
/// </code>
/// The signature is always the very last value, so the bytes it covers are everything before it. A
/// signer reserves the slot, signs the prefix, and fills the slot in; nothing is re-encoded.
/// </summary>
public static class EnvelopeCodec
{
    public const int SignatureLength = 64;

    /// <summary>The encoded size of a filled signature slot: bin8 header, length, 64 bytes.</summary>
    public const int SignatureSlotLength = SignatureLength + 2;

    private static ReadOnlySpan<byte> KeyMessageId => "message_id"u8;
    private static ReadOnlySpan<byte> KeyTimestamp => "timestamp"u8;
    private static ReadOnlySpan<byte> KeySource => "source"u8;
    private static ReadOnlySpan<byte> KeyDestination => "destination"u8;
    private static ReadOnlySpan<byte> KeyMessageType => "message_type"u8;
    private static ReadOnlySpan<byte> KeyPayload => "payload"u8;
    private static ReadOnlySpan<byte> KeyData => "data"u8;
    private static ReadOnlySpan<byte> KeyMetadata => "metadata"u8;
    private static ReadOnlySpan<byte> KeySecurity => "security"u8;
    private static ReadOnlySpan<byte> KeyEncryption => "encryption"u8;
    private static ReadOnlySpan<byte> KeyAttestedBy => "attested_by"u8;
    private static ReadOnlySpan<byte> KeySequence => "sequence"u8;
    private static ReadOnlySpan<byte> KeySignature => "signature"u8;

    /// <summary>
    /// Writes the envelope. With <paramref name="reserveSignature"/> the signature slot is written as
    /// 64 zero bytes at the very end, to be overwritten by the signer; otherwise the signature is nil.
    /// </summary>
    public static void Write<T>(ref MsgPackWriter writer, in Envelope<T> envelope, bool reserveSignature)
        where T : IAliciaSerializable<T>
    {
        WriteHeaderAndPayload(ref writer, envelope.Header, envelope.Data, envelope.Metadata, envelope.Encryption is null ? (ReadOnlyMemory<byte>?)null : envelope.SealedData);
        writer.WriteString(KeySecurity);
        writer.WriteMapHeader(2 + (envelope.AttestedBy is null ? 0 : 1) + (envelope.Sequence > 0 ? 1 : 0));
        writer.WriteString(KeyEncryption);
        if (envelope.Encryption is { } enc) EncryptionInfo.Write(ref writer, enc);
        else writer.WriteNil();
        if (envelope.AttestedBy is { } attester)
        {
            writer.WriteString(KeyAttestedBy);
            writer.Write(attester);
        }
        if (envelope.Sequence > 0)
        {
            writer.WriteString(KeySequence);
            writer.Write(envelope.Sequence);
        }
        writer.WriteString(KeySignature);
        if (reserveSignature) writer.WriteBinPlaceholder(SignatureLength).Clear();
        else writer.WriteNil();
    }

    private static void WriteHeaderAndPayload<T>(ref MsgPackWriter writer, in EnvelopeHeader header, T data, IReadOnlyDictionary<string, string>? metadata, ReadOnlyMemory<byte>? sealedData)
        where T : IAliciaSerializable<T>
    {
        writer.WriteMapHeader(7);
        writer.WriteString(KeyMessageId);
        writer.Write(header.MessageId);
        writer.WriteString(KeyTimestamp);
        writer.Write(header.Timestamp);
        writer.WriteString(KeySource);
        writer.Write(header.Source);
        writer.WriteString(KeyDestination);
        writer.Write(header.Destination);
        writer.WriteString(KeyMessageType);
        writer.WriteString(MessageKindNames.ToUtf8(header.Kind));
        writer.WriteString(KeyPayload);
        bool hasMetadata = metadata is { Count: > 0 };
        writer.WriteMapHeader(hasMetadata ? 2 : 1);
        writer.WriteString(KeyData);
        if (sealedData is { } ciphertext) writer.Write(ciphertext.Span);
        else T.Write(ref writer, data);
        if (hasMetadata)
        {
            writer.WriteString(KeyMetadata);
            writer.WriteMapHeader(metadata!.Count);
            if (metadata is Dictionary<string, string> dictionary)
            {
                // The struct enumerator: enumerating through the interface would box one per message.
                foreach (KeyValuePair<string, string> kv in dictionary)
                {
                    writer.Write(kv.Key);
                    writer.Write(kv.Value);
                }
            }
            else
            {
                foreach (KeyValuePair<string, string> kv in metadata)
                {
                    writer.Write(kv.Key);
                    writer.Write(kv.Value);
                }
            }
        }
    }

    /// <summary>
    /// Decodes an envelope. <paramref name="signatureOffset"/> is the offset of the signature slot
    /// (its bin header), or -1 when the message carries no signature. A signature that is not the last
    /// value, or not 64 bytes, makes the message malformed.
    /// </summary>
    public static Envelope<T> Read<T>(ReadOnlySpan<byte> bytes, Utf8StringCache? strings, out int signatureOffset)
        where T : IAliciaSerializable<T>
    {
        var reader = new MsgPackReader(bytes, strings);
        signatureOffset = -1;
        Guid id = default;
        DateTimeOffset timestamp = default;
        string? source = null, destination = null;
        MessageKind kind = default;
        bool hasKind = false, hasData = false, hasTimestamp = false, hasId = false;
        T data = default!;
        IReadOnlyDictionary<string, string>? metadata = null;
        EncryptionInfo? encryption = null;
        string? attestedBy = null;
        long sequence = 0;
        byte[]? sealedData = null;

        int fields = reader.ReadMapHeader();
        for (int i = 0; i < fields; i++)
        {
            ReadOnlySpan<byte> key = reader.ReadStringSpan();
            if (key.SequenceEqual(KeyMessageId)) { id = reader.ReadGuid(); hasId = true; }
            else if (key.SequenceEqual(KeyTimestamp)) { timestamp = reader.ReadDateTimeOffset(); hasTimestamp = true; }
            else if (key.SequenceEqual(KeySource)) source = reader.ReadString();
            else if (key.SequenceEqual(KeyDestination)) destination = reader.ReadString();
            else if (key.SequenceEqual(KeyMessageType)) { kind = MessageKindNames.Parse(reader.ReadStringSpan()); hasKind = true; }
            else if (key.SequenceEqual(KeyPayload))
            {
                reader.EnterNested();
                int n = reader.ReadMapHeader();
                for (int j = 0; j < n; j++)
                {
                    ReadOnlySpan<byte> pk = reader.ReadStringSpan();
                    if (pk.SequenceEqual(KeyData))
                    {
                        // Sealed data is binary (its description follows in security.encryption).
                        if (reader.PeekCode() is MsgPackCode.Bin8 or MsgPackCode.Bin16 or MsgPackCode.Bin32) sealedData = reader.ReadBinarySpan().ToArray();
                        else data = T.Read(ref reader);
                        hasData = true;
                    }
                    else if (pk.SequenceEqual(KeyMetadata)) metadata = ReadMetadata(ref reader);
                    else reader.Skip();
                }
                reader.ExitNested();
            }
            else if (key.SequenceEqual(KeySecurity))
            {
                reader.EnterNested();
                int n = reader.ReadMapHeader();
                for (int j = 0; j < n; j++)
                {
                    ReadOnlySpan<byte> sk = reader.ReadStringSpan();
                    if (sk.SequenceEqual(KeyEncryption))
                    {
                        encryption = reader.TryReadNil() ? null : EncryptionInfo.Read(ref reader);
                    }
                    else if (sk.SequenceEqual(KeyAttestedBy)) attestedBy = reader.ReadString();
                    else if (sk.SequenceEqual(KeySequence)) sequence = reader.ReadInt64();
                    else if (sk.SequenceEqual(KeySignature))
                    {
                        int slot = ReadSignatureSlot(ref reader);
                        if (slot >= 0) signatureOffset = slot;
                    }
                    else reader.Skip();
                }
                reader.ExitNested();
            }
            else reader.Skip();
        }

        CheckEnd(ref reader, bytes.Length, signatureOffset);
        if (!hasId) throw Missing("message_id");
        if (!hasTimestamp) throw Missing("timestamp");
        if (source is null) throw Missing("source");
        if (destination is null) throw Missing("destination");
        if (!hasKind) throw Missing("message_type");
        if (!hasData) throw Missing("payload.data");
        if (sealedData is not null && encryption is null) throw new MsgPackException("payload.data is binary but security.encryption does not describe it");
        if (sealedData is null && encryption is not null) throw new MsgPackException("security.encryption is set but payload.data is not ciphertext");
        return new Envelope<T>(new EnvelopeHeader(id, timestamp, source, destination, kind), data, metadata, encryption, attestedBy: attestedBy, sequence: sequence, sealedData: sealedData);
    }

    /// <summary>The value of <c>security.signature</c>: the offset of its slot (the bin header), or -1 for nil. Not 64 bytes: malformed.</summary>
    private static int ReadSignatureSlot(ref MsgPackReader reader)
    {
        if (reader.TryReadNil()) return -1;
        int offset = reader.Position;
        ReadOnlySpan<byte> signature = reader.ReadBinarySpan();
        if (signature.Length != SignatureLength) throw new MsgPackException($"signature must be {SignatureLength} bytes, found {signature.Length}");
        return offset;
    }

    /// <summary>Nothing after the envelope, and the signature (when there is one) is its last value: what the signature covers is unambiguous.</summary>
    private static void CheckEnd(ref MsgPackReader reader, int length, int signatureOffset)
    {
        if (!reader.End) throw new MsgPackException($"{length - reader.Position} trailing bytes after the envelope");
        if (signatureOffset >= 0 && signatureOffset + SignatureSlotLength != length)
            throw new MsgPackException("the signature must be the last value of the envelope");
    }

    /// <summary>
    /// Reads what a verifier checks before decoding (<see cref="EnvelopeSigningHeader"/>): message id, timestamp, source,
    /// countersigner and the signature's place, stepping over the payload without decoding it, and allocating nothing.
    /// Throws <see cref="MsgPackException"/> when the envelope's structure is broken, a header field is missing, or the
    /// signature is not the last value.
    /// </summary>
    public static EnvelopeSigningHeader ReadSigningHeader(ReadOnlySpan<byte> bytes)
    {
        var reader = new MsgPackReader(bytes);
        Guid id = default;
        DateTimeOffset timestamp = default;
        ReadOnlySpan<byte> source = default, attestedBy = default;
        bool hasId = false, hasTimestamp = false, hasSource = false, attested = false;
        int signatureOffset = -1;

        int fields = reader.ReadMapHeader();
        for (int i = 0; i < fields; i++)
        {
            ReadOnlySpan<byte> key = reader.ReadStringSpan();
            if (key.SequenceEqual(KeyMessageId)) { id = reader.ReadGuid(); hasId = true; }
            else if (key.SequenceEqual(KeyTimestamp)) { timestamp = reader.ReadDateTimeOffset(); hasTimestamp = true; }
            else if (key.SequenceEqual(KeySource)) { if (!reader.TryReadNil()) { source = reader.ReadStringSpan(); hasSource = true; } }
            else if (key.SequenceEqual(KeySecurity))
            {
                reader.EnterNested();
                int n = reader.ReadMapHeader();
                for (int j = 0; j < n; j++)
                {
                    ReadOnlySpan<byte> sk = reader.ReadStringSpan();
                    if (sk.SequenceEqual(KeyAttestedBy)) { if (!reader.TryReadNil()) { attestedBy = reader.ReadStringSpan(); attested = true; } }
                    else if (sk.SequenceEqual(KeySignature))
                    {
                        int slot = ReadSignatureSlot(ref reader);
                        if (slot >= 0) signatureOffset = slot;
                    }
                    else reader.Skip();
                }
                reader.ExitNested();
            }
            else reader.Skip(); // the payload among them: stepped over, not decoded
        }

        CheckEnd(ref reader, bytes.Length, signatureOffset);
        if (!hasId) throw Missing("message_id");
        if (!hasTimestamp) throw Missing("timestamp");
        if (!hasSource) throw Missing("source");
        return new EnvelopeSigningHeader(id, timestamp, source, attested, attestedBy, signatureOffset);
    }

    /// <summary>Reads only the routing header, skipping the payload (for logging and auditing a message whose payload did not decode).</summary>
    public static bool TryReadHeader(ReadOnlySpan<byte> bytes, out string? source, out Guid messageId)
    {
        source = null;
        messageId = default;
        try
        {
            var reader = new MsgPackReader(bytes);
            int fields = reader.ReadMapHeader();
            for (int i = 0; i < fields; i++)
            {
                ReadOnlySpan<byte> key = reader.ReadStringSpan();
                if (key.SequenceEqual(KeySource)) source = reader.ReadString();
                else if (key.SequenceEqual(KeyMessageId)) messageId = reader.ReadGuid();
                else reader.Skip();
            }
            return source is not null;
        }
        catch (MsgPackException)
        {
            return source is not null;
        }
    }

    private static MsgPackException Missing(string field) => new($"envelope field '{field}' is missing");

    private static Dictionary<string, string>? ReadMetadata(ref MsgPackReader reader)
    {
        if (reader.TryReadNil()) return null;
        int n = reader.ReadMapHeader();
        if (n == 0) return null;
        var map = new Dictionary<string, string>(n, StringComparer.Ordinal);
        for (int i = 0; i < n; i++)
        {
            string key = reader.ReadString() ?? throw new MsgPackException("metadata key is nil");
            map[key] = reader.ReadString() ?? "";
        }
        return map;
    }
}
