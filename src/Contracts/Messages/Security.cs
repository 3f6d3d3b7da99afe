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

/// <summary>
/// A signed checkpoint of the security audit log (<c>audit.db</c>): how many records its hash chain held and the hash of
/// the last one, at a time, signed with the engine's Ed25519 key over <c>alicia-audit-checkpoint/v1</c>, records, head
/// and time. Kept outside the database and published retained, so removing records from the log's end, or rewriting a
/// record and recomputing the chain, no longer verifies (<c>alicia audit verify</c>).
/// </summary>
[AliciaMessage("alicia/system/audit/checkpoint", Kind = MessageKind.Event)]
public sealed partial class AuditCheckpoint
{
    /// <summary>The records the chain held: the checkpoint covers records 1 to this one.</summary>
    public long Records { get; set; }

    /// <summary>The SHA-256 chain hash of record <see cref="Records"/> (32 bytes).</summary>
    public byte[] HeadHash { get; set; } = [];

    /// <summary>When the checkpoint was signed, in Unix milliseconds.</summary>
    public long AtUnixMs { get; set; }

    /// <summary>The identity whose key signed it (the engine).</summary>
    public string Signer { get; set; } = "";

    /// <summary>Ed25519 signature (64 bytes).</summary>
    public byte[] Signature { get; set; } = [];
}
