using System.Security.Cryptography;
using System.Text;
using Alicia.Contracts;
using Alicia.Contracts.Serialization;
using Alicia.Engine.Buffers;
using NSec.Cryptography;

namespace Alicia.Engine.Security.Encryption;

/// <summary>
/// End-to-end payload encryption: X25519 between a fresh ephemeral key and the recipient's key, HKDF-SHA256
/// to a ChaCha20-Poly1305 key, the topic and message id as associated data. Only the recipient can open
/// the payload; brokers, gateways and other subscribers verify the signature and route the ciphertext.
/// </summary>
internal sealed class PayloadCipher(Key ownAgreementKey, string ownName, Func<string, PublicKey?> recipientKeys)
{
    public const string Algorithm = "chacha20-poly1305";
    public const string KeyAgreement = "x25519";
    private static readonly KeyAgreementAlgorithm X25519 = KeyAgreementAlgorithm.X25519;
    private static readonly AeadAlgorithm Aead = AeadAlgorithm.ChaCha20Poly1305;
    private static ReadOnlySpan<byte> Info => "alicia-payload-v1"u8;

    public string Name { get; } = ownName;

    /// <summary>Seals <paramref name="envelope"/>'s data for <paramref name="recipient"/>.</summary>
    public Envelope<T> Seal<T>(in Envelope<T> envelope, string topic, string recipient) where T : IAliciaSerializable<T>
    {
        PublicKey recipientKey = recipientKeys(recipient) ?? throw new InvalidOperationException($"no X25519 key for '{recipient}': it cannot receive encrypted payloads");
        using var plaintext = new PooledBufferWriter(512);
        var writer = new MsgPackWriter(plaintext);
        T.Write(ref writer, envelope.Data);
        writer.Flush();

        using Key ephemeral = Key.Create(X25519, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.None });
        byte[] ephemeralPublic = ephemeral.PublicKey.Export(KeyBlobFormat.RawPublicKey);
        byte[] nonce = RandomNumberGenerator.GetBytes(Aead.NonceSize);
        using Key key = DeriveKey(ephemeral, recipientKey, ephemeralPublic, recipientKey.Export(KeyBlobFormat.RawPublicKey));
        byte[] ciphertext = Aead.Encrypt(key, nonce, AssociatedData(topic, envelope.MessageId), plaintext.WrittenSpan);
        var info = new EncryptionInfo { Algorithm = Algorithm, KeyAgreement = KeyAgreement, EphemeralKey = ephemeralPublic, Nonce = nonce, Recipient = recipient };
        return envelope.Sealed(info, ciphertext);
    }

    /// <summary>Opens a sealed envelope addressed to this cipher's owner; false (with the reason) otherwise.</summary>
    public bool TryOpen<T>(in Envelope<T> envelope, string topic, out Envelope<T> opened, out string? problem) where T : IAliciaSerializable<T>
    {
        opened = envelope;
        problem = null;
        EncryptionInfo? info = envelope.Encryption;
        if (info is null) return true;
        if (!string.Equals(info.Recipient, Name, StringComparison.Ordinal)) { problem = $"sealed for '{info.Recipient}'"; return false; }
        if (info.Algorithm != Algorithm || info.KeyAgreement != KeyAgreement) { problem = $"unsupported encryption {info.KeyAgreement}/{info.Algorithm}"; return false; }
        if (info.Nonce.Length != Aead.NonceSize || info.EphemeralKey.Length != X25519.PublicKeySize) { problem = "malformed encryption parameters"; return false; }
        PublicKey ephemeral;
        try { ephemeral = PublicKey.Import(X25519, info.EphemeralKey, KeyBlobFormat.RawPublicKey); }
        catch (FormatException) { problem = "malformed ephemeral key"; return false; }
        using Key? key = DeriveKey(ownAgreementKey, ephemeral, info.EphemeralKey, ownAgreementKey.PublicKey.Export(KeyBlobFormat.RawPublicKey));
        if (key is null) { problem = "key agreement failed"; return false; }
        byte[]? plaintext = Aead.Decrypt(key, info.Nonce, AssociatedData(topic, envelope.MessageId), envelope.SealedData.Span);
        if (plaintext is null) { problem = "ciphertext does not authenticate (tampered, or sealed for another key)"; return false; }
        try
        {
            var reader = new MsgPackReader(plaintext);
            opened = envelope.Opened(T.Read(ref reader));
            return true;
        }
        catch (MsgPackException e)
        {
            problem = "decrypted data is malformed: " + e.Message;
            return false;
        }
    }

    private static Key DeriveKey(Key own, PublicKey other, byte[] ephemeralPublic, byte[] recipientPublic)
    {
        using SharedSecret? shared = X25519.Agree(own, other) ?? throw new CryptographicException("X25519 agreement produced no secret");
        byte[] salt = [.. ephemeralPublic, .. recipientPublic];
        return KeyDerivationAlgorithm.HkdfSha256.DeriveKey(shared, salt, Info, Aead, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.None });
    }

    private static byte[] AssociatedData(string topic, Guid messageId)
    {
        byte[] ad = new byte[Encoding.UTF8.GetByteCount(topic) + 16];
        int n = Encoding.UTF8.GetBytes(topic, ad);
        messageId.TryWriteBytes(ad.AsSpan(n), bigEndian: true, out _);
        return ad;
    }
}
