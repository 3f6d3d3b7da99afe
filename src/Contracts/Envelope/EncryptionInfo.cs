namespace Alicia.Contracts;

/// <summary>
/// <c>security.encryption</c>: how the payload data is encrypted end to end. Absent for clear payloads.
/// </summary>
[AliciaContract]
public sealed partial class EncryptionInfo
{
    /// <summary>The AEAD, e.g. <c>chacha20-poly1305</c>.</summary>
    public string Algorithm { get; set; } = "";

    /// <summary>The key agreement, e.g. <c>x25519</c>.</summary>
    public string KeyAgreement { get; set; } = "";

    /// <summary>The sender's ephemeral public key.</summary>
    public byte[] EphemeralKey { get; set; } = [];

    public byte[] Nonce { get; set; } = [];

    /// <summary>The recipient key the payload was sealed for.</summary>
    public string Recipient { get; set; } = "";
}
