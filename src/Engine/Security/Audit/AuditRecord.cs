namespace Alicia.Engine.Security.Audit;

/// <summary>One security decision, as stored in the audit log.</summary>
internal sealed record AuditRecord(long Sequence, DateTimeOffset At, string Kind, string Identity, string Topic, string Decision, string Detail, byte[] PreviousHash, byte[] Hash);

/// <summary>The kinds of security decision the gateway records.</summary>
internal static class AuditKinds
{
    public const string ConnectAccepted = "connect.accepted";
    public const string ConnectRefused = "connect.refused";
    public const string AclDenied = "acl.denied";
    public const string SignatureFailed = "signature.failed";
    public const string Replay = "replay";
    public const string RateLimited = "rate.limited";
    public const string Provisioned = "identity.provisioned";
    public const string Revoked = "identity.revoked";
    public const string Renewed = "identity.renewed";
    public const string Disconnected = "connection.dropped";
    public const string Overflow = "audit.overflow";
    public const string Suppressed = "audit.suppressed";
}

/// <summary>What <see cref="AuditLog.VerifyAnchored"/> found: the records read, the valid checkpoints, the latest, and every problem.</summary>
internal sealed record AuditVerification(long Records, int Checkpoints, Alicia.Contracts.Messages.AuditCheckpoint? Latest, IReadOnlyList<string> Problems)
{
    public bool Intact => Problems.Count == 0;
}
