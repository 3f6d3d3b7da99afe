namespace Alicia.Contracts.Messages;

/// <summary>An identity proving itself or asking for a grant.</summary>
[AliciaMessage("alicia/system/security/auth", Kind = MessageKind.Request)]
public sealed partial class AuthRequest
{
    public string Identity { get; set; } = "";

    /// <summary>ed25519 | certificate | password.</summary>
    public string Method { get; set; } = "ed25519";

    /// <summary>The Ed25519 public key the identity signs with (raw 32 bytes).</summary>
    public byte[] PublicKey { get; set; } = [];
}

/// <summary>A key agreement offer for end-to-end payload encryption.</summary>
[AliciaMessage("alicia/system/security/encrypt", Kind = MessageKind.Event)]
public sealed partial class EncryptionKeyOffer
{
    public string Identity { get; set; } = "";

    /// <summary>x25519.</summary>
    public string KeyAgreement { get; set; } = "x25519";

    public byte[] PublicKey { get; set; } = [];
}
